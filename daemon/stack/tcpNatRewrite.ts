// The per-packet decision and rewrite of the TCP NAT, shared by the TUN reader
// worker (where it normally runs, so TCP data never crosses threads) and the
// main thread (for SYNs it admitted). Pure: bytes and a table in, bytes
// rewritten in place and a verdict out; no allocation.
import { applyChecksumDelta } from '../packet/checksum';
import { TCP_ACK, TCP_SYN } from '../packet/ipPacket';
import type { NatTable } from './natTable';

/** Rewritten in place: write it back into the TUN. */
export const NAT_FORWARD = 0;
/** Not for the fast path (SYN, unknown flow, UDP, ICMP, fragment...): the main thread decides. */
export const NAT_TO_MAIN = 1;
/** A reply for a NAT entry that no longer exists: nobody is waiting for it. */
export const NAT_DROP = 2;
export type NatVerdict = typeof NAT_FORWARD | typeof NAT_TO_MAIN | typeof NAT_DROP;

function equalAt(buf: Uint8Array, off: number, addr: Uint8Array, len: number): boolean {
  for (let i = 0; i < len; i++) if (buf[off + i] !== addr[i]) return false;
  return true;
}

function copyInto(buf: Uint8Array, off: number, src: Uint8Array, srcOff: number, len: number): void {
  for (let i = 0; i < len; i++) buf[off + i] = src[srcOff + i]!;
}

function patchChecksum(buf: Uint8Array, off: number, delta: number): void {
  const sum = applyChecksumDelta((buf[off]! << 8) | buf[off + 1]!, delta);
  buf[off] = sum >> 8;
  buf[off + 1] = sum & 0xff;
}

/**
 * Translates one packet read from the TUN at buf[off, off+len) when it belongs
 * to a known flow: client packets go to the local listener, listener replies
 * go back to the client as if from the original destination. A connection
 * opening SYN always goes to the main thread, which decides whether to admit it.
 */
export function translateTcpPacket(table: NatTable, buf: Uint8Array, off: number, len: number): NatVerdict {
  const version = buf[off]! >> 4;
  let srcOff: number, dstOff: number, l4: number, alen: number;
  let fam;
  if (version === 4) {
    const ihl = (buf[off]! & 0x0f) << 2;
    if (buf[off + 9] !== 6 || len < ihl + 20 || ihl < 20) return NAT_TO_MAIN;
    if (((buf[off + 6]! & 0x3f) | buf[off + 7]!) !== 0) return NAT_TO_MAIN; // fragment
    fam = table.v4;
    srcOff = off + 12; dstOff = off + 16; l4 = off + ihl; alen = 4;
  } else if (version === 6) {
    if (buf[off + 6] !== 6 || len < 60) return NAT_TO_MAIN;
    fam = table.v6;
    srcOff = off + 8; dstOff = off + 24; l4 = off + 40; alen = 16;
  } else {
    return NAT_TO_MAIN;
  }
  if (fam === null) return NAT_TO_MAIN;
  const sport = (buf[l4]! << 8) | buf[l4 + 1]!;
  const dport = (buf[l4 + 2]! << 8) | buf[l4 + 3]!;
  const addrs = table.addresses;

  if (sport === fam.listenPort && equalAt(buf, srcOff, fam.tunIp, alen) && equalAt(buf, dstOff, fam.fakeIp, alen)) {
    // Listener -> client: the destination port is the NAT entry.
    if (table.addressLength[dport] !== alen) return NAT_DROP;
    const base = dport * 32;
    copyInto(buf, srcOff, addrs, base + 16, alen);
    copyInto(buf, dstOff, addrs, base, alen);
    const op = table.originalPort[dport]!;
    const cp = table.clientPort[dport]!;
    buf[l4] = op >> 8; buf[l4 + 1] = op & 0xff;
    buf[l4 + 2] = cp >> 8; buf[l4 + 3] = cp & 0xff;
    if (alen === 4) patchChecksum(buf, off + 10, table.deltas[dport * 4 + 2]!);
    patchChecksum(buf, l4 + 16, table.deltas[dport * 4 + 3]!);
    return NAT_FORWARD;
  }

  if ((buf[l4 + 13]! & (TCP_SYN | TCP_ACK)) === TCP_SYN) return NAT_TO_MAIN;
  const e = table.lookup(buf, srcOff, sport, dstOff, dport, alen);
  if (e === 0) return NAT_TO_MAIN;
  copyInto(buf, srcOff, fam.fakeIp, 0, alen);
  copyInto(buf, dstOff, fam.tunIp, 0, alen);
  buf[l4] = e >> 8; buf[l4 + 1] = e & 0xff;
  buf[l4 + 2] = fam.listenPort >> 8; buf[l4 + 3] = fam.listenPort & 0xff;
  if (alen === 4) patchChecksum(buf, off + 10, table.deltas[e * 4]!);
  patchChecksum(buf, l4 + 16, table.deltas[e * 4 + 1]!);
  return NAT_FORWARD;
}

/**
 * Rewrites an admitted flow's SYN (which `translateTcpPacket` always leaves to
 * the main thread) exactly like any other client packet of entry `natPort`.
 */
export function rewriteClientPacket(table: NatTable, natPort: number, buf: Uint8Array, off: number): void {
  const version = buf[off]! >> 4;
  const alen = version === 4 ? 4 : 16;
  const fam = table.family(alen)!;
  const srcOff = version === 4 ? off + 12 : off + 8;
  const dstOff = srcOff + alen;
  const l4 = version === 4 ? off + ((buf[off]! & 0x0f) << 2) : off + 40;
  copyInto(buf, srcOff, fam.fakeIp, 0, alen);
  copyInto(buf, dstOff, fam.tunIp, 0, alen);
  buf[l4] = natPort >> 8; buf[l4 + 1] = natPort & 0xff;
  buf[l4 + 2] = fam.listenPort >> 8; buf[l4 + 3] = fam.listenPort & 0xff;
  if (alen === 4) patchChecksum(buf, off + 10, table.deltas[natPort * 4]!);
  patchChecksum(buf, l4 + 16, table.deltas[natPort * 4 + 1]!);
}
