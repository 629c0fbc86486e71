// Main-thread side of the TUN reader worker: the shared ring (single producer,
// single consumer, one notification per idle period), commands, stats, and a
// stop that always returns.
import { MessageChannel, Worker } from 'node:worker_threads';
import { libc } from './libc';
import { RingReader, initRing, type PacketBatch } from './packetRing';
import { tunReaderWorkerScript } from './workerScript';
import {
  CONTROL_INT32S, CTL_COMMAND_SEQ, CTL_STOP, STAT_COUNT, STAT_DROPPED_RING_FULL,
  STAT_FAST_DROPPED, STAT_FAST_FORWARDED, STAT_NOTIFICATIONS, STAT_POLL_WAITS, STAT_READ_BYTES, STAT_READ_PACKETS, STAT_TO_MAIN, STAT_WRITE_ERRORS,
  type FastPathFamily, type TunWorkerCommand, type TunWorkerData, type TunWorkerMessage,
} from './tunWorkerProtocol';

export type { FastPathFamily, TunWorkerCommand } from './tunWorkerProtocol';

export { forEachPacket, type PacketBatch } from './packetRing';

export interface TunReaderOptions {
  /** TCP NAT addresses per family; the worker then forwards known TCP flows itself. null: everything comes to onPackets. */
  fastPath?: { v4: FastPathFamily | null; v6: FastPathFamily | null } | null;
  /** Runs synchronously for each batch; its bytes are reused as soon as it returns. */
  onPackets(batch: PacketBatch): void;
  /** The worker died (device gone, koffi failure). */
  onFatal?(err: Error): void;
  /** onPackets threw (a bug): the rest of that batch is skipped. */
  onHandlerError?(err: Error): void;
  /** Bytes of the hand-off ring (default 4 MiB, at least two maximum packets); when full, packets for the main thread are dropped. */
  ringSize?: number;
}

export interface TunReaderStats {
  readPackets: number;
  readBytes: number;
  fastForwarded: number;
  fastDropped: number;
  toMain: number;
  droppedRingFull: number;
  workerWriteErrors: number;
  pollWaits: number;
  notifications: number;
}

export class TunReader {
  private readonly worker: Worker;
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_INT32S * 4));
  private readonly statsView = new Float64Array(new SharedArrayBuffer(STAT_COUNT * 8));
  private readonly ring: SharedArrayBuffer;
  private readonly ringReader: RingReader;
  private readonly commandPort;
  private readonly exited: Promise<void>;
  private readonly one = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
  private stopping = false;

  constructor(fd: number, private readonly wakeFd: number, mtu: number, private readonly opts: TunReaderOptions) {
    const ringSize = Math.max(opts.ringSize ?? 4 * 1024 * 1024, 2 * ((mtu + 8 + 3) & ~3)) & ~3;
    this.ring = new SharedArrayBuffer(ringSize);
    this.ringReader = new RingReader(this.ring, this.control);
    initRing(this.control);
    const channel = new MessageChannel();
    this.commandPort = channel.port1;
    const data: TunWorkerData = {
      fd, wakeFd, control: this.control.buffer as SharedArrayBuffer, stats: this.statsView.buffer as SharedArrayBuffer,
      ring: this.ring, maxPacket: mtu, fastPath: opts.fastPath ?? null, commands: channel.port2,
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
    if (this.stopping) return;
    this.ringReader.drain(this.deliver);
  }

  private readonly deliver = (batch: PacketBatch): void => {
    try {
      this.opts.onPackets(batch);
    } catch (e) {
      // A bug in a packet handler must not stop the data path; it is reported, the batch is skipped.
      this.opts.onHandlerError?.(e as Error);
    }
  };

  /**
   * Applied before the worker handles any packet it reads after this call
   * returns. The worker is not woken for it: commands only matter for
   * packets, and a packet wakes it anyway. Waking cost 25–190 µs per call
   * (an eventfd write that schedules the sleeping thread), twice per
   * connection and on the SYN's path.
   */
  command(cmd: TunWorkerCommand): void {
    if (this.stopping) return;
    this.commandPort.postMessage(cmd);
    Atomics.add(this.control, CTL_COMMAND_SEQ, 1);
  }

  private wake(): void {
    libc().write(this.wakeFd, this.one, 8);
  }

  stats(): TunReaderStats {
    const s = this.statsView;
    return {
      readPackets: s[STAT_READ_PACKETS]!, readBytes: s[STAT_READ_BYTES]!, fastForwarded: s[STAT_FAST_FORWARDED]!,
      fastDropped: s[STAT_FAST_DROPPED]!, toMain: s[STAT_TO_MAIN]!, droppedRingFull: s[STAT_DROPPED_RING_FULL]!,
      workerWriteErrors: s[STAT_WRITE_ERRORS]!, pollWaits: s[STAT_POLL_WAITS]!, notifications: s[STAT_NOTIFICATIONS]!,
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
