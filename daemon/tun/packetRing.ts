// A single-producer, single-consumer ring of packets in a SharedArrayBuffer:
// the TUN reader worker pushes, the main thread drains. The producer asks
// for a notification only when the consumer has said it is idle, so a burst
// costs one postMessage and arrives as one batch. When the consumer falls
// behind the ring fills and pushes fail (the caller drops the packet): memory
// stays bounded whatever the load.
//
// Records are [u32 little-endian length][packet][pad to 4] and never wrap:
// when the tail is too short the producer writes WRAP there (if 4 bytes
// remain) and counts the tail as used.
import { CTL_NOTIFY_ARMED, CTL_RING_USED } from './tunWorkerProtocol';

const WRAP = 0xffffffff;

export const PUSH_DROPPED = 0;
export const PUSH_QUEUED = 1;
/** Queued, and the consumer was idle: send it a message. */
export const PUSH_NOTIFY = 2;

/** Packets handed over together. Views are valid only during the callback. */
export interface PacketBatch {
  /** The whole ring; records lie in [start, end). */
  bytes: Uint8Array;
  start: number;
  end: number;
  count: number;
}

/** Calls `fn(buf, offset, length)` for every packet of the batch, allocating nothing. */
export function forEachPacket(batch: PacketBatch, fn: (buf: Uint8Array, offset: number, length: number) => void): void {
  const { bytes } = batch;
  let pos = batch.start;
  for (let i = 0; i < batch.count && pos + 4 <= batch.end; i++) {
    const len = (bytes[pos]! | (bytes[pos + 1]! << 8) | (bytes[pos + 2]! << 16) | (bytes[pos + 3]! << 24)) >>> 0;
    fn(bytes, pos + 4, len);
    pos += 4 + ((len + 3) & ~3);
  }
}

/** Ring sizes are multiples of 4; the consumer starts idle. */
export function initRing(control: Int32Array): void {
  Atomics.store(control, CTL_RING_USED, 0);
  Atomics.store(control, CTL_NOTIFY_ARMED, 1);
}

export class RingWriter {
  private readonly bytes: Uint8Array;
  private readonly words: DataView;
  private w = 0;

  constructor(ring: SharedArrayBuffer, private readonly control: Int32Array) {
    this.bytes = new Uint8Array(ring);
    this.words = new DataView(ring);
  }

  /** Copies src[0, n) in as one record. */
  push(src: Uint8Array, n: number): number {
    const size = this.bytes.length;
    const need = 4 + ((n + 3) & ~3);
    const used = Atomics.load(this.control, CTL_RING_USED);
    const tail = size - this.w;
    if (tail < need) {
      if (used + tail + need > size) return PUSH_DROPPED;
      if (tail >= 4) this.words.setUint32(this.w, WRAP, true);
      Atomics.add(this.control, CTL_RING_USED, tail);
      this.w = 0;
    } else if (used + need > size) {
      return PUSH_DROPPED;
    }
    this.words.setUint32(this.w, n, true);
    this.bytes.set(n === src.length ? src : src.subarray(0, n), this.w + 4);
    this.w += need;
    if (this.w === size) this.w = 0;
    Atomics.add(this.control, CTL_RING_USED, need); // publishes the record (Atomics are sequentially consistent)
    return Atomics.compareExchange(this.control, CTL_NOTIFY_ARMED, 1, 0) === 1 ? PUSH_NOTIFY : PUSH_QUEUED;
  }
}

export class RingReader {
  private readonly bytes: Uint8Array;
  private readonly words: DataView;
  private r = 0;

  constructor(ring: SharedArrayBuffer, private readonly control: Int32Array) {
    this.bytes = new Uint8Array(ring);
    this.words = new DataView(ring);
  }

  /**
   * Delivers everything published so far (one batch per contiguous run),
   * frees it, and re-arms the producer's notification once the ring is empty.
   */
  drain(onBatch: (batch: PacketBatch) => void): void {
    const ctl = this.control;
    const size = this.bytes.length;
    for (;;) {
      const avail = Atomics.load(ctl, CTL_RING_USED);
      if (avail === 0) {
        Atomics.store(ctl, CTL_NOTIFY_ARMED, 1);
        if (Atomics.load(ctl, CTL_RING_USED) === 0) return;
        // Published between our two loads: take it now. If the producer saw the
        // flag first it also notifies, and that message finds the ring empty.
        Atomics.compareExchange(ctl, CTL_NOTIFY_ARMED, 1, 0);
        continue;
      }
      let consumed = 0;
      let start = this.r;
      let count = 0;
      const deliver = () => {
        if (count > 0) onBatch({ bytes: this.bytes, start, end: this.r, count });
        count = 0;
      };
      try {
        while (consumed < avail) {
          if (this.r === size) { deliver(); this.r = 0; start = 0; }
          const len = this.words.getUint32(this.r, true);
          if (len === WRAP) {
            deliver();
            consumed += size - this.r;
            this.r = 0;
            start = 0;
            continue;
          }
          const rec = 4 + ((len + 3) & ~3);
          this.r += rec;
          consumed += rec;
          count++;
        }
        deliver();
      } finally {
        // Even if a handler throws, what was walked is freed: the ring never wedges.
        if (this.r === size) this.r = 0;
        Atomics.sub(ctl, CTL_RING_USED, consumed);
      }
    }
  }
}
