// IPv4 address and CIDR arithmetic for the lab's address plan. The lab is
// IPv4-only: that is what the seed's examples and the VPN conflict use.

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefix: number;
}

export function parseIpv4(text: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not an IPv4 address`);
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) throw new Error(`"${text}" is not an IPv4 address`);
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function formatIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses `a.b.c.d/n`; host bits must be zero so that typos are caught, not silently widened. */
export function parseCidr(text: string): Cidr {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not an IPv4 CIDR such as 10.0.0.0/8`);
  const prefix = Number(m[2]);
  if (prefix > 32) throw new Error(`"${text}": prefix length must be 0..32`);
  const addr = parseIpv4(m[1]!);
  const base = (addr & mask(prefix)) >>> 0;
  if (base !== addr) throw new Error(`"${text}" has host bits set; did you mean ${formatIpv4(base)}/${prefix}?`);
  return { base, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIpv4(c.base)}/${c.prefix}`;
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function cidrContains(c: Cidr, addr: number): boolean {
  return ((addr & mask(c.prefix)) >>> 0) === c.base;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((a.base & mask(p)) >>> 0) === ((b.base & mask(p)) >>> 0);
}

/** The address `offset` places after the network address (offset 1 = first host). */
export function nthAddress(c: Cidr, offset: number): string {
  if (offset < 0 || offset >= cidrSize(c)) throw new Error(`${formatCidr(c)} has no address number ${offset}`);
  return formatIpv4((c.base + offset) >>> 0);
}
