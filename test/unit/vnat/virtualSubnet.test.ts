import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContains, cidrsOverlap, formatCidr, parseCidr } from '../../../daemon/net/cidr';
import { defaultVirtualSubnet, partitionVirtualSubnet } from '../../../daemon/vnat/virtualSubnet';

const c = parseCidr;

test('default virtual subnet: class E /16 on Linux and macOS, 211.55.48.0/20 on Windows', () => {
  assert.equal(defaultVirtualSubnet('linux'), '246.246.0.0/16');
  assert.equal(defaultVirtualSubnet('darwin'), '246.246.0.0/16');
  assert.equal(defaultVirtualSubnet('win32'), '211.55.48.0/20');
});

test('two /16 subnets in a /16 get a /17 each, in order', () => {
  assert.deepEqual(partitionVirtualSubnet(c('246.246.0.0/16'), [c('10.130.0.0/16'), c('10.132.0.0/16')]).map(formatCidr), ['246.246.0.0/17', '246.246.128.0/17']);
});

test('three subnets get /18 slots (power-of-two), one slot stays free', () => {
  assert.deepEqual(partitionVirtualSubnet(c('246.246.0.0/16'), [c('10.1.0.0/16'), c('10.2.0.0/16'), c('10.3.0.0/16')]).map(formatCidr), ['246.246.0.0/18', '246.246.64.0/18', '246.246.128.0/18']);
});

test('a range is never larger than its real subnet', () => {
  const ranges = partitionVirtualSubnet(c('246.246.0.0/16'), [c('10.130.0.0/28'), c('10.0.0.0/8')]);
  assert.deepEqual(ranges.map(formatCidr), ['246.246.0.0/28', '246.246.128.0/17']);
});

test('ranges lie in the virtual subnet and never overlap (many subnets)', () => {
  const reals = Array.from({ length: 37 }, (_, i) => c(`10.${i}.0.0/16`));
  const ranges = partitionVirtualSubnet(c('246.246.0.0/16'), reals);
  for (const [i, r] of ranges.entries()) {
    assert.ok(cidrContains(c('246.246.0.0/16'), r));
    for (const other of ranges.slice(i + 1)) assert.equal(cidrsOverlap(r, other), false);
  }
  assert.equal(ranges[0]!.prefix, 22, '37 subnets → 64 slots of /22');
});

test('too many subnets for the virtual subnet is an error naming the setting', () => {
  assert.throws(() => partitionVirtualSubnet(c('100.10.20.0/30'), Array.from({ length: 5 }, (_, i) => c(`10.${i}.0.0/16`))),
    /virtual subnet 100\.10\.20\.0\/30 has 4 addresses, too few for 5 VNAT subnets; set routing\.virtualSubnet to a larger subnet/);
});

test('IPv6 virtual subnets partition the same way', () => {
  assert.deepEqual(partitionVirtualSubnet(c('fd99::/64'), [c('fd00:10::/64'), c('fd00:20::/120')]).map(formatCidr), ['fd99::/65', 'fd99::8000:0:0:0/120']);
});
