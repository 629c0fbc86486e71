// Main-thread side of the TUN reader worker: shared slots, commands, stats,
// and a stop that always returns.
import { MessageChannel, Worker } from 'node:worker_threads';
import { libc } from './libc';
import { tunReaderWorkerScript } from './workerScript';
import {
  CONTROL_INT32S, CTL_COMMAND_SEQ, CTL_SLOT_STATE, CTL_STOP, MAX_SLOTS, STAT_BATCHES, STAT_COUNT, STAT_DROPPED_NO_SLOT,
  STAT_FAST_DROPPED, STAT_FAST_FORWARDED, STAT_POLL_WAITS, STAT_READ_BYTES, STAT_READ_PACKETS, STAT_TO_MAIN, STAT_WRITE_ERRORS,
  type FastPathFamily, type TunWorkerCommand, type TunWorkerData, type TunWorkerMessage,
} from './tunWorkerProtocol';

export type { FastPathFamily, TunWorkerCommand } from './tunWorkerProtocol';

/** Packets handed over in one message. Views are valid only during the `onPackets` call. */
export interface PacketBatch {
  /** The whole shared slot area; records lie in [start, end). */
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
    const len = bytes[pos]! | (bytes[pos + 1]! << 8) | (bytes[pos + 2]! << 16) | (bytes[pos + 3]! << 24);
    fn(bytes, pos + 4, len);
    pos += 4 + ((len + 3) & ~3);
  }
}

export interface TunReaderOptions {
  /** TCP NAT addresses per family; the worker then forwards known TCP flows itself. null: everything comes to onPackets. */
  fastPath?: { v4: FastPathFamily | null; v6: FastPathFamily | null } | null;
  /** Runs synchronously for each batch; the slot is reused as soon as it returns. */
  onPackets(batch: PacketBatch): void;
  /** The worker died (device gone, koffi failure). */
  onFatal?(err: Error): void;
  /** Hand-off slots (default 8) ... */
  slotCount?: number;
  /** ... of this many bytes each (default 512 KiB, at least one maximum packet). */
  slotSize?: number;
  /** Hand over a partial slot after this many further reads (default 32): bounds the latency of a SYN under load. */
  flushEvery?: number;
}

export interface TunReaderStats {
  readPackets: number;
  readBytes: number;
  fastForwarded: number;
  fastDropped: number;
  toMain: number;
  droppedNoSlot: number;
  workerWriteErrors: number;
  pollWaits: number;
  batches: number;
}

export class TunReader {
  private readonly worker: Worker;
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_INT32S * 4));
  private readonly statsView = new Float64Array(new SharedArrayBuffer(STAT_COUNT * 8));
  private readonly slotBytes: Uint8Array;
  private readonly slotSize: number;
  private readonly commandPort;
  private readonly exited: Promise<void>;
  private readonly one = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
  private stopping = false;

  constructor(fd: number, private readonly wakeFd: number, mtu: number, private readonly opts: TunReaderOptions) {
    const slotCount = opts.slotCount ?? 8;
    if (slotCount < 1 || slotCount > MAX_SLOTS) throw new Error(`slotCount must be 1..${MAX_SLOTS}`);
    this.slotSize = Math.max(opts.slotSize ?? 512 * 1024, ((mtu + 8 + 3) & ~3));
    this.slotBytes = new Uint8Array(new SharedArrayBuffer(slotCount * this.slotSize));
    const channel = new MessageChannel();
    this.commandPort = channel.port1;
    const data: TunWorkerData = {
      fd, wakeFd, control: this.control.buffer as SharedArrayBuffer, stats: this.statsView.buffer as SharedArrayBuffer,
      slots: this.slotBytes.buffer as SharedArrayBuffer, slotSize: this.slotSize, slotCount, maxPacket: mtu,
      flushEvery: opts.flushEvery ?? 32, fastPath: opts.fastPath ?? null, commands: channel.port2,
    };
    this.worker = new Worker(tunReaderWorkerScript(), { workerData: data, transferList: [channel.port2], name: 'tun-reader' });
    this.worker.on('message', (m: TunWorkerMessage) => this.onMessage(m));
    this.worker.on('error', (e) => this.opts.onFatal?.(e));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
  }

  private onMessage(m: TunWorkerMessage): void {
    if (m.type === 'fatal') {
      if (!this.stopping) this.opts.onFatal?.(new Error(m.message));
      return;
    }
    const start = m.slot * this.slotSize;
    try {
      this.opts.onPackets({ bytes: this.slotBytes, start, end: start + m.bytes, count: m.count });
    } finally {
      Atomics.store(this.control, CTL_SLOT_STATE + m.slot, 0);
    }
  }

  /** Delivered before any packet the worker reads after this call returns. */
  command(cmd: TunWorkerCommand): void {
    if (this.stopping) return;
    this.commandPort.postMessage(cmd);
    Atomics.add(this.control, CTL_COMMAND_SEQ, 1);
    this.wake();
  }

  private wake(): void {
    libc().write(this.wakeFd, this.one, 8);
  }

  stats(): TunReaderStats {
    const s = this.statsView;
    return {
      readPackets: s[STAT_READ_PACKETS]!, readBytes: s[STAT_READ_BYTES]!, fastForwarded: s[STAT_FAST_FORWARDED]!,
      fastDropped: s[STAT_FAST_DROPPED]!, toMain: s[STAT_TO_MAIN]!, droppedNoSlot: s[STAT_DROPPED_NO_SLOT]!,
      workerWriteErrors: s[STAT_WRITE_ERRORS]!, pollWaits: s[STAT_POLL_WAITS]!, batches: s[STAT_BATCHES]!,
    };
  }

  /** Asks the worker to finish and waits for it (it is terminated if it does not exit within 2 s). */
  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      Atomics.store(this.control, CTL_STOP, 1);
      this.wake();
      this.commandPort.close();
    }
    const timer = setTimeout(() => void this.worker.terminate(), 2000);
    await this.exited;
    clearTimeout(timer);
  }
}
