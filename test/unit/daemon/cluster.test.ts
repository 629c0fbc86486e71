import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorSummary, parseServiceCidrs } from '../../../daemon/cluster/serviceCidr';
import { coverPodIps, podCidrsFromNodes } from '../../../daemon/cluster/podCidrs';

test('service CIDR is read from the API server\'s invalid-ClusterIP refusal', () => {
  const msg = 'Service "tpv-service-cidr-probe" is invalid: spec.clusterIPs: Invalid value: []string{"192.0.2.1"}: failed to allocate IP 192.0.2.1: the provided IP (192.0.2.1) is not in the valid range. The range of valid IPs is 10.130.0.0/16';
  assert.deepEqual(parseServiceCidrs(msg), ['10.130.0.0/16']);
});

test('dual-stack refusal yields both families', () => {
  assert.deepEqual(parseServiceCidrs('... The range of valid IPs is 10.96.0.0/12 and fd00:10:96::/108'), ['10.96.0.0/12', 'fd00:10:96::/108']);
});

test('a refusal without a range yields nothing', () => {
  assert.deepEqual(parseServiceCidrs('services is forbidden: User "x" cannot create resource "services"'), []);
});

test('error summary prefers the Status message', () => {
  const body = JSON.stringify({ kind: 'Status', message: 'pods is forbidden: no', code: 403 });
  assert.equal(errorSummary({ body }), 'pods is forbidden: no');
  assert.equal(errorSummary(new Error('connect ECONNREFUSED')), 'connect ECONNREFUSED');
});

test('pod CIDRs come from nodes, deduplicated and sorted', () => {
  assert.deepEqual(
    podCidrsFromNodes([{ podCIDR: '10.132.1.0/24', podCIDRs: ['10.132.1.0/24', 'fd00::/64'] }, { podCIDR: '10.132.0.0/24' }]),
    ['10.132.0.0/24', '10.132.1.0/24', 'fd00::/64'],
  );
  assert.deepEqual(podCidrsFromNodes([{}]), []);
});

test('pod IPs without node CIDRs are covered by /16 and /64', () => {
  assert.deepEqual(coverPodIps(['10.132.0.5', '10.132.7.9', '10.133.0.1', 'fd00:1:2:3::5', 'fd00:1:2:3:4::1']), ['10.132.0.0/16', '10.133.0.0/16', 'fd00:1:2:3::/64']);
});
