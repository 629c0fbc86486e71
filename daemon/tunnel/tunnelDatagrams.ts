// One UDP association inside a tunnel session: every DATA frame is exactly
// one datagram. Datagrams are not flow controlled; like any UDP path, this
// one drops them when the tunnel is congested instead of queueing without
// bound. The association expires after a quiet period, as NAT entries do.
import { EventEmitter } from 'node:events';
import { FrameType, MAX_FRAME_PAYLOAD, encodeError, type FrameTypeValue } from './frames';
import { TunnelError } from './tunnelErrors';
import type { StreamTarget } from './tunnelStream';

export interface DatagramHost {
  readonly isClosed: boolean;
  /** Bytes waiting in the transport; datagrams are dropped above the limit. */
  readonly transportBacklog: number;
  readonly datagramBacklogLimit: number;
  sendData(streamId: number, payload: Buffer): void;
  sendControl(type: FrameTypeValue, streamId: number, payload?: Buffer): void;
  streamGone(streamId: number): void;
}

export interface TunnelDatagramsEvents {
  message: [payload: Buffer];
  /** `err` is set when the association ended for any reason but close() or idle expiry. */
  close: [err?: TunnelError];
}

export class TunnelDatagrams extends EventEmitter<TunnelDatagramsEvents> {
  private closed = false;
  private lastActivity = Date.now();
  private idleTimer: NodeJS.Timeout | undefined;
  /** Datagrams dropped because the tunnel was congested or they were too big. */
  dropped = 0;

  constructor(
    private readonly host: DatagramHost,
    readonly id: number,
    readonly target: StreamTarget,
    readonly idleTimeoutMs: number,
  ) {
    super();
    if (idleTimeoutMs > 0) this.armIdle(idleTimeoutMs);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Queues one datagram; false when it was dropped (closed, too big or congested). */
  send(payload: Buffer): boolean {
    if (this.closed || this.host.isClosed) return false;
    if (payload.length > MAX_FRAME_PAYLOAD || this.host.transportBacklog > this.host.datagramBacklogLimit) {
      this.dropped++;
      return false;
    }
    this.lastActivity = Date.now();
    this.host.sendData(this.id, payload);
    return true;
  }

  /** Ends the association on both sides. */
  close(): void {
    if (this.closed) return;
    if (!this.host.isClosed) this.host.sendControl(FrameType.FIN, this.id);
    this.finish(undefined);
  }

  // ---------------------------------------------------------------- from the session

  onRemoteData(payload: Buffer): void {
    if (this.closed) return;
    this.lastActivity = Date.now();
    this.emit('message', payload);
  }

  onRemoteFin(): void {
    this.finish(undefined);
  }

  onRemoteReset(code: TunnelError['code'], message: string): void {
    this.finish(new TunnelError(code, message));
  }

  /** Ends without telling the peer (the session is gone). */
  fail(err: TunnelError): void {
    this.finish(err);
  }

  /** Ends and tells the peer why (e.g. the local UDP socket failed). */
  abort(err: Error & { code?: string }): void {
    if (this.closed) return;
    if (!this.host.isClosed) this.host.sendControl(FrameType.RST, this.id, encodeError(err.code ?? 'EIO', err.message));
    this.finish(err instanceof TunnelError ? err : new TunnelError('EIO', err.message));
  }

  private finish(err: TunnelError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.host.streamGone(this.id);
    this.emit('close', err);
  }

  private armIdle(delay: number): void {
    this.idleTimer = setTimeout(() => {
      const quiet = Date.now() - this.lastActivity;
      if (quiet >= this.idleTimeoutMs) this.close();
      else this.armIdle(this.idleTimeoutMs - quiet);
    }, delay);
    this.idleTimer.unref();
  }
}
