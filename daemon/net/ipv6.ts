// IPv6 addresses as 128-bit bigints. Parsing goes through ip-num once the
// text has passed Node's own validator; formatting is RFC 5952 (what `ip`
// and the kernel print), which ip-num does not produce.
import { isIPv6 } from 'node:net';
import { IPv6 } from 'ip-num';

export const IPV6_ALL_ONES = (1n << 128n) - 1n;

/** The value of an IPv6 address, or undefined when `text` is not one (zone ids like `%eth0` are refused). */
export function parseIpv6(text: string): bigint | undefined {
  if (text.includes('%') || !isIPv6(text)) return undefined;
  return IPv6.fromString(text).getValue();
}

export function formatIpv6(value: bigint): string {
  const groups: number[] = new Array<number>(8);
  for (let i = 7; i >= 0; i--) {
    groups[i] = Number(value & 0xffffn);
    value >>= 16n;
  }
  // The longest run of two or more zero groups becomes "::" (the first on ties).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) { bestStart = i; bestLength = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export function ipv6Mask(prefix: number): bigint {
  return prefix === 0 ? 0n : IPV6_ALL_ONES ^ ((1n << BigInt(128 - prefix)) - 1n);
}
