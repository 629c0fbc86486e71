// CIDRs and addresses of both families, and the questions the routing code
// asks about them. IPv4 is kept as uint32 numbers so that `contains` and
// `overlaps` are a mask and a compare; IPv6 uses bigints (no hot path needs
// IPv6 to be faster than that).
import { formatIpv4, ipv4Mask, parseIpv4 } from './ipv4';
import { formatIpv6, ipv6Mask, parseIpv6 } from './ipv6';

export type IpFamily = 4 | 6;

export interface Ipv4Cidr { readonly family: 4; readonly network: number; readonly prefix: number }
export interface Ipv6Cidr { readonly family: 6; readonly network: bigint; readonly prefix: number }
export type Cidr = Ipv4Cidr | Ipv6Cidr;

export type IpAddress = { readonly family: 4; readonly value: number } | { readonly family: 6; readonly value: bigint };

export function ipv4Cidr(network: number, prefix: number): Ipv4Cidr {
  return { family: 4, network: (network & ipv4Mask(prefix)) >>> 0, prefix };
}

export function ipv6Cidr(network: bigint, prefix: number): Ipv6Cidr {
  return { family: 6, network: network & ipv6Mask(prefix), prefix };
}

/** An address of either family, or undefined. */
export function tryParseIp(text: string): IpAddress | undefined {
  const v4 = parseIpv4(text);
  if (v4 >= 0) return { family: 4, value: v4 };
  const v6 = parseIpv6(text);
  return v6 === undefined ? undefined : { family: 6, value: v6 };
}

export function parseIp(text: string): IpAddress {
  const ip = tryParseIp(text);
  if (!ip) throw new Error(`"${text}" is not an IPv4 or IPv6 address`);
  return ip;
}

export function formatIp(ip: IpAddress): string {
  return ip.family === 4 ? formatIpv4(ip.value) : formatIpv6(ip.value);
}

/**
 * `a.b.c.d/n` or `v6/n`. Host bits are cleared (10.124.0.0/9 is
 * 10.0.0.0/9), as routing tables and Go's `Prefix.Masked()` do.
 */
export function tryParseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash <= 0) return undefined;
  const prefixText = text.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const ip = tryParseIp(text.slice(0, slash));
  if (!ip) return undefined;
  if (ip.family === 4) return prefix <= 32 ? ipv4Cidr(ip.value, prefix) : undefined;
  return prefix <= 128 ? ipv6Cidr(ip.value, prefix) : undefined;
}

/** Parses a CIDR or throws an error that shows the expected form. */
export function parseCidr(text: string): Cidr {
  const cidr = tryParseCidr(text.trim());
  if (!cidr) throw new Error(`"${text}" is not a CIDR; write it as address/prefix, e.g. 10.96.0.0/12 or fd00:10::/64`);
  return cidr;
}

/** A CIDR, or a bare address as a host route (/32 or /128), as routing tables print them. */
export function tryParseCidrOrHost(text: string): Cidr | undefined {
  if (text.includes('/')) return tryParseCidr(text);
  const ip = tryParseIp(text);
  if (!ip) return undefined;
  return ip.family === 4 ? ipv4Cidr(ip.value, 32) : ipv6Cidr(ip.value, 128);
}

export function formatCidr(cidr: Cidr): string {
  return `${cidr.family === 4 ? formatIpv4(cidr.network) : formatIpv6(cidr.network)}/${cidr.prefix}`;
}

export function cidrContainsIp(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.family === 4) return ip.family === 4 && ((ip.value & ipv4Mask(cidr.prefix)) >>> 0) === cidr.network;
  return ip.family === 6 && (ip.value & ipv6Mask(cidr.prefix)) === cidr.network;
}

/** Fast path for the hot loop: `ip` as uint32. */
export function ipv4CidrContains(cidr: Ipv4Cidr, ip: number): boolean {
  return ((ip & ipv4Mask(cidr.prefix)) >>> 0) === cidr.network;
}

/** Whether every address of `inner` is in `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || outer.prefix > inner.prefix) return false;
  if (outer.family === 4) return (((inner.network as number) & ipv4Mask(outer.prefix)) >>> 0) === outer.network;
  return ((inner.network as bigint) & ipv6Mask(outer.prefix)) === outer.network;
}

/** Whether the two share any address: either contains the other (CIDRs never overlap partially). */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.prefix <= b.prefix ? cidrContains(a, b) : cidrContains(b, a);
}

export function cidrEquals(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.prefix === b.prefix && a.network === b.network;
}

export function familyBits(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

/** Number of addresses, as a bigint so that /0 of IPv6 fits. */
export function cidrSize(cidr: Cidr): bigint {
  return 1n << BigInt(familyBits(cidr.family) - cidr.prefix);
}

/** First and last address as bigints (either family), for range arithmetic off the hot path. */
export function cidrBounds(cidr: Cidr): { first: bigint; last: bigint } {
  const first = BigInt(cidr.network);
  return { first, last: first + cidrSize(cidr) - 1n };
}

/** The CIDR of `prefix` bits starting at `first` (which must be aligned). */
export function cidrFromBigint(family: IpFamily, first: bigint, prefix: number): Cidr {
  return family === 4 ? ipv4Cidr(Number(first), prefix) : ipv6Cidr(first, prefix);
}

/** 240.0.0.0/4: reserved, routed by Linux and macOS but by nothing on the Internet, so a safe home for virtual IPs. */
export const CLASS_E: Ipv4Cidr = ipv4Cidr(0xf0000000, 4);

/** Whether the whole CIDR lies in class E (Windows does not route it, so it cannot be the virtual subnet there). */
export function isClassE(cidr: Cidr): boolean {
  return cidrContains(CLASS_E, cidr);
}

export function isDefaultCidr(cidr: Cidr): boolean {
  return cidr.prefix === 0;
}

/** 0.0.0.0/1 and 128.0.0.0/1 (or ::/1 and 8000::/1): how OpenVPN and others override the default route. */
export function isHalfOfDefault(cidr: Cidr): boolean {
  return cidr.prefix === 1;
}

/** Sorts by family, then network, then prefix (wider first). */
export function compareCidrs(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.network !== b.network) return a.network < b.network ? -1 : 1;
  return a.prefix - b.prefix;
}
