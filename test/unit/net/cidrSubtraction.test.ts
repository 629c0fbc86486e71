import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Cidr, cidrsOverlap, cidrSize, formatCidr, parseCidr } from '../../../daemon/net/cidr';
import { subtractCidrs } from '../../../daemon/net/cidrSubtraction';

const c = (t: string) => parseCidr(t);
const texts = (cs: Cidr[]) => cs.map(formatCidr);

test('10.0.0.0/8 minus 10.128.0.0/9 is 10.0.0.0/9', () => {
  assert.deepEqual(texts(subtractCidrs(c('10.0.0.0/8'), [c('10.128.0.0/9')])), ['10.0.0.0/9']);
});

test('a /16 minus a /24 inside it leaves 8 pieces that cover the rest exactly', () => {
  const pieces = subtractCidrs(c('10.130.0.0/16'), [c('10.130.77.0/24')]);
  assert.equal(pieces.length, 8);
  const total = pieces.reduce((n, p) => n + cidrSize(p), 0n);
  assert.equal(total, 65536n - 256n);
  for (const p of pieces) assert.equal(cidrsOverlap(p, c('10.130.77.0/24')), false, formatCidr(p));
});

test('removing the CIDR itself, or a wider one, leaves nothing', () => {
  assert.deepEqual(subtractCidrs(c('10.130.0.0/16'), [c('10.130.0.0/16')]), []);
  assert.deepEqual(subtractCidrs(c('10.130.0.0/16'), [c('10.128.0.0/9')]), []);
});

test('disjoint and other-family removals change nothing', () => {
  assert.deepEqual(texts(subtractCidrs(c('10.130.0.0/16'), [c('10.131.0.0/16'), c('fd00::/8')])), ['10.130.0.0/16']);
});

test('several removals, including overlapping ones', () => {
  const pieces = subtractCidrs(c('10.0.0.0/8'), [c('10.0.0.0/9'), c('10.128.0.0/10'), c('10.130.0.0/16')]);
  assert.deepEqual(texts(pieces), ['10.192.0.0/10']);
});

test('IPv6 subtraction', () => {
  assert.deepEqual(texts(subtractCidrs(c('fd00::/15'), [c('fd00::/16')])), ['fd01::/16']);
});

test('random subtractions keep exactly the addresses not removed', () => {
  let seed = 12345;
  const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
  for (let round = 0; round < 40; round++) {
    const base = c(`10.${rand() % 256}.0.0/16`);
    const removed = Array.from({ length: 1 + (rand() % 4) }, () => c(`10.${(base.network as number >>> 16) & 255}.${rand() % 256}.${rand() % 256}/${17 + (rand() % 14)}`));
    const pieces = subtractCidrs(base, removed);
    // Count addresses of the base that no removal covers, by brute force over /30 granules... exactly, per address.
    let expected = 0;
    const first = base.network as number;
    for (let i = 0; i < 65536; i++) {
      const ip = first + i;
      if (!removed.some((r) => ((ip ^ (r.network as number)) >>> (32 - r.prefix)) === 0)) expected++;
    }
    assert.equal(pieces.reduce((n, p) => n + Number(cidrSize(p)), 0), expected);
    for (const p of pieces) for (const r of removed) assert.equal(cidrsOverlap(p, r), false);
  }
});
