import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressFromPtrName, parseSubnet, ptrNameFromAddress, subnetContains } from '../../../daemon/dns/reverseNames';

test('IPv4 PTR names round-trip', () => {
  assert.equal(ptrNameFromAddress('246.246.0.1'), '1.0.246.246.in-addr.arpa');
  assert.equal(addressFromPtrName('1.0.246.246.in-addr.arpa.'), '246.246.0.1');
  assert.equal(addressFromPtrName('0.246.246.in-addr.arpa'), undefined);
  assert.equal(addressFromPtrName('256.0.246.246.in-addr.arpa'), undefined);
  assert.equal(addressFromPtrName('01.0.246.246.in-addr.arpa'), undefined);
});

test('IPv6 PTR names round-trip', () => {
  for (const a of ['fd00::1', '2001:db8:0:1::abcd', '::1', 'fd12:3456:789a:1:0:0:0:10'.replace(/:0:0:0:/, '::')]) {
    const ptr = ptrNameFromAddress(a);
    assert.ok(ptr.endsWith('.ip6.arpa'));
    assert.equal(ptr.split('.').length, 34);
    assert.equal(addressFromPtrName(ptr), a);
  }
  assert.equal(addressFromPtrName('1.0.ip6.arpa'), undefined);
});

test('subnet containment per family', () => {
  const v = parseSubnet('246.246.0.0/16');
  assert.ok(subnetContains(v, '246.246.255.1'));
  assert.ok(!subnetContains(v, '246.247.0.1'));
  assert.ok(!subnetContains(v, 'fd00::1'));
  assert.ok(!subnetContains(v, 'garbage'));
  const odd = parseSubnet('10.130.0.0/17');
  assert.ok(subnetContains(odd, '10.130.127.255'));
  assert.ok(!subnetContains(odd, '10.130.128.0'));
  assert.ok(subnetContains(parseSubnet('fd00:10::/32'), 'fd00:10:ffff::1'));
  assert.ok(subnetContains(parseSubnet('0.0.0.0/0'), '1.2.3.4'));
  assert.throws(() => parseSubnet('10.0.0.0/33'), /not a CIDR/);
});
