// Keeps one tunnel session up. On a drop it reconnects with capped,
// jittered exponential backoff, asking for a fresh transport every time
// (the caller re-resolves the relay pod: it may have been rescheduled).
// While there is no session, opens and DNS queries fail at once with
// ETUNNELDOWN instead of hanging, so the daemon can refuse connections
// locally and report the state.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { backoffDelay, type BackoffOptions } from './backoff';
import type { TunnelDatagrams } from './tunnelDatagrams';
import { TunnelError } from './tunnelErrors';
import { TunnelSession, type EarlyTcpOpen, type InboundMeta, type OpenTarget, type TunnelLog, type TunnelSessionOptions } from './tunnelSession';
import type { TunnelStream } from './tunnelStream';

export type TunnelState = 'idle' | 'connecting' | 'up' | 'down' | 'stopped';

export interface TunnelSupervisorOptions {
  /** Opens a byte stream to a relay, e.g. a port-forward to the relay pod as found now. */
  openTransport: (attempt: number) => Promise<Duplex>;
  /** The session secret (a function when it may change between attempts). */
  secret: string | (() => string);
  /** e.g. "tpv-daemon/0.1.0". */
  software: string;
  session?: TunnelSessionOptions;
  backoff?: BackoffOptions;
  /** Limit for opening the transport plus the handshake. Default 20 s. */
  connectTimeoutMs?: number;
  /** A session that lasted this long resets the backoff. Default 10 s. */
  stableAfterMs?: number;
  log?: TunnelLog;
}

export interface TunnelDown {
  reason: TunnelError;
  /** Consecutive failed attempts so far. */
  failures: number;
  retryInMs: number;
}

export interface TunnelSupervisorEvents {
  state: [state: TunnelState];
  connecting: [attempt: number];
  up: [session: TunnelSession];
  down: [info: TunnelDown];
  inbound: [stream: TunnelStream, meta: InboundMeta];
}

export class TunnelSupervisor extends EventEmitter<TunnelSupervisorEvents> {
  private current: TunnelSession | undefined;
  private currentState: TunnelState = 'idle';
  private lastDown: TunnelDown | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private transport: Duplex | undefined;

  constructor(private readonly opts: TunnelSupervisorOptions) {
    super();
  }

  get state(): TunnelState {
    return this.currentState;
  }

  /** The live session, when up. */
  get session(): TunnelSession | undefined {
    return this.current;
  }

  /** Why the tunnel last went down, if it did. */
  get lastFailure(): TunnelDown | undefined {
    return this.lastDown;
  }

  start(): void {
    if (this.loop || this.stopped) return;
    this.loop = this.run();
  }

  /** Skips the current backoff wait (e.g. the user asked to reconnect). */
  retryNow(): void {
    this.wake?.();
  }

  /** Resolves with the session once up; rejects when `timeoutMs` passes or the supervisor stops. */
  waitUntilUp(timeoutMs: number): Promise<TunnelSession> {
    if (this.current) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => {
      const cleanup = () => { clearTimeout(timer); this.off('up', onUp); this.off('state', onState); };
      const onUp = (s: TunnelSession) => { cleanup(); resolve(s); };
      const onState = (s: TunnelState) => {
        if (s === 'stopped') { cleanup(); reject(new TunnelError('ETUNNELDOWN', 'the tunnel was stopped')); }
      };
      const timer = setTimeout(() => {
        cleanup();
        const why = this.lastDown ? `: ${this.lastDown.reason.message}` : '';
        reject(new TunnelError('ETIMEDOUT', `the tunnel to the cluster did not come up within ${Math.round(timeoutMs / 1000)} s${why}`));
      }, timeoutMs);
      this.on('up', onUp);
      this.on('state', onState);
    });
  }

  openTcp(target: OpenTarget): Promise<TunnelStream> {
    const s = this.current;
    return s ? s.openTcp(target) : Promise.reject(this.downError());
  }

  /** An early-data open on the live session, or undefined (down, or a protocol-1 relay). */
  openTcpEarly(target: OpenTarget): EarlyTcpOpen | undefined {
    return this.current?.openTcpEarly(target);
  }

  openUdp(target: OpenTarget): Promise<TunnelDatagrams> {
    const s = this.current;
    return s ? s.openUdp(target) : Promise.reject(this.downError());
  }

  dnsExchange(query: Buffer, timeoutMs?: number): Promise<Buffer> {
    const s = this.current;
    return s ? s.dnsExchange(query, timeoutMs) : Promise.reject(this.downError());
  }

  /** Closes the session (failing its streams with `reason`) and stops reconnecting. */
  async stop(reason = 'the tunnel was stopped'): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.current?.close(reason);
    this.transport?.destroy();
    this.wake?.();
    await this.loop;
    this.setState('stopped');
  }

  private downError(): TunnelError {
    if (this.stopped) return new TunnelError('ETUNNELDOWN', 'the tunnel to the cluster is stopped; connect again');
    const why = this.lastDown ? ` (${this.lastDown.reason.message})` : '';
    return new TunnelError('ETUNNELDOWN', `the tunnel to the cluster is down${why}; reconnecting`);
  }

  private setState(s: TunnelState): void {
    if (this.currentState === s) return;
    this.currentState = s;
    this.emit('state', s);
  }

  private async run(): Promise<void> {
    const log = this.opts.log ?? (() => {});
    let failures = 0;
    let attempt = 0;
    while (!this.stopped) {
      attempt++;
      this.setState('connecting');
      this.emit('connecting', attempt);
      let reason: TunnelError;
      try {
        const session = await this.connectOnce(attempt);
        if (this.stopped) { session.close('the tunnel was stopped'); break; }
        this.current = session;
        const upSince = Date.now();
        session.on('inbound', (stream, meta) => this.emit('inbound', stream, meta));
        this.setState('up');
        log('info', `tunnel up (relay ${session.peerAccept?.softwareVersion ?? '?'}, protocol ${session.version})`);
        this.emit('up', session);
        reason = await new Promise<TunnelError>((resolve) => {
          if (session.isClosed) resolve(session.closedBecause!);
          else session.once('close', resolve);
        });
        this.current = undefined;
        if (Date.now() - upSince >= (this.opts.stableAfterMs ?? 10_000)) failures = 0;
      } catch (e) {
        reason = e instanceof TunnelError ? e : new TunnelError('ETUNNELCLOSED', (e as Error).message);
      }
      if (this.stopped) break;
      failures++;
      const retryInMs = backoffDelay(failures, this.opts.backoff);
      this.lastDown = { reason, failures, retryInMs };
      this.setState('down');
      log('warn', `tunnel down: ${reason.message}; retrying in ${retryInMs} ms`);
      this.emit('down', this.lastDown);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, retryInMs);
        this.wake = () => { clearTimeout(timer); resolve(); };
      });
      this.wake = undefined;
    }
  }

  private async connectOnce(attempt: number): Promise<TunnelSession> {
    const limit = this.opts.connectTimeoutMs ?? 20_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.transport?.destroy();
        reject(new TunnelError('ETIMEDOUT', `connecting to the relay took longer than ${Math.round(limit / 1000)} s`));
      }, limit);
    });
    try {
      const transport = await Promise.race([this.opts.openTransport(attempt), timeout]);
      this.transport = transport;
      if (this.stopped) { transport.destroy(); throw new TunnelError('ETUNNELDOWN', 'stopped'); }
      const secret = typeof this.opts.secret === 'function' ? this.opts.secret() : this.opts.secret;
      return await Promise.race([
        TunnelSession.connect(transport, { ...this.opts.session, secret, software: this.opts.software, handshakeTimeoutMs: limit }),
        timeout,
      ]);
    } catch (e) {
      this.transport?.destroy();
      throw e;
    } finally {
      clearTimeout(timer);
      timeout.catch(() => { /* settled by the race or never observed */ });
    }
  }
}
