// One TCP byte stream inside a tunnel session, as a Node Duplex.
//
// Flow control, receive side: the peer may have at most `window` bytes in
// flight that we have not handed to our consumer. Bytes wait in `queue` until
// the consumer asks (`_read`); bytes handed over (`push`) are credited back
// with WINDOW frames in batches of a quarter window. A slow consumer therefore
// stops the peer after one window, and the shared transport keeps flowing for
// every other stream (no head-of-line blocking beyond the window).
//
// Window auto-tuning: a fixed window caps a stream at window / round trip,
// and a tunnel through an API server has a long round trip under load. A
// sender out of credit says so once (BLOCKED, protocol ≥ 2, as QUIC's
// STREAM_DATA_BLOCKED). If by then our consumer has taken every byte, the
// window, not the consumer, is what limits the stream: it doubles (up to the
// session's maximum) and the extra credit goes out at once. A slow consumer
// never grows its window (its bytes still queue when BLOCKED arrives), so the
// slow-reader bound stays the initial window; only a stream that drains as
// fast as it fills grows. A grown stream whose consumer stops may hold up to
// its grown window (as a kernel socket holds up to its autotuned buffer), and
// once its consumer reads slower than the bytes come, the window shrinks back.
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
  /** The largest receive window a stream may grow to (bytes). */
  readonly maxStreamWindow: number;
  /** True when the peer understands BLOCKED (protocol ≥ 2). */
  readonly signalsBlocked: boolean;
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
  private creditBatch: number;
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
  /** The receive window now; starts at `receiveWindow` and may grow to the host's maximum. */
  private window: number;
  /** BLOCKED went out for the current lack of credit. */
  private blockedSent = false;

  constructor(
    private readonly host: StreamHost,
    readonly id: number,
    readonly target: StreamTarget,
    /** Our receive window, as announced to the peer. */
    readonly receiveWindow: number,
    /** Bytes we may send before the peer's window is known (early data, protocol ≥ 2). */
    private provisionalCredit = 0,
  ) {
    super({ allowHalfOpen: true, readableHighWaterMark: 64 * 1024, writableHighWaterMark: 64 * 1024 });
    this.window = receiveWindow;
    this.creditBatch = Math.max(1, Math.floor(receiveWindow / 4));
    this.sendCredit = provisionalCredit;
  }

  /** Bytes received from the peer and not yet handed to the consumer. */
  get queuedReceiveBytes(): number {
    return this.queuedBytes;
  }

  /** The receive window in force (grown by auto-tuning). */
  get currentReceiveWindow(): number {
    return this.window;
  }

  /**
   * Called when the peer's OPEN_OK (or its OPEN) tells us its window. Early
   * data already sent counts against it, so the credit may start below zero.
   */
  grantInitialCredit(window: number): void {
    this.sendCredit += window - this.provisionalCredit;
    this.provisionalCredit = 0;
    this.flushWrites();
  }

  // ---------------------------------------------------------------- from the session

  onRemoteData(payload: Buffer): void {
    if (this.destroyed) return;
    if (this.remoteFinished) {
      this.fail(new TunnelError('EPROTO', `the peer sent data after ending stream ${this.id}`));
      return;
    }
    this.outstanding += payload.length;
    if (this.outstanding > this.window) {
      this.fail(new TunnelError('EPROTO', `the peer overran the ${this.window}-byte window of stream ${this.id}`));
      return;
    }
    if (this.wantRead && this.queue.length === 0) {
      this.deliver(payload);
    } else {
      this.queue.push(payload);
      this.queuedBytes += payload.length;
    }
  }

  /** The peer has bytes for us but no credit. */
  onRemoteBlocked(): void {
    if (this.destroyed || this.queue.length > 0) return;
    this.growWindow();
  }

  private growWindow(): void {
    const extra = Math.min(this.window, this.host.maxStreamWindow - this.window);
    if (extra <= 0 || this.remoteFinished || this.host.isClosed || this.destroyed) return;
    this.window += extra;
    this.creditBatch = Math.max(1, Math.floor(this.window / 4));
    this.host.sendControl(FrameType.WINDOW, this.id, encodeU32(extra));
  }

  /**
   * Bytes the peer sent with its OPEN, before it knew our window: they count
   * as outstanding (and are credited back when consumed) but cannot overrun.
   */
  onEarlyData(payload: Buffer): void {
    if (this.destroyed) return;
    this.outstanding += payload.length;
    this.queue.push(payload);
    this.queuedBytes += payload.length;
  }

  onRemoteWindow(increment: number): void {
    if (this.destroyed) return;
    this.sendCredit += increment;
    this.blockedSent = false;
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
      if (this.sendCredit <= 0) {
        if (!this.blockedSent && this.host.signalsBlocked && !this.host.isClosed) {
          this.blockedSent = true;
          this.host.sendControl(FrameType.BLOCKED, this.id);
        }
        return;
      }
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
      // Bytes still waiting mean the consumer has fallen behind: a grown window
      // shrinks back towards the initial one by withholding credit, so a stream
      // that ran fast and then slowed does not keep a large bound for good.
      const shrink = this.queue.length > 0 ? Math.min(n, this.window - this.receiveWindow) : 0;
      if (shrink > 0) {
        this.window -= shrink;
        this.creditBatch = Math.max(1, Math.floor(this.window / 4));
      }
      if (n > shrink) this.host.sendControl(FrameType.WINDOW, this.id, encodeU32(n - shrink));
    }
  }
}
