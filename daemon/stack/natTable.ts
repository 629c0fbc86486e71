// The TCP NAT table of the "system stack", indexed by NAT port.
//
// A flow A:a -> V:v read from the TUN is rewritten to fake:natPort ->
// tun:listenPort, so the kernel's own TCP stack terminates it on our listener;
// replies tun:listenPort -> fake:natPort are rewritten back to V:v -> A:a.
// `natPort` is the index of everything: the accepted socket's remote port,
// the reply's destination port, and this table's slot. Client-side packets are
// found through an open-addressing hash of (A, a, V, v).
//
// Typed arrays only, sized once: lookups and rewrites allocate nothing, and
// each entry carries its RFC 1624 checksum deltas, computed at insert, so a
// rewrite is a few byte copies plus two additions.
import { replacementDelta, wordDelta } from '../packet/checksum';

export const MAX_NAT_PORT = 0xffff;
const SLOTS = 1 << 17; // load factor <= 0.5 at 65535 entries
const EMPTY = 0;
const TOMBSTONE = -1;

/** The addresses the kernel side of the NAT uses for one IP family. */
export interface NatFamilyAddresses {
  /** Address on the TUN device; the listener is bound here. */
  tunIp: Uint8Array;
  /** Source address given to rewritten client packets; must route into the TUN. */
  fakeIp: Uint8Array;
  listenPort: number;
}

export class NatTable {
  /** 0 = free, else 4 or 16 (the address length). */
  readonly addressLength = new Uint8Array(MAX_NAT_PORT + 1);
  /** Per entry: client address (16 bytes) then original destination (16 bytes). */
  readonly addresses = new Uint8Array((MAX_NAT_PORT + 1) * 32);
  readonly clientPort = new Uint16Array(MAX_NAT_PORT + 1);
  readonly originalPort = new Uint16Array(MAX_NAT_PORT + 1);
  /** Per entry: [forward IPv4 header, forward L4, reverse IPv4 header, reverse L4] deltas. */
  readonly deltas = new Int32Array((MAX_NAT_PORT + 1) * 4);
  private readonly slots = new Int32Array(SLOTS);
  private count = 0;
  private tombstones = 0;

  constructor(readonly v4: NatFamilyAddresses | null, readonly v6: NatFamilyAddresses | null) {}

  get size(): number { return this.count; }

  family(addressLength: number): NatFamilyAddresses | null {
    return addressLength === 4 ? this.v4 : this.v6;
  }

  insert(natPort: number, client: Uint8Array, clientPort: number, original: Uint8Array, originalPort: number): void {
    const len = client.length;
    const fam = this.family(len);
    if (!fam) throw new Error(`no NAT addresses configured for IPv${len === 4 ? 4 : 6}`);
    if (natPort < 1 || natPort > MAX_NAT_PORT) throw new Error(`NAT port ${natPort} is out of range`);
    if (this.addressLength[natPort]) throw new Error(`NAT port ${natPort} is already in use`);
    const base = natPort * 32;
    this.addresses.fill(0, base, base + 32);
    this.addresses.set(client, base);
    this.addresses.set(original, base + 16);
    this.addressLength[natPort] = len;
    this.clientPort[natPort] = clientPort;
    this.originalPort[natPort] = originalPort;
    // Forward: src A->fake, dst V->tun, sport a->natPort, dport v->listenPort.
    const fwdIp = replacementDelta(client, 0, fam.fakeIp, 0, len) + replacementDelta(original, 0, fam.tunIp, 0, len);
    const fwdL4 = fwdIp + wordDelta(clientPort, natPort) + wordDelta(originalPort, fam.listenPort);
    // Reverse: src tun->V, dst fake->A, sport listenPort->v, dport natPort->a.
    const revIp = replacementDelta(fam.tunIp, 0, original, 0, len) + replacementDelta(fam.fakeIp, 0, client, 0, len);
    const revL4 = revIp + wordDelta(fam.listenPort, originalPort) + wordDelta(natPort, clientPort);
    const d = natPort * 4;
    this.deltas[d] = fwdIp;
    this.deltas[d + 1] = fwdL4;
    this.deltas[d + 2] = revIp;
    this.deltas[d + 3] = revL4;
    let slot = this.hashOf(this.addresses, base, len, clientPort, this.addresses, base + 16, originalPort);
    while (this.slots[slot]! > 0) slot = (slot + 1) & (SLOTS - 1);
    if (this.slots[slot] === TOMBSTONE) this.tombstones--;
    this.slots[slot] = natPort;
    this.count++;
  }

  remove(natPort: number): boolean {
    const len = this.addressLength[natPort];
    if (!len) return false;
    const base = natPort * 32;
    let slot = this.hashOf(this.addresses, base, len, this.clientPort[natPort]!, this.addresses, base + 16, this.originalPort[natPort]!);
    while (this.slots[slot] !== natPort) {
      if (this.slots[slot] === EMPTY) throw new Error(`NAT table corrupt: entry ${natPort} is not hashed`);
      slot = (slot + 1) & (SLOTS - 1);
    }
    // A tombstone keeps later entries of the same probe chain reachable; when the
    // next slot is empty the chain ends here and the slot can be emptied outright.
    if (this.slots[(slot + 1) & (SLOTS - 1)] === EMPTY) this.slots[slot] = EMPTY;
    else { this.slots[slot] = TOMBSTONE; this.tombstones++; }
    this.addressLength[natPort] = 0;
    this.count--;
    // Lookups of absent flows stop only at an empty slot: never let tombstones crowd them out.
    if (this.tombstones > SLOTS / 4) this.rehash();
    return true;
  }

  private rehash(): void {
    this.slots.fill(EMPTY);
    this.tombstones = 0;
    for (let e = 1; e <= MAX_NAT_PORT; e++) {
      const len = this.addressLength[e];
      if (!len) continue;
      const base = e * 32;
      let slot = this.hashOf(this.addresses, base, len, this.clientPort[e]!, this.addresses, base + 16, this.originalPort[e]!);
      while (this.slots[slot] !== EMPTY) slot = (slot + 1) & (SLOTS - 1);
      this.slots[slot] = e;
    }
  }

  /** NAT port of the flow (src, srcPort) -> (dst, dstPort) read from the TUN, or 0. */
  lookup(buf: Uint8Array, srcOff: number, srcPort: number, dstOff: number, dstPort: number, len: number): number {
    let slot = this.hashOf(buf, srcOff, len, srcPort, buf, dstOff, dstPort);
    for (;;) {
      const e = this.slots[slot]!;
      if (e === EMPTY) return 0;
      if (e > 0 && this.addressLength[e] === len && this.clientPort[e] === srcPort && this.originalPort[e] === dstPort && this.matches(e, buf, srcOff, dstOff, len)) return e;
      slot = (slot + 1) & (SLOTS - 1);
    }
  }

  private matches(e: number, buf: Uint8Array, srcOff: number, dstOff: number, len: number): boolean {
    const a = this.addresses;
    const base = e * 32;
    for (let i = 0; i < len; i++) {
      if (a[base + i] !== buf[srcOff + i] || a[base + 16 + i] !== buf[dstOff + i]) return false;
    }
    return true;
  }

  private hashOf(sb: Uint8Array, srcOff: number, len: number, srcPort: number, db: Uint8Array, dstOff: number, dstPort: number): number {
    let h = Math.imul(srcPort ^ (dstPort << 16), 0x9e3779b1);
    for (let i = 0; i < len; i += 4) {
      h = Math.imul(h ^ ((sb[srcOff + i]! << 24) | (sb[srcOff + i + 1]! << 16) | (sb[srcOff + i + 2]! << 8) | sb[srcOff + i + 3]!), 0x85ebca6b);
      h = Math.imul(h ^ ((db[dstOff + i]! << 24) | (db[dstOff + i + 1]! << 16) | (db[dstOff + i + 2]! << 8) | db[dstOff + i + 3]!), 0xc2b2ae35);
      h ^= h >>> 15;
    }
    return (h ^ (h >>> 13)) & (SLOTS - 1);
  }
}
