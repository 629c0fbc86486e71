import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statusBarView } from '../../../extension/status/statusBarText';
import { statusWith } from './fixtures';

test('no daemon, disconnected, failed', () => {
  assert.match(statusBarView(undefined).text, /Telepresence$/);
  assert.match(statusBarView(undefined).tooltip, /not running/);
  assert.equal(statusBarView(statusWith('disconnected')).text, '$(debug-disconnect) Telepresence: disconnected');
  const failed = statusBarView(statusWith('disconnected', { error: 'subnet 10.43.0.0/16 overlaps with existing route "10.0.0.0/8 via 10.0.0.0 dev utun4, gw 10.0.0.1"' }));
  assert.equal(failed.alert, true);
  assert.match(failed.tooltip, /overlaps with existing route/);
});

test('connected shows context/namespace, VNAT count and intercepts', () => {
  const v = statusBarView(statusWith('connected', { context: 'lab', namespace: 'default', server: 'https://192.168.230.1:6443' }, { vnatMappingCount: 3 }));
  assert.equal(v.text, '$(plug) lab/default · 3 VNAT');
  assert.match(v.tooltip, /connected to lab\/default \(https:\/\/192\.168\.230\.1:6443\); 3 VNAT mappings/);
  const one = statusBarView(statusWith('connected', { context: 'lab', namespace: 'dev' }, {
    vnatMappingCount: 1,
    intercepts: [{ workload: 'echo', namespace: 'dev', kind: 'Deployment', remotePort: 8080, localPort: 8080, mode: 'intercept', since: 'x' }],
  }));
  assert.equal(one.text, '$(plug) lab/dev · 1 VNAT · 1 intercept');
  assert.match(one.tooltip, /1 VNAT mapping\./);
});

test('transitions spin; reconnecting warns with the cause', () => {
  assert.match(statusBarView(statusWith('connecting', { context: 'lab', namespace: 'default' })).text, /^\$\(sync~spin\) Telepresence: connecting to lab\/default…$/);
  const r = statusBarView(statusWith('reconnecting', { context: 'lab', namespace: 'default', error: 'port-forward closed' }));
  assert.equal(r.alert, true);
  assert.match(r.tooltip, /port-forward closed/);
});

test('a leaving intercept is not counted as an intercept; it shows apart, with a spinner, and the tooltip names it', () => {
  const intercept = { namespace: 'dev', kind: 'Deployment' as const, remotePort: 8080, localPort: 8080, mode: 'intercept' as const, since: 'x' };
  const v = statusBarView(statusWith('connected', { context: 'lab', namespace: 'dev' }, {
    vnatMappingCount: 1,
    intercepts: [{ ...intercept, workload: 'echo', state: 'active' }, { ...intercept, workload: 'greeter', state: 'leaving' }],
  }));
  assert.equal(v.text, '$(plug) lab/dev · 1 VNAT · 1 intercept · $(sync~spin) 1 leaving');
  assert.match(v.tooltip, /1 VNAT mapping\. Leaving dev\/greeter: being put back\. Click for actions\.$/);
  const onlyLeaving = statusBarView(statusWith('connected', { context: 'lab', namespace: 'dev' }, { intercepts: [{ ...intercept, workload: 'greeter', state: 'leaving' }] }));
  assert.equal(onlyLeaving.text, '$(plug) lab/dev · 0 VNAT · $(sync~spin) 1 leaving');
  const gone = statusBarView(statusWith('connected', { context: 'lab', namespace: 'dev' }));
  assert.equal(gone.text, '$(plug) lab/dev · 0 VNAT');
});
