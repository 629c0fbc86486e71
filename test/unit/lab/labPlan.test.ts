import { test } from 'node:test';
import assert from 'node:assert/strict';
import { belongsToLab, planLab, validateLabName } from '../../lab/labPlan';
import { cidrsOverlap, parseCidr } from '../../lab/network/ipv4';

test('default plan: seed CIDRs, VPN 10/8 with the corporate hosts inside it, interface names within 15 chars', () => {
  const p = planLab();
  assert.equal(p.name, 'tpvlab');
  assert.equal(p.serviceCidr, '10.130.0.0/16');
  assert.equal(p.podCidr, '10.132.0.0/16');
  assert.deepEqual(p.vpnCidrs, ['10.0.0.0/8']);
  assert.equal(p.vpnHost, '10.1.2.3');
  assert.equal(p.vpnDns, '10.1.2.53');
  assert.equal(p.bridge.address, '10.132.0.1');
  assert.equal(p.kubeDnsIp, '10.130.0.10');
  assert.equal(p.kubernetesServiceIp, '10.130.0.1');
  assert.equal(p.apiServer.url, 'https://192.168.230.1:6443');
  assert.deepEqual(p.netns, { workstation: 'tpvlab-ws', node: 'tpvlab-node', vpn: 'tpvlab-vpn', podPrefix: 'tpvlab-p-' });
  for (const dev of [p.bridge.device, p.apiLink.nodeDevice, p.apiLink.workstationDevice, p.vpnLink.vpnDevice, p.vpnLink.workstationDevice]) assert.ok(dev.length <= 15);
  // The link addresses are outside every cluster and VPN range.
  for (const c of [p.serviceCidr, p.podCidr, ...p.vpnCidrs]) {
    assert.ok(!cidrsOverlap(parseCidr(c), parseCidr(`${p.apiServer.host}/32`)));
    assert.ok(!cidrsOverlap(parseCidr(c), parseCidr(`${p.vpnLink.gateway}/32`)));
  }
});

test('custom CIDRs and several VPN ranges; --vpn none leaves the corporate hosts on the VPN link', () => {
  const p = planLab({ name: 'lab2', vpnCidrs: ['172.16.0.0/12', '10.0.0.0/8'], serviceCidr: '10.96.0.0/12', podCidr: '10.244.0.0/16' });
  assert.deepEqual(p.vpnCidrs, ['172.16.0.0/12', '10.0.0.0/8']);
  assert.equal(p.vpnHost, '172.17.2.3');
  assert.equal(p.kubeDnsIp, '10.96.0.10');
  assert.equal(p.bridge.address, '10.244.0.1');
  const none = planLab({ vpnCidrs: ['none'] });
  assert.deepEqual(none.vpnCidrs, []);
  assert.equal(none.vpnDns, none.vpnLink.gateway);
  const small = planLab({ vpnCidrs: ['10.8.0.0/24'] });
  assert.equal(small.vpnHost, '10.8.0.3');
  assert.equal(small.vpnDns, '10.8.0.53');
});

test('invalid plans are refused with what to do', () => {
  assert.throws(() => planLab({ serviceCidr: '10.130.0.0/16', podCidr: '10.130.128.0/17' }), /overlap: choose disjoint/);
  assert.throws(() => planLab({ serviceCidr: '10.130.0.1/16' }), /host bits set; did you mean 10\.130\.0\.0\/16/);
  assert.throws(() => planLab({ vpnCidrs: ['10.0.0.0/8', '10.1.0.0/16'] }), /overlap/);
  assert.throws(() => planLab({ vpnCidrs: ['none', '10.0.0.0/8'] }), /cannot be combined/);
  assert.throws(() => planLab({ podCidr: '192.168.230.0/24' }), /link address/);
  assert.throws(() => planLab({ vpnCidrs: ['10.1.0.0/16'], podCidr: '10.1.0.0/22', serviceCidr: '10.130.0.0/16' }), /corporate address 10\.1\.2\.3 falls inside/);
  assert.throws(() => validateLabName('my-lab'), /lowercase letters and digits/);
  assert.throws(() => validateLabName('Lab'), /lowercase/);
  assert.throws(() => validateLabName('a'.repeat(17)), /1-16/);
});

test('the name sweep of down matches only its own lab', () => {
  assert.ok(belongsToLab('lab', 'lab-ws'));
  assert.ok(belongsToLab('lab', 'lab-p-1234abcd'));
  assert.ok(!belongsToLab('lab', 'lab2-ws'));
  assert.ok(!belongsToLab('lab', 'xlab-ws'));
  assert.ok(!belongsToLab('lab', 'lab'));
});
