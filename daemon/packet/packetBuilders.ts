// Packets the stack writes into the TUN on its own: UDP replies, TCP resets
// and ICMP unreachables. Built whole, with full checksums. These are not on the
// TCP data hot path (one per refused flow or per UDP reply), so each returns a
// fresh buffer.
import { finishChecksum, pseudoHeaderSum, sumWords } from './checksum';
import {
  IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN,
  readU16, readU32, tcpHeaderLength, writeU16, writeU32, type IpPacketView,
} from './ipPacket';

const DEFAULT_TTL = 64;

/** Writes an IP header for `l4Length` bytes of `protocol` at buf[0..] and returns its length. */
function writeIpHeader(buf: Uint8Array, src: Uint8Array, dst: Uint8Array, protocol: number, l4Length: number): number {
  if (src.length !== dst.length) throw new Error('source and destination addresses must both be IPv4 or both IPv6');
  if (src.length === 4) {
    buf[0] = 0x45;
    buf[1] = 0;
    writeU16(buf, 2, 20 + l4Length);
    writeU32(buf, 4, 0x4000); // id 0, DF: these packets never leave the host
    buf[8] = DEFAULT_TTL;
    buf[9] = protocol;
    writeU16(buf, 10, 0);
    buf.set(src, 12);
    buf.set(dst, 16);
    writeU16(buf, 10, finishChecksum(sumWords(buf, 0, 20)));
    return 20;
  }
  writeU32(buf, 0, 0x60000000);
  writeU16(buf, 4, l4Length);
  buf[6] = protocol;
  buf[7] = DEFAULT_TTL;
  buf.set(src, 8);
  buf.set(dst, 24);
  return 40;
}

function transportChecksum(buf: Uint8Array, ipLen: number, protocol: number, l4Length: number): number {
  const addrLen = ipLen === 20 ? 4 : 16;
  const srcOff = ipLen === 20 ? 12 : 8;
  const dstOff = srcOff + addrLen;
  const pseudo = protocol === IPPROTO_ICMP ? 0 : pseudoHeaderSum(buf, srcOff, dstOff, addrLen, protocol, l4Length);
  return finishChecksum(sumWords(buf, ipLen, ipLen + l4Length, pseudo));
}

export interface UdpPacketFields {
  src: Uint8Array;
  srcPort: number;
  dst: Uint8Array;
  dstPort: number;
  payload: Uint8Array;
}

/** A complete IPv4 or IPv6 UDP packet (by address length). */
export function buildUdpPacket(f: UdpPacketFields): Uint8Array {
  const ipLen = f.src.length === 4 ? 20 : 40;
  const udpLen = 8 + f.payload.length;
  if (udpLen > 0xffff) throw new Error(`UDP payload of ${f.payload.length} bytes does not fit in one datagram`);
  const buf = new Uint8Array(ipLen + udpLen);
  writeIpHeader(buf, f.src, f.dst, IPPROTO_UDP, udpLen);
  writeU16(buf, ipLen, f.srcPort);
  writeU16(buf, ipLen + 2, f.dstPort);
  writeU16(buf, ipLen + 4, udpLen);
  buf.set(f.payload, ipLen + 8);
  const sum = transportChecksum(buf, ipLen, IPPROTO_UDP, udpLen);
  writeU16(buf, ipLen + 6, sum === 0 ? 0xffff : sum); // 0 would mean "no checksum"
  return buf;
}

/**
 * The reset a closed port answers to `pkt` (RFC 793 "Reset Generation"):
 * to a SYN it is RST|ACK acknowledging the SYN, which makes the sender's
 * connect() fail with ECONNREFUSED. Returns null for an incoming RST.
 */
export function buildTcpResetFor(pkt: IpPacketView): Uint8Array | null {
  const { buf, l4Offset } = pkt;
  const flags = buf[l4Offset + 13]!;
  if (flags & TCP_RST) return null;
  const ipLen = pkt.addressLength === 4 ? 20 : 40;
  const out = new Uint8Array(ipLen + 20);
  const src = buf.subarray(pkt.dstOffset, pkt.dstOffset + pkt.addressLength);
  const dst = buf.subarray(pkt.srcOffset, pkt.srcOffset + pkt.addressLength);
  writeIpHeader(out, src, dst, IPPROTO_TCP, 20);
  writeU16(out, ipLen, readU16(buf, l4Offset + 2));
  writeU16(out, ipLen + 2, readU16(buf, l4Offset));
  if (flags & TCP_ACK) {
    writeU32(out, ipLen + 4, readU32(buf, l4Offset + 8));
    out[ipLen + 13] = TCP_RST;
  } else {
    const segLen = pkt.l4Length - tcpHeaderLength(buf, l4Offset) + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);
    writeU32(out, ipLen + 8, (readU32(buf, l4Offset + 4) + segLen) >>> 0);
    out[ipLen + 13] = TCP_RST | TCP_ACK;
  }
  out[ipLen + 12] = 5 << 4;
  writeU16(out, ipLen + 16, transportChecksum(out, ipLen, IPPROTO_TCP, 20));
  return out;
}

export type UnreachableReason = 'host' | 'port';

/**
 * ICMP (IPv4) or ICMPv6 destination unreachable about `pkt`, addressed to its
 * sender, from its destination. `host` makes connect() fail with EHOSTUNREACH,
 * `port` makes a connected UDP socket see ECONNREFUSED.
 */
export function buildIcmpUnreachableFor(pkt: IpPacketView, reason: UnreachableReason): Uint8Array {
  const v4 = pkt.addressLength === 4;
  const ipLen = v4 ? 20 : 40;
  // Quote as much of the offending packet as fits a minimum-MTU reply (RFC 1812 / RFC 4443).
  const quoted = Math.min(pkt.length, v4 ? 576 - 28 : 1280 - 48);
  const icmpLen = 8 + quoted;
  const out = new Uint8Array(ipLen + icmpLen);
  const src = pkt.buf.subarray(pkt.dstOffset, pkt.dstOffset + pkt.addressLength);
  const dst = pkt.buf.subarray(pkt.srcOffset, pkt.srcOffset + pkt.addressLength);
  const protocol = v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
  writeIpHeader(out, src, dst, protocol, icmpLen);
  out[ipLen] = v4 ? 3 : 1;
  out[ipLen + 1] = v4 ? (reason === 'host' ? 1 : 3) : (reason === 'host' ? 3 : 4);
  out.set(pkt.buf.subarray(pkt.offset, pkt.offset + quoted), ipLen + 8);
  writeU16(out, ipLen + 2, transportChecksum(out, ipLen, protocol, icmpLen));
  return out;
}
