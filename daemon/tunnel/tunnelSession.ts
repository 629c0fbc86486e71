// A tunnel session: many TCP streams, UDP associations and DNS exchanges
// multiplexed over one byte stream (the port-forward WebSocket in the daemon,
// an accepted TCP connection in the relay). Both ends run this same class:
// the daemon `connect`s (sends HELLO, opens odd stream ids), the relay
// `accept`s (checks the secret, opens even ids). Either side may open streams,
// so an agent can hand intercepted connections back to the workstation.
//
// The transport is read continuously and never paused: per-stream credit
// (see tunnelStream.ts) bounds what any one stream can make us buffer, so one
// slow consumer cannot stall the others. Writes respect the transport's
// back-pressure: when it is full, streams wait their turn in round robin.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { FrameDecoder } from './frameDecoder';
import {
  BLOCKED_PROTOCOL, EARLY_DATA_LIMIT, EARLY_DATA_PROTOCOL, EMPTY, FrameFormatError, FrameType, OPEN_FLAG_EARLY_DATA, TUNNEL_PROTOCOL_MAX, TUNNEL_PROTOCOL_MIN,
  decodeError, decodeJson, decodeOpen, decodeU32, encodeError, encodeHeader, encodeJson, encodeOpen, encodeU32,
  frameTypeName, type FrameTypeValue, type StreamKind,
} from './frames';
import { negotiateVersion, parseHelloAccept, parseHelloRequest, secretMatchesAny, type HelloAccept, type HelloRequest } from './handshake';
import { TunnelDatagrams } from './tunnelDatagrams';
import { TunnelError, remoteCodeOf, toTunnelErrorCode, type RemoteErrorCode } from './tunnelErrors';
import { TunnelStream, type StreamTarget } from './tunnelStream';

export const DEFAULT_STREAM_WINDOW = 256 * 1024;
export const DEFAULT_MAX_STREAM_WINDOW = 4 * 1024 * 1024;

export type TunnelLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type TunnelLog = (level: TunnelLogLevel, message: string) => void;

export interface TunnelSessionOptions {
  /** Receive window per stream (bytes). Default 256 KiB. */
  streamWindow?: number;
  /** A stream whose consumer keeps up may grow its window up to this (bytes). Default 4 MiB. */
  maxStreamWindow?: number;
  /** A PING goes out this often. Default 10 s. */
  keepaliveIntervalMs?: number;
  /** The session is declared dead when nothing arrived for this long. Default 30 s. */
  keepaliveTimeoutMs?: number;
  /** How long an open waits for the peer's dial. Default 15 s (the relay's own dial timeout is 10 s). */
  openTimeoutMs?: number;
  /** How long a DNS exchange waits. Default 8 s. */
  dnsTimeoutMs?: number;
  /** UDP associations close after this much quiet. Default 60 s. */
  udpIdleMs?: number;
  /** Streams the peer may open or have open at once. Default 65536: a workstation with 10,000+ open connections (browsers, connection pools, watch-heavy tools) is ordinary; an idle stream costs a few hundred bytes. */
  maxStreams?: number;
  /** DATA waits for 'drain' once the transport holds this much. Default 256 KiB. */
  transportBacklogLimit?: number;
  /** Datagrams are dropped while the transport holds more than this. Default 1 MiB. */
  datagramBacklogLimit?: number;
  /**
   * Decides about streams the peer opens. Without it, TCP streams are
   * accepted and emitted as 'inbound' when someone listens, else refused.
   */
  handleOpen?: (request: IncomingOpen) => void;
  /** Answers the peer's DNS queries (wire format in, wire format out). Without it they fail with ENOTSUP. */
  handleDns?: (query: Buffer) => Promise<Buffer>;
  log?: TunnelLog;
}

export interface ConnectOptions extends TunnelSessionOptions {
  secret: string;
  /** e.g. "tpv-daemon/0.1.0". */
  software: string;
  /** Default 10 s. */
  handshakeTimeoutMs?: number;
}

export interface AcceptOptions extends TunnelSessionOptions {
  /** The session secret HELLO must carry, or a function returning every secret currently accepted. */
  expectedSecret: string | (() => readonly string[]);
  /** What to answer (the negotiated version is filled in). */
  hello: Omit<HelloAccept, 'version'>;
  /** Default 10 s. */
  handshakeTimeoutMs?: number;
}

export interface OpenTarget {
  host: string;
  port: number;
  meta?: Record<string, string>;
}

export interface InboundMeta extends OpenTarget {}

/** A TCP stream opened with early data: usable at once; `opened` settles with the peer's dial. */
export interface EarlyTcpOpen {
  stream: TunnelStream;
  /** Resolves on OPEN_OK; rejects with the dial's error (the stream has failed with it too). */
  opened: Promise<void>;
}

/** A stream the peer wants to open; answer exactly once. */
export interface IncomingOpen {
  readonly kind: StreamKind;
  readonly host: string;
  readonly port: number;
  readonly meta: Record<string, string> | undefined;
  /** True once the peer gave up waiting (or the session closed); accept() is then pointless. */
  readonly cancelled: boolean;
  acceptStream(): TunnelStream;
  acceptDatagrams(): TunnelDatagrams;
  reject(code: RemoteErrorCode, message: string): void;
}

export interface TunnelSessionStats {
  streams: number;
  datagramAssociations: number;
  /** Bytes received for streams and not yet handed to their consumers. */
  receiveQueuedBytes: number;
  /** Bytes accepted by stream writables and not yet framed. */
  sendQueuedBytes: number;
  /** Bytes in the transport's write buffer. */
  transportBacklog: number;
  bytesIn: number;
  bytesOut: number;
}

export interface TunnelSessionEvents {
  inbound: [stream: TunnelStream, meta: InboundMeta];
  /** Always emitted once; `reason` says why (also after a local close()). */
  close: [reason: TunnelError];
}

interface PendingOpen {
  /** The stream is in `streams` already; OPEN_OK has granted its credit. */
  resolve: () => void;
  reject: (e: TunnelError) => void;
  timer: NodeJS.Timeout;
  target: StreamTarget;
}

interface PendingRequest<T> {
  resolve: (v: T) => void;
  reject: (e: TunnelError) => void;
  timer: NodeJS.Timeout;
}

type Phase = 'handshake' | 'open' | 'closed';

export class TunnelSession extends EventEmitter<TunnelSessionEvents> {
  /** HELLO_ACK of the peer (on the daemon side) or HELLO (on the relay side). */
  peerAccept: HelloAccept | undefined;
  peerHello: Omit<HelloRequest, 'secret'> | undefined;
  version = 0;

  private phase: Phase = 'handshake';
  private closeReason: TunnelError | undefined;
  private readonly decoder: FrameDecoder;
  private readonly streams = new Map<number, TunnelStream | TunnelDatagrams>();
  private readonly pendingOpens = new Map<number, PendingOpen>();
  private readonly incoming = new Map<number, IncomingOpenImpl>();
  private readonly pendingDns = new Map<number, PendingRequest<Buffer>>();
  private readonly pendingPings = new Map<string, PendingRequest<number> & { sentAt: number }>();
  private writeWaiters: TunnelStream[] = [];
  private nextStreamId: number;
  private nextRequestId = 1;
  private corked = false;
  private blocked = false;
  private lastReceived = Date.now();
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private handshake: { done: (err?: TunnelError) => void; timer: NodeJS.Timeout } | undefined;
  private bytesIn = 0;
  private bytesOut = 0;
  private readonly streamWindow: number;
  readonly maxStreamWindow: number;
  private readonly opts: Required<Omit<TunnelSessionOptions, 'handleOpen' | 'handleDns' | 'log'>> & Pick<TunnelSessionOptions, 'handleOpen' | 'handleDns'>;
  private readonly log: TunnelLog;
  readonly datagramBacklogLimit: number;

  /** Opens a session as the daemon: sends HELLO, resolves on HELLO_ACK. */
  static connect(transport: Duplex, options: ConnectOptions): Promise<TunnelSession> {
    const session = new TunnelSession(transport, 'initiator', options);
    return new Promise((resolve, reject) => {
      session.startHandshake(options.handshakeTimeoutMs ?? 10_000, (err) => (err ? reject(err) : resolve(session)));
      const hello: HelloRequest = { min: TUNNEL_PROTOCOL_MIN, max: TUNNEL_PROTOCOL_MAX, secret: options.secret, software: options.software };
      session.sendControl(FrameType.HELLO, 0, encodeJson(hello));
    });
  }

  /** Serves a session as the relay: waits for HELLO, checks the secret and version. */
  static accept(transport: Duplex, options: AcceptOptions): Promise<TunnelSession> {
    const session = new TunnelSession(transport, 'acceptor', options);
    session.acceptOptions = options;
    return new Promise((resolve, reject) => {
      session.startHandshake(options.handshakeTimeoutMs ?? 10_000, (err) => (err ? reject(err) : resolve(session)));
    });
  }

  private acceptOptions: AcceptOptions | undefined;

  private constructor(private readonly transport: Duplex, readonly role: 'initiator' | 'acceptor', options: TunnelSessionOptions) {
    super();
    this.streamWindow = options.streamWindow ?? DEFAULT_STREAM_WINDOW;
    this.maxStreamWindow = Math.max(this.streamWindow, options.maxStreamWindow ?? DEFAULT_MAX_STREAM_WINDOW);
    this.opts = {
      streamWindow: this.streamWindow,
      maxStreamWindow: this.maxStreamWindow,
      keepaliveIntervalMs: options.keepaliveIntervalMs ?? 10_000,
      keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? 30_000,
      openTimeoutMs: options.openTimeoutMs ?? 15_000,
      dnsTimeoutMs: options.dnsTimeoutMs ?? 8_000,
      udpIdleMs: options.udpIdleMs ?? 60_000,
      maxStreams: options.maxStreams ?? 65536,
      datagramBacklogLimit: options.datagramBacklogLimit ?? 1024 * 1024,
      transportBacklogLimit: options.transportBacklogLimit ?? 256 * 1024,
      handleOpen: options.handleOpen,
      handleDns: options.handleDns,
    };
    this.datagramBacklogLimit = this.opts.datagramBacklogLimit;
    this.log = options.log ?? (() => {});
    this.nextStreamId = role === 'initiator' ? 1 : 2;
    this.decoder = new FrameDecoder((type, id, payload, flags) => this.onFrame(type, id, payload, flags));
    transport.on('data', this.onTransportData);
    transport.on('drain', this.onDrain);
    transport.on('end', () => this.close(new TunnelError('ETUNNELCLOSED', 'the other end closed the tunnel connection')));
    transport.on('close', () => this.close(new TunnelError('ETUNNELCLOSED', 'the tunnel connection closed')));
    transport.on('error', (e: Error) => this.close(new TunnelError('ETUNNELCLOSED', `the tunnel connection failed: ${e.message}`)));
  }

  // ---------------------------------------------------------------- public API

  get isClosed(): boolean {
    return this.phase === 'closed';
  }

  /** Why the session closed, once it has. */
  get closedBecause(): TunnelError | undefined {
    return this.closeReason;
  }

  get writeBlocked(): boolean {
    return this.blocked;
  }

  get signalsBlocked(): boolean {
    return this.version >= BLOCKED_PROTOCOL;
  }

  get transportBacklog(): number {
    return this.transport.writableLength;
  }

  /** Opens a TCP stream to host:port as dialed by the peer; rejects with the peer's dial error (e.g. ECONNREFUSED). */
  openTcp(target: OpenTarget): Promise<TunnelStream> {
    return this.open({ kind: 'tcp', ...target }) as Promise<TunnelStream>;
  }

  /** Opens a UDP association to host:port through the peer. */
  openUdp(target: OpenTarget): Promise<TunnelDatagrams> {
    return this.open({ kind: 'udp', ...target }) as Promise<TunnelDatagrams>;
  }

  /**
   * Opens a TCP stream whose bytes may leave before the peer has dialled
   * (protocol ≥ 2): the first request rides with the OPEN instead of waiting
   * a round trip for OPEN_OK. Undefined when the session cannot (not open, or
   * the peer speaks protocol 1); callers then use openTcp(). If the dial fails
   * the stream fails with the peer's error, after its user may have written.
   */
  openTcpEarly(target: OpenTarget): EarlyTcpOpen | undefined {
    if (this.phase !== 'open' || this.version < EARLY_DATA_PROTOCOL) return undefined;
    const { id, stream } = this.startOpen({ kind: 'tcp', ...target }, EARLY_DATA_LIMIT) as { id: number; stream: TunnelStream };
    const opened = new Promise<void>((resolve, reject) => {
      this.awaitOpenAnswer(id, stream.target, () => resolve(), (e) => {
        // The stream's user sees the dial's error as a reset of the stream.
        stream.onRemoteReset(e.code, e.message);
        reject(e);
      });
    });
    // The stream carries the failure to its user; a caller that ignores `opened` must not crash the process.
    opened.catch(() => undefined);
    this.sendControl(FrameType.OPEN, id, encodeOpen({ kind: 'tcp', window: this.streamWindow, host: target.host, port: target.port, meta: target.meta }), OPEN_FLAG_EARLY_DATA);
    return { stream, opened };
  }

  /** Sends a DNS query (wire format) to the peer's resolver and returns its wire-format answer. */
  dnsExchange(query: Buffer, timeoutMs = this.opts.dnsTimeoutMs): Promise<Buffer> {
    if (this.phase !== 'open') return Promise.reject(this.notOpenError());
    const id = this.takeRequestId();
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingDns.delete(id);
        reject(new TunnelError('ETIMEDOUT', `the cluster's DNS server did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pendingDns.set(id, { resolve, reject, timer });
      this.sendControl(FrameType.DNS_QUERY, id, query);
    });
  }

  /** Measures one round trip through the peer (ms). */
  ping(timeoutMs = this.opts.keepaliveTimeoutMs): Promise<number> {
    if (this.phase !== 'open') return Promise.reject(this.notOpenError());
    const token = Buffer.allocUnsafe(8);
    token.writeUInt32BE(this.takeRequestId(), 0);
    token.writeUInt32BE((Math.random() * 0xffffffff) >>> 0, 4);
    const key = token.toString('hex');
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingPings.delete(key);
        reject(new TunnelError('ETIMEDOUT', `the tunnel did not answer a ping within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pendingPings.set(key, { resolve, reject, timer, sentAt: performance.now() });
      this.sendControl(FrameType.PING, 0, token);
    });
  }

  stats(): TunnelSessionStats {
    let streams = 0;
    let datagrams = 0;
    let receiveQueued = 0;
    let sendQueued = 0;
    for (const s of this.streams.values()) {
      if (s instanceof TunnelStream) {
        streams++;
        receiveQueued += s.queuedReceiveBytes;
        sendQueued += s.writableLength;
      } else {
        datagrams++;
      }
    }
    return {
      streams, datagramAssociations: datagrams, receiveQueuedBytes: receiveQueued, sendQueuedBytes: sendQueued,
      transportBacklog: this.transport.writableLength, bytesIn: this.bytesIn, bytesOut: this.bytesOut,
    };
  }

  /**
   * Closes the session: tells the peer (GOAWAY), fails every open stream,
   * pending open and DNS query with ETUNNELCLOSED carrying `reason`.
   */
  close(reason: TunnelError | string = 'the tunnel was closed'): void {
    if (this.phase === 'closed') return;
    const err = typeof reason === 'string' ? new TunnelError('ETUNNELCLOSED', reason) : reason;
    const wasOpen = this.phase === 'open';
    this.phase = 'closed';
    this.closeReason = err;
    this.decoder.stop();
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    if (wasOpen && !this.transport.destroyed && this.transport.writable) {
      try { this.rawWrite(encodeFrameParts(FrameType.GOAWAY, 0, encodeError(err.code, err.message))); } catch { /* transport already failing */ }
    }
    const streamErr = err.code === 'ETUNNELCLOSED' ? err : new TunnelError('ETUNNELCLOSED', err.message);
    for (const p of this.pendingOpens.values()) { clearTimeout(p.timer); p.reject(new TunnelError('ETUNNELCLOSED', `cannot reach ${p.target.host}:${p.target.port}: ${err.message}`)); }
    this.pendingOpens.clear();
    for (const p of this.pendingDns.values()) { clearTimeout(p.timer); p.reject(streamErr); }
    this.pendingDns.clear();
    for (const p of this.pendingPings.values()) { clearTimeout(p.timer); p.reject(streamErr); }
    this.pendingPings.clear();
    for (const inc of this.incoming.values()) inc.cancel();
    this.incoming.clear();
    for (const s of [...this.streams.values()]) s.fail(streamErr);
    this.streams.clear();
    this.writeWaiters = [];
    if (this.handshake) this.finishHandshake(err);
    if (!this.transport.destroyed) {
      this.transport.end();
      // A wedged peer may never read our last bytes; do not keep the socket forever.
      setTimeout(() => this.transport.destroy(), 2000).unref();
    }
    this.emit('close', err);
  }

  // ---------------------------------------------------------------- StreamHost

  sendData(streamId: number, payload: Buffer): void {
    this.bytesOut += payload.length;
    this.rawWrite(encodeHeader(FrameType.DATA, streamId, payload.length), payload);
  }

  sendControl(type: FrameTypeValue, streamId: number, payload: Buffer = EMPTY, flags = 0): void {
    if (this.phase === 'closed') return;
    this.rawWrite(encodeHeader(type, streamId, payload.length, flags), payload.length > 0 ? payload : undefined);
  }

  waitForWritable(stream: TunnelStream): void {
    if (stream.waitingForWritable) return;
    stream.waitingForWritable = true;
    this.writeWaiters.push(stream);
  }

  streamGone(streamId: number): void {
    this.streams.delete(streamId);
    // An early-data stream its user closed before the peer answered: its answer no longer matters.
    const p = this.pendingOpens.get(streamId);
    if (p) { clearTimeout(p.timer); this.pendingOpens.delete(streamId); }
  }

  // ---------------------------------------------------------------- internals

  private open(target: StreamTarget): Promise<TunnelStream | TunnelDatagrams> {
    if (this.phase !== 'open') return Promise.reject(this.notOpenError());
    const { id, stream } = this.startOpen(target, 0);
    return new Promise((resolve, reject) => {
      this.awaitOpenAnswer(id, target, () => resolve(stream), (e) => { this.streams.delete(id); reject(e); });
      this.sendControl(FrameType.OPEN, id, encodeOpen({ kind: target.kind, window: this.streamWindow, host: target.host, port: target.port, meta: target.meta }));
    });
  }

  /** A new stream id and its entry; `provisionalCredit` is what it may send before OPEN_OK. */
  private startOpen(target: StreamTarget, provisionalCredit: number): { id: number; stream: TunnelStream | TunnelDatagrams } {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    if (this.nextStreamId > 0xfffffffe) {
      this.close(new TunnelError('ETUNNELCLOSED', 'stream ids exhausted; reconnecting'));
    }
    const stream = target.kind === 'tcp'
      ? new TunnelStream(this, id, target, this.streamWindow, provisionalCredit)
      : new TunnelDatagrams(this, id, target, this.opts.udpIdleMs);
    this.streams.set(id, stream);
    return { id, stream };
  }

  private awaitOpenAnswer(id: number, target: StreamTarget, resolve: () => void, reject: (e: TunnelError) => void): void {
    const timer = setTimeout(() => {
      if (!this.pendingOpens.delete(id)) return;
      this.streams.delete(id);
      this.sendControl(FrameType.RST, id, encodeError('ETIMEDOUT', 'open timed out'));
      reject(new TunnelError('ETIMEDOUT', `${target.host}:${target.port} did not answer within ${this.opts.openTimeoutMs} ms (dialed from inside the cluster)`));
    }, this.opts.openTimeoutMs);
    this.pendingOpens.set(id, { resolve, reject, timer, target });
  }

  private readonly onTransportData = (chunk: Buffer): void => {
    this.lastReceived = Date.now();
    this.bytesIn += chunk.length;
    try {
      this.decoder.push(chunk);
    } catch (e) {
      if (e instanceof FrameFormatError) this.protocolError(e.message);
      else throw e;
    }
  };

  private readonly onDrain = (): void => {
    this.blocked = false;
    const waiting = this.writeWaiters;
    this.writeWaiters = [];
    let i = 0;
    for (; i < waiting.length && !this.blocked && this.phase !== 'closed'; i++) {
      waiting[i]!.waitingForWritable = false;
      waiting[i]!.flushWrites();
    }
    // Those not served yet keep their place ahead of streams that just wrote.
    if (i < waiting.length) this.writeWaiters = waiting.slice(i).concat(this.writeWaiters);
  };

  private readonly uncork = (): void => {
    this.corked = false;
    this.transport.uncork();
  };

  private rawWrite(header: Buffer, payload?: Buffer): void {
    if (this.transport.destroyed || !this.transport.writable) return;
    // Frames written in one tick leave in one writev (header + payload, WINDOW batches).
    if (!this.corked) {
      this.corked = true;
      this.transport.cork();
      process.nextTick(this.uncork);
    }
    let ok = this.transport.write(header);
    if (payload) ok = this.transport.write(payload);
    // Sockets report "full" at 16 KiB, less than one DATA frame; letting a few
    // frames queue makes each writev larger. 'drain' still follows any false.
    if (!ok && this.transport.writableLength >= this.opts.transportBacklogLimit) this.blocked = true;
  }

  private onFrame(type: FrameTypeValue, id: number, payload: Buffer, flags: number): void {
    if (this.phase === 'handshake') {
      this.onHandshakeFrame(type, payload);
      return;
    }
    if (this.phase === 'closed') return;
    switch (type) {
      case FrameType.DATA: {
        const s = this.streams.get(id);
        if (s) { s.onRemoteData(payload); return; }
        const inc = this.incoming.get(id);
        if (inc) { this.onEarlyData(inc, payload); return; }
        // Unknown ids: data that crossed our RST in flight; dropping it is correct.
        return;
      }
      case FrameType.WINDOW: {
        const s = this.streams.get(id);
        if (s instanceof TunnelStream) s.onRemoteWindow(decodeU32(payload, 'WINDOW'));
        return;
      }
      case FrameType.OPEN:
        this.onOpen(id, payload, flags);
        return;
      case FrameType.BLOCKED: {
        if (this.version < BLOCKED_PROTOCOL) { this.protocolError(`BLOCKED under protocol ${this.version}`); return; }
        const s = this.streams.get(id);
        if (s instanceof TunnelStream) s.onRemoteBlocked();
        return;
      }
      case FrameType.OPEN_OK: {
        const p = this.pendingOpens.get(id);
        if (!p) return;
        this.pendingOpens.delete(id);
        clearTimeout(p.timer);
        const s = this.streams.get(id);
        if (!s) return;
        if (s instanceof TunnelStream) s.grantInitialCredit(decodeU32(payload, 'OPEN_OK'));
        p.resolve();
        return;
      }
      case FrameType.OPEN_FAIL: {
        const p = this.pendingOpens.get(id);
        if (!p) return;
        this.pendingOpens.delete(id);
        clearTimeout(p.timer);
        const e = decodeError(payload);
        p.reject(new TunnelError(toTunnelErrorCode(e.code), `${p.target.host}:${p.target.port}: ${e.message}`));
        return;
      }
      case FrameType.FIN: {
        const s = this.streams.get(id);
        if (s) { s.onRemoteFin(); return; }
        const inc = this.incoming.get(id);
        if (inc) {
          if (!inc.early) this.protocolError(`the peer ended stream ${id} before it was open, without early data`);
          else inc.early.fin = true;
        }
        return;
      }
      case FrameType.RST: {
        const e = decodeError(payload);
        const inc = this.incoming.get(id);
        if (inc) { this.incoming.delete(id); inc.cancel(); return; }
        const p = this.pendingOpens.get(id);
        if (p) {
          this.pendingOpens.delete(id);
          clearTimeout(p.timer);
          p.reject(new TunnelError(toTunnelErrorCode(e.code), `${p.target.host}:${p.target.port}: ${e.message}`));
          return;
        }
        const s = this.streams.get(id);
        if (s) s.onRemoteReset(toTunnelErrorCode(e.code), `${s.target.host}:${s.target.port}: ${e.message}`);
        return;
      }
      case FrameType.PING:
        this.sendControl(FrameType.PONG, id, payload);
        return;
      case FrameType.PONG: {
        const key = payload.toString('hex');
        const p = this.pendingPings.get(key);
        if (!p) return;
        this.pendingPings.delete(key);
        clearTimeout(p.timer);
        p.resolve(performance.now() - p.sentAt);
        return;
      }
      case FrameType.DNS_QUERY:
        this.onDnsQuery(id, payload);
        return;
      case FrameType.DNS_REPLY: {
        const p = this.pendingDns.get(id);
        if (!p) return;
        this.pendingDns.delete(id);
        clearTimeout(p.timer);
        p.resolve(payload);
        return;
      }
      case FrameType.DNS_FAIL: {
        const p = this.pendingDns.get(id);
        if (!p) return;
        this.pendingDns.delete(id);
        clearTimeout(p.timer);
        const e = decodeError(payload);
        p.reject(new TunnelError(toTunnelErrorCode(e.code), `DNS through the cluster failed: ${e.message}`));
        return;
      }
      case FrameType.GOAWAY: {
        const e = decodeError(payload);
        this.close(new TunnelError('ETUNNELCLOSED', `the ${this.role === 'initiator' ? 'relay' : 'daemon'} closed the tunnel: ${e.message}`));
        return;
      }
      default:
        this.protocolError(`unexpected ${frameTypeName(type)} frame after the handshake`);
    }
  }

  private onOpen(id: number, payload: Buffer, flags: number): void {
    const peerParity = this.role === 'initiator' ? 0 : 1;
    if (id % 2 !== peerParity || id === 0 || this.streams.has(id) || this.incoming.has(id)) {
      this.protocolError(`the peer opened stream ${id}, which is not its to open or already in use`);
      return;
    }
    const open = decodeOpen(payload);
    const early = (flags & OPEN_FLAG_EARLY_DATA) !== 0;
    if (early && (this.version < EARLY_DATA_PROTOCOL || open.kind !== 'tcp')) {
      this.protocolError(`early data on ${open.kind} stream ${id} under protocol ${this.version}`);
      return;
    }
    if (this.streams.size + this.incoming.size >= this.opts.maxStreams) {
      this.sendControl(FrameType.OPEN_FAIL, id, encodeError('EMFILE', `too many streams (${this.opts.maxStreams}) on this tunnel`));
      return;
    }
    const request = new IncomingOpenImpl(this, id, open.kind, open.host, open.port, open.meta, open.window, early);
    this.incoming.set(id, request);
    try {
      if (this.opts.handleOpen) {
        this.opts.handleOpen(request);
      } else if (open.kind === 'tcp' && this.listenerCount('inbound') > 0) {
        const stream = request.acceptStream();
        this.emit('inbound', stream, { host: open.host, port: open.port, meta: open.meta });
      } else {
        request.reject('ECONNREFUSED', `nothing on this side accepts ${open.kind} streams`);
      }
    } catch (e) {
      if (!request.answered) request.reject(remoteCodeOf(e), (e as Error).message);
    }
  }

  /** Holds DATA that came with an early-data OPEN until the open is answered. */
  private onEarlyData(inc: IncomingOpenImpl, payload: Buffer): void {
    const early = inc.early;
    if (!early || early.fin) {
      this.protocolError(early ? 'the peer sent early data after ending its stream' : 'the peer sent data on a stream that is not open yet, without early data');
      return;
    }
    early.bytes += payload.length;
    if (early.bytes > EARLY_DATA_LIMIT) {
      this.protocolError(`the peer sent more than ${EARLY_DATA_LIMIT} bytes of early data`);
      return;
    }
    early.chunks.push(payload);
  }

  /** Called by IncomingOpenImpl. */
  answerOpen(id: number, kind: StreamKind, accepted: boolean, target: StreamTarget, peerWindow: number, error?: { code: string; message: string }, early?: EarlyData): TunnelStream | TunnelDatagrams | undefined {
    this.incoming.delete(id);
    if (!accepted) {
      this.sendControl(FrameType.OPEN_FAIL, id, encodeError(error!.code, error!.message));
      return undefined;
    }
    const entry = kind === 'tcp'
      ? new TunnelStream(this, id, target, this.streamWindow)
      : new TunnelDatagrams(this, id, target, this.opts.udpIdleMs);
    if (entry instanceof TunnelStream) entry.grantInitialCredit(peerWindow);
    this.streams.set(id, entry);
    this.sendControl(FrameType.OPEN_OK, id, encodeU32(this.streamWindow));
    if (early && entry instanceof TunnelStream) {
      for (const chunk of early.chunks) entry.onEarlyData(chunk);
      if (early.fin) entry.onRemoteFin();
    }
    return entry;
  }

  private onDnsQuery(id: number, query: Buffer): void {
    const handler = this.opts.handleDns;
    if (!handler) {
      this.sendControl(FrameType.DNS_FAIL, id, encodeError('ENOTSUP', 'this side of the tunnel does not resolve names'));
      return;
    }
    // The payload may be a slice of a transport chunk: copy it, the handler keeps it across ticks.
    handler(Buffer.from(query)).then(
      (reply) => this.sendControl(FrameType.DNS_REPLY, id, reply),
      (e: unknown) => this.sendControl(FrameType.DNS_FAIL, id, encodeError(remoteCodeOf(e), (e as Error).message ?? String(e))),
    );
  }

  private startHandshake(timeoutMs: number, done: (err?: TunnelError) => void): void {
    const timer = setTimeout(() => {
      this.close(new TunnelError('ETIMEDOUT', `the tunnel handshake did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    this.handshake = { done, timer };
  }

  private finishHandshake(err?: TunnelError): void {
    const h = this.handshake;
    if (!h) return;
    this.handshake = undefined;
    clearTimeout(h.timer);
    if (!err) {
      this.phase = 'open';
      this.lastReceived = Date.now();
      this.startKeepalive();
    }
    h.done(err);
  }

  private onHandshakeFrame(type: FrameTypeValue, payload: Buffer): void {
    if (this.role === 'acceptor') {
      if (type !== FrameType.HELLO) {
        this.protocolError(`expected HELLO, got ${frameTypeName(type)}`);
        return;
      }
      const hello = parseHelloRequest(decodeJson(payload, 'HELLO'));
      const opts = this.acceptOptions!;
      const expected = typeof opts.expectedSecret === 'string' ? [opts.expectedSecret] : opts.expectedSecret();
      if (!secretMatchesAny(hello.secret, expected)) {
        this.rejectHello('EAUTH', 'the tunnel secret is wrong; the daemon must reconnect with the secret stored in the relay\'s Secret');
        return;
      }
      const version = negotiateVersion({ min: TUNNEL_PROTOCOL_MIN, max: TUNNEL_PROTOCOL_MAX }, hello);
      if (version === undefined) {
        this.rejectHello('EVERSION', `the relay speaks tunnel protocol ${TUNNEL_PROTOCOL_MIN}..${TUNNEL_PROTOCOL_MAX} and the daemon ${hello.min}..${hello.max}; redeploy the relay from this daemon version`);
        return;
      }
      this.version = version;
      this.peerHello = { min: hello.min, max: hello.max, software: hello.software };
      this.sendControl(FrameType.HELLO_ACK, 0, encodeJson({ ...opts.hello, version } satisfies HelloAccept));
      this.finishHandshake();
      return;
    }
    if (type === FrameType.HELLO_REJECT) {
      const e = decodeError(payload);
      this.close(new TunnelError(toTunnelErrorCode(e.code), `the relay refused the tunnel: ${e.message}`));
      return;
    }
    if (type !== FrameType.HELLO_ACK) {
      this.protocolError(`expected HELLO_ACK, got ${frameTypeName(type)}`);
      return;
    }
    const accept = parseHelloAccept(decodeJson(payload, 'HELLO_ACK'));
    if (accept.version < TUNNEL_PROTOCOL_MIN || accept.version > TUNNEL_PROTOCOL_MAX) {
      this.close(new TunnelError('EVERSION', `the relay chose tunnel protocol ${accept.version}, which this daemon does not speak`));
      return;
    }
    this.version = accept.version;
    this.peerAccept = accept;
    this.finishHandshake();
  }

  private rejectHello(code: 'EAUTH' | 'EVERSION', message: string): void {
    this.log('warn', `refusing a tunnel: ${message}`);
    this.sendControl(FrameType.HELLO_REJECT, 0, encodeError(code, message));
    this.close(new TunnelError(code, message));
  }

  private protocolError(message: string): void {
    this.log('warn', `tunnel protocol error: ${message}`);
    this.close(new TunnelError('EPROTO', `tunnel protocol error: ${message}`));
  }

  private startKeepalive(): void {
    const { keepaliveIntervalMs, keepaliveTimeoutMs } = this.opts;
    if (keepaliveIntervalMs <= 0) return;
    this.keepaliveTimer = setInterval(() => {
      const quiet = Date.now() - this.lastReceived;
      if (quiet >= keepaliveTimeoutMs) {
        this.close(new TunnelError('ETIMEDOUT', `nothing arrived through the tunnel for ${Math.round(quiet / 1000)} s; the connection is dead`));
        return;
      }
      const token = Buffer.alloc(8);
      this.sendControl(FrameType.PING, 0, token);
    }, Math.min(keepaliveIntervalMs, Math.max(50, keepaliveTimeoutMs / 2)));
    this.keepaliveTimer.unref();
  }

  private notOpenError(): TunnelError {
    if (this.phase === 'closed') return new TunnelError('ETUNNELCLOSED', `the tunnel is closed: ${this.closeReason?.message ?? 'closed'}`);
    return new TunnelError('ETUNNELDOWN', 'the tunnel handshake has not finished yet');
  }

  private takeRequestId(): number {
    const id = this.nextRequestId;
    this.nextRequestId = id >= 0xfffffffe ? 1 : id + 1;
    return id;
  }
}

/** Bytes (and a FIN) that arrived with an early-data OPEN before it was answered. */
interface EarlyData {
  chunks: Buffer[];
  bytes: number;
  fin: boolean;
}

class IncomingOpenImpl implements IncomingOpen {
  answered = false;
  cancelled = false;
  /** Set when the OPEN allowed early data. */
  early: EarlyData | undefined;

  constructor(
    private readonly session: TunnelSession,
    private readonly id: number,
    readonly kind: StreamKind,
    readonly host: string,
    readonly port: number,
    readonly meta: Record<string, string> | undefined,
    private readonly peerWindow: number,
    allowsEarlyData = false,
  ) {
    if (allowsEarlyData) this.early = { chunks: [], bytes: 0, fin: false };
  }

  acceptStream(): TunnelStream {
    if (this.kind !== 'tcp') throw new TunnelError('EINVAL', 'a UDP open must be accepted with acceptDatagrams()');
    return this.answer(true) as TunnelStream;
  }

  acceptDatagrams(): TunnelDatagrams {
    if (this.kind !== 'udp') throw new TunnelError('EINVAL', 'a TCP open must be accepted with acceptStream()');
    return this.answer(true) as TunnelDatagrams;
  }

  reject(code: RemoteErrorCode, message: string): void {
    if (this.answered || this.cancelled) return;
    this.answered = true;
    this.session.answerOpen(this.id, this.kind, false, this.target(), 0, { code, message });
  }

  cancel(): void {
    this.cancelled = true;
    this.early = undefined;
  }

  private answer(accepted: boolean): TunnelStream | TunnelDatagrams {
    if (this.answered) throw new Error('this open request was already answered');
    if (this.cancelled || this.session.isClosed) throw new TunnelError('ECANCELED', `the peer stopped waiting for ${this.host}:${this.port}`);
    this.answered = true;
    const early = this.early;
    this.early = undefined;
    return this.session.answerOpen(this.id, this.kind, accepted, this.target(), this.peerWindow, undefined, early)!;
  }

  private target(): StreamTarget {
    return { kind: this.kind, host: this.host, port: this.port, meta: this.meta };
  }
}

function encodeFrameParts(type: FrameTypeValue, id: number, payload: Buffer): Buffer {
  return Buffer.concat([encodeHeader(type, id, payload.length), payload]);
}
