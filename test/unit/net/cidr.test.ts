import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cidrContains, cidrContainsIp, cidrsOverlap, cidrSize, formatCidr, ipv4CidrContains, isClassE, isHalfOfDefault,
  parseCidr, parseIp, tryParseCidr, tryParseCidrOrHost, type Ipv4Cidr,
} from '../../../daemon/net/cidr';
import { parseIpv4 } from '../../../daemon/net/ipv4';

const c = (text: string) => parseCidr(text);

test('parseCidr clears host bits: 10.124.0.0/9 is 10.0.0.0/9', () => {
  assert.equal(formatCidr(c('10.124.0.0/9')), '10.0.0.0/9');
  assert.equal(formatCidr(c('fd00::1/64')), 'fd00::/64');
  assert.equal(formatCidr(c(' 10.130.0.0/16 ')), '10.130.0.0/16');
});

for (const bad of ['10.0.0.0', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/-1', '10.0.0.0/08', 'abc/8', '/8', '10.0.0.0/', '10.0.0.0/8/8']) {
  test(`tryParseCidr refuses ${JSON.stringify(bad)}`, () => assert.equal(tryParseCidr(bad), undefined));
}

test('parseCidr errors show the expected form', () => {
  assert.throws(() => parseCidr('10.0.0.0'), /"10\.0\.0\.0" is not a CIDR; write it as address\/prefix/);
});

test('tryParseCidrOrHost reads bare addresses as host routes', () => {
  assert.equal(formatCidr(tryParseCidrOrHost('172.31.7.7')!), '172.31.7.7/32');
  assert.equal(formatCidr(tryParseCidrOrHost('fd00:20::2')!), 'fd00:20::2/128');
  assert.equal(tryParseCidrOrHost('default'), undefined);
});

for (const [outer, inner, expected] of [
  ['10.0.0.0/8', '10.130.0.0/16', true],
  ['10.130.0.0/16', '10.0.0.0/8', false],
  ['10.0.0.0/8', '10.0.0.0/8', true],
  ['10.0.0.0/9', '10.128.0.0/9', false],
  ['0.0.0.0/0', '255.255.255.255/32', true],
  ['128.0.0.0/1', '10.0.0.0/8', false],
  ['fd00::/8', 'fd00:10::/48', true],
  ['10.0.0.0/8', 'fd00::/8', false],
] as const) {
  test(`cidrContains(${outer}, ${inner}) is ${expected}`, () => assert.equal(cidrContains(c(outer), c(inner)), expected));
}

for (const [a, b, expected] of [
  ['10.0.0.0/8', '10.130.0.0/16', true],
  ['10.130.0.0/16', '10.0.0.0/8', true],
  ['10.0.0.0/9', '10.128.0.0/9', false],
  ['10.129.255.0/24', '10.130.0.0/16', false],
  ['100.124.0.0/16', '100.124.150.0/24', true],
  ['::/0', '10.0.0.0/8', false],
] as const) {
  test(`cidrsOverlap(${a}, ${b}) is ${expected} (either direction)`, () => {
    assert.equal(cidrsOverlap(c(a), c(b)), expected);
    assert.equal(cidrsOverlap(c(b), c(a)), expected);
  });
}

test('cidrContainsIp and the uint32 fast path agree', () => {
  const net = c('10.130.0.0/16') as Ipv4Cidr;
  for (const [ip, inside] of [['10.130.0.5', true], ['10.130.255.255', true], ['10.131.0.0', false], ['110.130.0.5', false]] as const) {
    assert.equal(cidrContainsIp(net, parseIp(ip)), inside, ip);
    assert.equal(ipv4CidrContains(net, parseIpv4(ip)), inside, ip);
  }
  assert.equal(cidrContainsIp(net, parseIp('::ffff:10.130.0.5')), false, 'families never mix');
});

test('cidrSize is exact for both families', () => {
  assert.equal(cidrSize(c('10.0.0.0/8')), 1n << 24n);
  assert.equal(cidrSize(c('0.0.0.0/0')), 1n << 32n);
  assert.equal(cidrSize(c('::/0')), 1n << 128n);
});

for (const [text, expected] of [['246.246.0.0/16', true], ['240.0.0.0/4', true], ['255.255.255.0/24', true], ['239.255.0.0/16', false], ['211.55.48.0/20', false], ['0.0.0.0/0', false], ['fd00::/8', false]] as const) {
  test(`isClassE(${text}) is ${expected}`, () => assert.equal(isClassE(c(text)), expected));
}

test('the /1 halves of the default route are recognised in both families', () => {
  for (const t of ['0.0.0.0/1', '128.0.0.0/1', '::/1', '8000::/1']) assert.equal(isHalfOfDefault(c(t)), true, t);
  for (const t of ['0.0.0.0/0', '10.0.0.0/8', '128.0.0.0/2']) assert.equal(isHalfOfDefault(c(t)), false, t);
});

test('contains and overlap on uint32 stay fast (1M checks)', () => {
  const nets = ['10.0.0.0/8', '10.130.0.0/16', '172.16.0.0/12', '192.168.0.0/16'].map(c) as Ipv4Cidr[];
  const start = process.hrtime.bigint();
  let hits = 0;
  for (let i = 0; i < 1_000_000; i++) {
    const ip = (0x0a000000 + i * 97) >>> 0;
    if (ipv4CidrContains(nets[i & 3]!, ip)) hits++;
    if (cidrsOverlap(nets[i & 3]!, nets[(i + 1) & 3]!)) hits++;
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(`# 1M contains + 1M overlap checks: ${ms.toFixed(1)} ms (${hits} hits)`);
  assert.ok(hits > 0);
  assert.ok(ms < 1000, `took ${ms} ms`);
});
