import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIpv4, ipv4Mask, ipv4MaskToPrefix, parseIpv4 } from '../../../daemon/net/ipv4';
import { formatIpv6, parseIpv6 } from '../../../daemon/net/ipv6';

for (const [text, value] of [['0.0.0.0', 0], ['255.255.255.255', 0xffffffff], ['10.130.0.5', 0x0a820005], ['246.246.1.2', 0xf6f60102], ['1.0.0.0', 0x01000000]] as const) {
  test(`parseIpv4 ${text} is ${value} and formats back`, () => {
    assert.equal(parseIpv4(text), value);
    assert.equal(formatIpv4(value), text);
  });
}

for (const bad of ['256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.00', '1..2.3', '', ' 1.2.3.4', '1.2.3.4 ', 'a.b.c.d', '1.2.3.-4', '1.2.3.4/8', '1234.1.1.1', '.1.2.3']) {
  test(`parseIpv4 refuses ${JSON.stringify(bad)}`, () => assert.equal(parseIpv4(bad), -1));
}

test('ipv4Mask covers /0, /1, /8, /31, /32 (JS shifts are mod 32)', () => {
  assert.equal(ipv4Mask(0), 0);
  assert.equal(ipv4Mask(1), 0x80000000);
  assert.equal(ipv4Mask(8), 0xff000000);
  assert.equal(ipv4Mask(31), 0xfffffffe);
  assert.equal(ipv4Mask(32), 0xffffffff);
});

test('ipv4MaskToPrefix reads contiguous masks and refuses holes', () => {
  assert.equal(ipv4MaskToPrefix(0xffff0000), 16);
  assert.equal(ipv4MaskToPrefix(0), 0);
  assert.equal(ipv4MaskToPrefix(0xffffffff), 32);
  assert.equal(ipv4MaskToPrefix(0xff00ff00), -1);
});

for (const [input, canonical] of [
  ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
  ['2001:0db8::0001', '2001:db8::1'],
  ['::', '::'],
  ['::1', '::1'],
  ['1::', '1::'],
  ['fd00:0:0:1:0:0:0:0', 'fd00:0:0:1::'],
  ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
  ['::ffff:10.0.0.1', '::ffff:a00:1'],
  ['FD00::A', 'fd00::a'],
] as const) {
  test(`IPv6 ${input} formats as ${canonical} (RFC 5952)`, () => {
    const value = parseIpv6(input);
    assert.notEqual(value, undefined);
    assert.equal(formatIpv6(value!), canonical);
  });
}

for (const bad of ['fe80::1%eth0', '1:2:3:4:5:6:7:8:9', 'fd00::g', ':::', '10.0.0.1', '']) {
  test(`parseIpv6 refuses ${JSON.stringify(bad)}`, () => assert.equal(parseIpv6(bad), undefined));
}
