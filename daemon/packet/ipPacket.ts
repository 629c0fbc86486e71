// Zero-copy parsing of one IPv4 or IPv6 packet inside a larger buffer (a TUN
// batch). `parseIpPacket` fills a caller-owned `IpPacketView` so the hot path
// allocates nothing per packet.

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/** Offsets are absolute indexes into `buf`. */
export interface IpPacketView {
  buf: Uint8Array;
  /** Where the IP header starts. */
  offset: number;
  version: 4 | 6;
  /** Bytes of the whole packet as the IP header states (never more than were read). */
  length: number;
  /** TCP/UDP/ICMP/ICMPv6 for IPv6 only when it directly follows the fixed header. */
  protocol: number;
  addressLength: 4 | 16;
  srcOffset: number;
  dstOffset: number;
  /** Transport header offset and the transport length (header + payload). */
  l4Offset: number;
  l4Length: number;
  /** IPv4 fragment (MF set or non-zero offset): its transport header may be absent. */
  fragment: boolean;
}

export function newIpPacketView(): IpPacketView {
  return { buf: new Uint8Array(0), offset: 0, version: 4, length: 0, protocol: 0, addressLength: 4, srcOffset: 0, dstOffset: 0, l4Offset: 0, l4Length: 0, fragment: false };
}

/**
 * Reads the IP header at buf[offset, offset+available). Returns false for
 * anything that is not a well-formed IPv4/IPv6 packet (truncated, bad
 * lengths); the caller drops those. IPv6 extension headers are not walked:
 * `protocol` is then the extension header's number, which no handler claims.
 */
export function parseIpPacket(buf: Uint8Array, offset: number, available: number, out: IpPacketView): boolean {
  if (available < 20) return false;
  const version = buf[offset]! >> 4;
  out.buf = buf;
  out.offset = offset;
  if (version === 4) {
    const ihl = (buf[offset]! & 0x0f) * 4;
    const total = (buf[offset + 2]! << 8) | buf[offset + 3]!;
    if (ihl < 20 || total < ihl || total > available) return false;
    out.version = 4;
    out.length = total;
    out.protocol = buf[offset + 9]!;
    out.addressLength = 4;
    out.srcOffset = offset + 12;
    out.dstOffset = offset + 16;
    out.l4Offset = offset + ihl;
    out.l4Length = total - ihl;
    out.fragment = (((buf[offset + 6]! & 0x3f) << 8) | buf[offset + 7]!) !== 0; // MF flag or offset
    return true;
  }
  if (version === 6) {
    if (available < 40) return false;
    const payload = (buf[offset + 4]! << 8) | buf[offset + 5]!;
    if (40 + payload > available) return false;
    out.version = 6;
    out.length = 40 + payload;
    out.protocol = buf[offset + 6]!;
    out.addressLength = 16;
    out.srcOffset = offset + 8;
    out.dstOffset = offset + 24;
    out.l4Offset = offset + 40;
    out.l4Length = payload;
    out.fragment = false;
    return true;
  }
  return false;
}

export function readU16(buf: Uint8Array, off: number): number {
  return (buf[off]! << 8) | buf[off + 1]!;
}

export function writeU16(buf: Uint8Array, off: number, value: number): void {
  buf[off] = value >> 8;
  buf[off + 1] = value & 0xff;
}

export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

export function writeU32(buf: Uint8Array, off: number, value: number): void {
  buf[off] = value >>> 24;
  buf[off + 1] = (value >>> 16) & 0xff;
  buf[off + 2] = (value >>> 8) & 0xff;
  buf[off + 3] = value & 0xff;
}

/** Offset of the checksum field inside a transport header, or -1 if it has none we maintain. */
export function transportChecksumOffset(protocol: number): number {
  if (protocol === IPPROTO_TCP) return 16;
  if (protocol === IPPROTO_UDP) return 6;
  if (protocol === IPPROTO_ICMP || protocol === IPPROTO_ICMPV6) return 2;
  return -1;
}

/** TCP header length from its data-offset field. */
export function tcpHeaderLength(buf: Uint8Array, l4Offset: number): number {
  return (buf[l4Offset + 12]! >> 4) * 4;
}
