import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildConnectParams, parseRoutingFlagsText } from '../../../client/connect/connectParams';

test('routing layers merge with later layers winning, flags are copied', () => {
  const flags = { vnat: ['service'] };
  const p = buildConnectParams({
    kubeconfig: 'k', context: 'lab', namespace: 'default', flags,
    routingLayers: [{ virtualSubnet: '246.246.0.0/16', alsoProxy: ['10.1.0.0/16'] }, undefined, { virtualSubnet: '100.10.20.0/24' }],
  });
  assert.deepEqual(p.routing, { virtualSubnet: '100.10.20.0/24', alsoProxy: ['10.1.0.0/16'] });
  assert.deepEqual(p.flags, { vnat: ['service'], proxyVia: [], alsoProxy: [], neverProxy: [], allowConflictingSubnets: [] });
  flags.vnat.push('pods');
  assert.deepEqual(p.flags.vnat, ['service'], 'params do not alias the caller');
  assert.equal(p.serviceCidrs, undefined);
  assert.throws(() => buildConnectParams({ kubeconfig: 'k', context: 'lab', namespace: '' }), /no namespace/);
});

test('flags typed in the dialog parse like the command line', () => {
  assert.deepEqual(parseRoutingFlagsText('--vnat service --proxy-via=10.0.0.0/8=echo --also-proxy 10.1.0.0/16,10.2.0.0/16 --vnat=pods'), {
    vnat: ['service', 'pods'], proxyVia: ['10.0.0.0/8=echo'], alsoProxy: ['10.1.0.0/16', '10.2.0.0/16'], neverProxy: [], allowConflictingSubnets: [],
  });
  assert.deepEqual(parseRoutingFlagsText('  ').vnat, []);
  assert.throws(() => parseRoutingFlagsText('--vpn all'), /unknown flag "--vpn"/);
  assert.throws(() => parseRoutingFlagsText('--vnat'), /--vnat needs a value/);
  assert.throws(() => parseRoutingFlagsText('--vnat --proxy-via x'), /--vnat needs a value/);
});
