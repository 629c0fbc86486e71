// Text <-> byte forms of IPv4/IPv6 addresses. Used when flows are created or
// reported (not per packet), so plain allocation is fine here.
import { isIPv4, isIPv6 } from 'node:net';

/** 4 bytes for IPv4, 16 for IPv6; throws a readable error for anything else. */
export function parseIpAddress(text: string): Uint8Array {
  if (isIPv4(text)) return Uint8Array.from(text.split('.').map(Number));
  if (!isIPv6(text)) throw new Error(`"${text}" is not an IPv4 or IPv6 address`);
  let head = text;
  let tail4: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // Embedded IPv4 (e.g. ::ffff:10.0.0.1) makes up the last two groups.
    tail4 = text.slice(lastColon + 1).split('.').map(Number);
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const [left, right] = head.includes('::') ? head.split('::') as [string, string] : [head, undefined];
  const leftGroups = left ? left.split(':') : [];
  const rightGroups = right === undefined ? [] : right ? right.split(':') : [];
  const groups = [...leftGroups, ...new Array<string>(8 - leftGroups.length - rightGroups.length).fill('0'), ...rightGroups];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => { const v = parseInt(g, 16); out[i * 2] = v >> 8; out[i * 2 + 1] = v & 0xff; });
  if (tail4.length === 4) out.set(tail4, 12);
  return out;
}

/** Canonical text (RFC 5952 for IPv6) of the address at buf[off, off+length). */
export function formatIpAddress(buf: Uint8Array, off: number, length: 4 | 16): string {
  if (length === 4) return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((buf[off + i]! << 8) | buf[off + i + 1]!);
  // Longest run of at least two zero groups becomes "::" (first one on ties).
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function bytesEqual(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}
