// One TCP byte stream inside a tunnel session, as a Node Duplex.
//
// Flow control, receive side: the peer may have at most `window` bytes in
// flight that we have not handed to our consumer. Bytes wait in `queue` until
// the consumer asks (`_read`); bytes handed over (`push`) are credited back
// with WINDOW frames in batches of a quarter window. A slow consumer therefore
// stops the peer after one window, and the shared transport keeps flowing for
// every other stream (no head-of-line blocking beyond the window).
//
// Send side: a write is split into DATA frames of at most 64 KiB and at most
// the credit the peer granted; the write's callback runs only once its last
// byte went to the transport, so Writable back-pressure (`write()` → false,
// 'drain') reaches whoever produces the bytes. When the transport itself is
// congested the stream queues for its turn (round robin with other streams).
import { Duplex } from 'node:stream';
import { FrameType, MAX_FRAME_PAYLOAD, encodeError, encodeU32, type FrameTypeValue, type StreamKind } from './frames';
import { TunnelError, remoteCodeOf } from './tunnelErrors';

/** What a stream needs from its session. */
export interface StreamHost {
  /** True while the transport's buffer is full; DATA must wait for its turn. */
  readonly writeBlocked: boolean;
  readonly isClosed: boolean;
  sendData(streamId: number, payload: Buffer): void;
  sendControl(type: FrameTypeValue, streamId: number, payload?: Buffer): void;
  /** Calls `flushWrites()` once the transport drains. */
  waitForWritable(stream: TunnelStream): void;
  /** The stream is gone: forget its id. */
  streamGone(streamId: number): void;
}

export interface StreamTarget {
  kind: StreamKind;
  host: string;
  port: number;
  meta?: Record<string, string>;
}

export class TunnelStream extends Duplex {
  /** Bytes we may still send before the peer grants more. */
  private sendCredit = 0;
  /** Bytes the peer sent that we have not credited back yet. */
  private outstanding = 0;
  private consumedUncredited = 0;
  private readonly creditBatch: number;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private wantRead = false;
  private remoteFinished = false;
  private endPushed = false;
  private finSent = false;
  private resetReceived = false;
  private pending: Buffer | null = null;
  private pendingOffset = 0;
  private pendingCallback: ((err?: Error | null) => void) | null = null;
  /** Managed by the host's writable queue. */
  waitingForWritable = false;

  constructor(
    private readonly host: StreamHost,
    readonly id: number,
    readonly target: StreamTarget,
    /** Our receive window, as announced to the peer. */
    readonly receiveWindow: number,
  ) {
    super({ allowHalfOpen: true, readableHighWaterMark: 64 * 1024, writableHighWaterMark: 64 * 1024 });
    this.creditBatch = Math.max(1, Math.floor(receiveWindow / 4));
  }

  /** Bytes received from the peer and not yet handed to the consumer. */
  get queuedReceiveBytes(): number {
    return this.queuedBytes;
  }

  /** Called when the peer's OPEN_OK (or its OPEN) tells us its window. */
  grantInitialCredit(window: number): void {
    this.sendCredit = window;
  }

  // ---------------------------------------------------------------- from the session

  onRemoteData(payload: Buffer): void {
    if (this.destroyed) return;
    if (this.remoteFinished) {
      this.fail(new TunnelError('EPROTO', `the peer sent data after ending stream ${this.id}`));
      return;
    }
    this.outstanding += payload.length;
    if (this.outstanding > this.receiveWindow) {
      this.fail(new TunnelError('EPROTO', `the peer overran the ${this.receiveWindow}-byte window of stream ${this.id}`));
      return;
    }
    if (this.wantRead && this.queue.length === 0) {
      this.deliver(payload);
    } else {
      this.queue.push(payload);
      this.queuedBytes += payload.length;
    }
  }

  onRemoteWindow(increment: number): void {
    if (this.destroyed) return;
    this.sendCredit += increment;
    if (this.sendCredit > 0xffffffff) {
      this.fail(new TunnelError('EPROTO', `the peer granted more than 4 GiB of credit on stream ${this.id}`));
      return;
    }
    this.flushWrites();
  }

  onRemoteFin(): void {
    if (this.destroyed || this.remoteFinished) return;
    this.remoteFinished = true;
    if (this.queue.length === 0 && !this.endPushed) {
      this.endPushed = true;
      this.push(null);
    }
  }

  onRemoteReset(code: TunnelError['code'], message: string): void {
    if (this.destroyed) return;
    this.resetReceived = true;
    this.destroy(new TunnelError(code, message));
  }

  /** Ends the stream with `err` without telling the peer (the session is gone). */
  fail(err: Error): void {
    if (!this.destroyed) this.destroy(err);
  }

  /** Sends as much of the pending write as credit and transport allow. */
  flushWrites(): void {
    while (this.pending) {
      if (this.destroyed || this.host.isClosed) return;
      if (this.sendCredit <= 0) return;
      if (this.host.writeBlocked) {
        this.host.waitForWritable(this);
        return;
      }
      const chunk = this.pending;
      const left = chunk.length - this.pendingOffset;
      const n = Math.min(left, this.sendCredit, MAX_FRAME_PAYLOAD);
      const slice = n === chunk.length ? chunk : chunk.subarray(this.pendingOffset, this.pendingOffset + n);
      this.sendCredit -= n;
      this.pendingOffset += n;
      this.host.sendData(this.id, slice);
      if (this.pendingOffset >= chunk.length) {
        const cb = this.pendingCallback!;
        this.pending = null;
        this.pendingCallback = null;
        this.pendingOffset = 0;
        cb();
      }
    }
  }

  // ---------------------------------------------------------------- Duplex

  override _read(): void {
    this.wantRead = true;
    while (this.wantRead && this.queue.length > 0) {
      const chunk = this.queue.shift()!;
      this.queuedBytes -= chunk.length;
      this.deliver(chunk);
    }
    if (this.queue.length === 0 && this.remoteFinished && !this.endPushed) {
      this.endPushed = true;
      this.push(null);
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (chunk.length === 0) {
      callback();
      return;
    }
    this.pending = chunk;
    this.pendingOffset = 0;
    this.pendingCallback = callback;
    this.flushWrites();
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (!this.host.isClosed) this.host.sendControl(FrameType.FIN, this.id);
    this.finSent = true;
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const cleanEnd = this.finSent && this.remoteFinished;
    if (!cleanEnd && !this.resetReceived && !this.host.isClosed) {
      const code = err ? remoteCodeOf(err) : 'ECANCELED';
      this.host.sendControl(FrameType.RST, this.id, encodeError(code, err?.message ?? 'stream closed by its user'));
    }
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.pending = null;
    this.pendingCallback = null;
    this.host.streamGone(this.id);
    callback(err);
  }

  private deliver(chunk: Buffer): void {
    this.consumedUncredited += chunk.length;
    this.wantRead = this.push(chunk);
    if (this.consumedUncredited >= this.creditBatch && !this.remoteFinished && !this.host.isClosed) {
      const n = this.consumedUncredited;
      this.consumedUncredited = 0;
      this.outstanding -= n;
      this.host.sendControl(FrameType.WINDOW, this.id, encodeU32(n));
    }
  }
}
