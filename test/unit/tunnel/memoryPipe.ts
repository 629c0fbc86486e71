// An in-memory connected pair of Duplex streams with real back-pressure: a
// write completes only once the other side's readable buffer has room, so a
// peer that stops reading eventually makes `write()` return false here, as a
// socket would.
import { Duplex } from 'node:stream';

export interface MemoryPipeOptions {
  /** Readable buffer per side (bytes) before writes stall. Default 64 KiB. */
  highWaterMark?: number;
  /**
   * One-way delay: every write arrives this much later, in order, and is
   * accepted at once (a long fat link: bandwidth without limit, bytes in flight
   * without bound), so only the protocol's own windows limit throughput.
   */
  latencyMs?: number;
}

class PipeEnd extends Duplex {
  peer!: PipeEnd;
  private stalled: (() => void) | null = null;

  constructor(hwm: number, private readonly latencyMs = 0) {
    super({ allowHalfOpen: true, readableHighWaterMark: hwm, writableHighWaterMark: hwm });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.peer.destroyed) { cb(new Error('the other end of the memory pipe is gone')); return; }
    if (this.latencyMs > 0) {
      setTimeout(() => { if (!this.peer.destroyed) this.peer.push(chunk); }, this.latencyMs);
      cb();
      return;
    }
    if (this.peer.push(chunk)) cb();
    else this.peer.stalled = () => cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.latencyMs > 0) setTimeout(() => this.peer.push(null), this.latencyMs);
    else this.peer.push(null);
    cb();
  }

  override _read(): void {
    const resume = this.stalled;
    this.stalled = null;
    resume?.();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Like a socket reset: the peer sees its connection close.
    if (!this.peer.destroyed) process.nextTick(() => this.peer.destroy());
    cb(err);
  }
}

export function memoryPipe(opts: MemoryPipeOptions = {}): [Duplex, Duplex] {
  const hwm = opts.highWaterMark ?? 64 * 1024;
  const a = new PipeEnd(hwm, opts.latencyMs);
  const b = new PipeEnd(hwm, opts.latencyMs);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
