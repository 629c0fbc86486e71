// IPv4 addresses as unsigned 32-bit numbers. These sit on the VNAT hot path
// (every DNS answer, every translated flow), so they are plain loops over
// char codes: no regular expressions, no splitting, no allocation.

/** The uint32 value of a dotted-quad, or -1 when `text` is not one (leading zeros are refused: they read as octal elsewhere). */
export function parseIpv4(text: string): number {
  return parseIpv4Range(text, 0, text.length);
}

/** Like parseIpv4 for text[start, end), so a scanner can test a slice without copying it. */
export function parseIpv4Range(text: string, start: number, end: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1; // leading zero
      octet = octet * 10 + (c - 48);
      if (octet > 255 || ++digits > 3) return -1;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

export function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** The netmask of a prefix length as uint32 (JS shifts are mod 32, so /0 is special). */
export function ipv4Mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Prefix length of a contiguous dotted netmask (255.255.0.0 → 16), or -1 when it is not contiguous. */
export function ipv4MaskToPrefix(mask: number): number {
  const inverted = ~mask >>> 0;
  // A contiguous mask inverted is 2^k - 1.
  if ((inverted & (inverted + 1)) !== 0) return -1;
  return 32 - Math.log2(inverted + 1);
}
