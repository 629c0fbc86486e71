import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyChecksumDelta, finishChecksum, replacementDelta, sumWords, wordDelta } from '../../../daemon/packet/checksum';
import { capturedPackets, hex } from './capturedPackets';
import { checksumsValid } from './checksumOracle';

describe('internet checksum', () => {
  it('computes the header checksum of a textbook IPv4 header', () => {
    const h = hex('450000730000400040110000c0a80001c0a800c7');
    assert.equal(finishChecksum(sumWords(h, 0, 20)), 0xb861);
  });

  it('agrees with the kernel on captured packets', () => {
    for (const [name, p] of Object.entries(capturedPackets)) {
      const pkt = hex(p);
      assert.ok(checksumsValid(pkt), `${name}: oracle rejects the kernel's checksum`);
      if (pkt[0]! >> 4 === 4) {
        const stored = (pkt[10]! << 8) | pkt[11]!;
        pkt[10] = 0; pkt[11] = 0;
        assert.equal(finishChecksum(sumWords(pkt, 0, 20)), stored, name);
      }
    }
  });

  it('pads an odd trailing byte with zero', () => {
    assert.equal(sumWords(hex('0102ff'), 0, 3), 0x0102 + 0xff00);
  });

  it('RFC 1624 eqn. 3 gives 0x0000 where eqn. 2 would give the -0 0xffff', () => {
    // RFC 1624 section 4: HC = 0xDD2F, m = 0x5555, m' = 0x3285.
    assert.equal(applyChecksumDelta(0xdd2f, wordDelta(0x5555, 0x3285)), 0x0000);
  });

  it('incremental updates equal a full recompute for random rewrites', () => {
    let seed = 12345;
    const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed >>> 8; };
    for (let round = 0; round < 2000; round++) {
      const len = 20 + (rnd() % 200) * 2;
      const data = new Uint8Array(len).map(() => rnd() & 0xff);
      const csum = finishChecksum(sumWords(data, 0, len));
      // Replace a random aligned span (like an address) and a random word (like a port).
      const at = (rnd() % ((len - 16) / 2)) * 2;
      const repl = new Uint8Array(16).map(() => rnd() & 0xff);
      const spanLen = rnd() % 2 ? 4 : 16;
      let delta = replacementDelta(data, at, repl, 0, spanLen);
      const updated = data.slice();
      updated.set(repl.subarray(0, spanLen), at);
      const portAt = (rnd() % (len / 2)) * 2;
      const newPort = rnd() & 0xffff;
      delta += wordDelta((updated[portAt]! << 8) | updated[portAt + 1]!, newPort);
      updated[portAt] = newPort >> 8; updated[portAt + 1] = newPort & 0xff;
      const incremental = applyChecksumDelta(csum, delta);
      const full = finishChecksum(sumWords(updated, 0, len));
      // Both are valid encodings; they may differ only as +0/-0 of the same value.
      const norm = (x: number) => (x === 0xffff ? 0 : x);
      assert.equal(norm(incremental), norm(full), `round ${round}`);
    }
  });
});
