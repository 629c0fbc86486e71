// Internet checksums (RFC 1071) and their incremental update (RFC 1624).
// Every function works on a byte array and offsets so that callers can point
// into a shared batch buffer without copying.

/**
 * Adds the big-endian 16-bit words of bytes [start, end) to `initial`
 * without folding (an odd trailing byte is padded with zero, as RFC 1071 says).
 * The result stays exact for any packet up to 64 KiB.
 */
export function sumWords(buf: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  const last = end - 1;
  for (; i < last; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i === last) sum += buf[i]! << 8;
  return sum;
}

/** Folds a wide ones'-complement sum down to 16 bits (end-around carry). */
export function foldSum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** The checksum field value for a wide sum: its folded ones'-complement. */
export function finishChecksum(sum: number): number {
  return ~foldSum(sum) & 0xffff;
}

/** Sum of the TCP/UDP pseudo-header (IPv4 and IPv6 use the same words, just longer addresses). */
export function pseudoHeaderSum(buf: Uint8Array, srcOff: number, dstOff: number, addrLen: number, protocol: number, l4Length: number): number {
  let sum = sumWords(buf, srcOff, srcOff + addrLen);
  sum = sumWords(buf, dstOff, dstOff + addrLen, sum);
  return sum + protocol + (l4Length & 0xffff) + Math.floor(l4Length / 0x10000);
}

/**
 * The part of RFC 1624 eqn. 3 that depends only on what is replaced:
 * Σ(~m) + Σ(m') for old words m and new words m'. Rewrites of one NAT entry
 * always replace the same words, so callers compute this once per entry and
 * apply it to every packet with `applyChecksumDelta`.
 */
export function replacementDelta(oldBytes: Uint8Array, oldOff: number, newBytes: Uint8Array, newOff: number, length: number): number {
  let delta = 0;
  for (let i = 0; i < length; i += 2) {
    const m = (oldBytes[oldOff + i]! << 8) | oldBytes[oldOff + i + 1]!;
    const m2 = (newBytes[newOff + i]! << 8) | newBytes[newOff + i + 1]!;
    delta += (~m & 0xffff) + m2;
  }
  return delta;
}

/** Delta for one 16-bit word (e.g. a port) changing from `oldWord` to `newWord`. */
export function wordDelta(oldWord: number, newWord: number): number {
  return (~oldWord & 0xffff) + (newWord & 0xffff);
}

/** RFC 1624 eqn. 3: HC' = ~(~HC + Σ~m + Σm'). Never produces the "-0" that eqn. 2 can. */
export function applyChecksumDelta(checksum: number, delta: number): number {
  return ~foldSum((~checksum & 0xffff) + delta) & 0xffff;
}
