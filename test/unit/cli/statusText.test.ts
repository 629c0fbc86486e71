// How `tpv status` / `tpv connect` print intercepts, leaving ones included,
// and what their --json carries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIntercepts, formatStatus, interceptState, statusJson } from '../../../cli/statusText';
import { PROTOCOL_VERSION, type DaemonStatus, type InterceptInfo } from '../../../daemon/protocol/rpc';

const echo: InterceptInfo = { workload: 'echo', namespace: 'default', kind: 'Deployment', remotePort: 80, localPort: 18080, mode: 'intercept', since: 't', state: 'active' };
const greeter: InterceptInfo = { workload: 'greeter', namespace: 'team-a', kind: 'Deployment', remotePort: 80, localPort: 18081, mode: 'intercept', since: 't', state: 'leaving' };
const store: InterceptInfo = { workload: 'store', namespace: 'team-a', kind: 'StatefulSet', remotePort: 0, localPort: 0, mode: 'ingest', since: 't', state: 'active' };

const status = (intercepts: InterceptInfo[]): DaemonStatus => ({
  version: '0.1.0', protocolVersion: PROTOCOL_VERSION, pid: 42, ownerUid: 1000,
  connection: { state: 'connected', context: 'lab', namespace: 'default', since: 't' },
  intercepts, vnatMappingCount: 0,
});

test('the intercepts table has a STATE column: active, or leaving while the workload is put back', () => {
  assert.equal(formatIntercepts([echo, greeter, store]), [
    'INTERCEPT  NAMESPACE  MODE       STATE    PORTS',
    'echo       default    intercept  active   18080 ← 80',
    'greeter    team-a     intercept  leaving  18081 ← 80',
    'store      team-a     ingest     active   -',
  ].join('\n'));
});

test('tpv status shows the table after the VNAT line, and no table without intercepts', () => {
  const text = formatStatus(status([greeter]));
  assert.match(text, /VNAT: {7}0 mappings \(tpv vnat lists them\)\n\nINTERCEPT\s+NAMESPACE\s+MODE\s+STATE\s+PORTS\ngreeter\s+team-a\s+intercept\s+leaving\s+18081 ← 80\n$/);
  assert.doesNotMatch(formatStatus(status([])), /INTERCEPT/);
});

test('a daemon older than the state field: its intercepts are active, in the table and in --json', () => {
  const old: InterceptInfo = { ...echo };
  delete old.state;
  assert.equal(interceptState(old), 'active');
  assert.match(formatIntercepts([old]), /^echo\s+default\s+intercept\s+active\s+18080 ← 80$/m);
  const json = statusJson(status([old, greeter]));
  assert.deepEqual(json.intercepts.map((i) => i.state), ['active', 'leaving']);
  assert.equal(old.state, undefined, 'the status given is not changed');
});
