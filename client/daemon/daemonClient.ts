// The client side of the daemon's JSON-RPC protocol (daemon/protocol/rpc.ts):
// typed calls, notification events, and reconnection when the daemon
// restarts. Shared by the extension and `tpv`; never imports `vscode`.
import { connect as netConnect, type Socket } from 'node:net';
import { createMessageConnection, ErrorCodes, ResponseError, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import {
  Methods, Notifications, PROTOCOL_VERSION,
  type ConnectParams, type DaemonStatus, type InterceptParams, type InterceptResult, type LogEntry, type LogLevel, type RoutingPlan, type VnatMapping,
} from '../../daemon/protocol/rpc';
import { VnatMirror, type VnatChange } from './vnatMirror';
import { DaemonNotRunning } from './daemonErrors';
import { Emitter, type Disposable } from '../events';
import type { VersionInfo } from './handshake';

export interface DaemonClientOptions {
  socketPath: string;
  /** Keep reconnecting after the daemon goes away (the extension does; a one-shot CLI command does not). */
  reconnect?: boolean;
  /** First and largest delay between reconnection attempts. */
  reconnectDelayMs?: { min: number; max: number };
  log?: (message: string) => void;
}

export interface DaemonVersion extends VersionInfo {
  pid: number;
}

/** Opens a socket to the daemon; rejects with DaemonNotRunning when nothing listens. */
export function openDaemonSocket(socketPath: string, timeoutMs = 3000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(socketPath);
    const timer = setTimeout(() => { socket.destroy(); reject(new DaemonNotRunning(socketPath, 'timed out')); }, timeoutMs);
    socket.once('connect', () => { clearTimeout(timer); socket.removeAllListeners('error'); resolve(socket); });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new DaemonNotRunning(socketPath, e.code === 'ENOENT' ? 'no socket' : e.code === 'EACCES' ? 'permission denied: the daemon serves another user' : e.code ?? e.message));
    });
  });
}

/** true once something accepts connections on the socket (used while a daemon starts). */
export async function isDaemonListening(socketPath: string): Promise<boolean> {
  try {
    const s = await openDaemonSocket(socketPath, 1000);
    s.destroy();
    return true;
  } catch {
    return false;
  }
}

export class DaemonClient implements Disposable {
  private rpc: MessageConnection | undefined;
  private socket: Socket | undefined;
  private disposed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay: number;
  private logLevel: LogLevel | undefined;
  /** How followVnat() keeps the table: deltas, or whole lists from a daemon without them. */
  private vnatFollow: 'delta' | 'list' | undefined;
  private readonly vnat = new VnatMirror();
  private vnatResync: Promise<void> | undefined;
  /** vnat.changed lists seen (while following by lists), so an older vnat.list answer never overwrites a newer push. */
  private vnatLists = 0;

  private readonly statusEmitter = new Emitter<DaemonStatus>();
  private readonly vnatEmitter = new Emitter<VnatMapping[]>();
  private readonly vnatChangeEmitter = new Emitter<VnatChange>();
  private readonly logEmitter = new Emitter<LogEntry>();
  private readonly credentialsEmitter = new Emitter<{ context: string }>();
  private readonly lostEmitter = new Emitter<void>();
  private readonly reconnectedEmitter = new Emitter<DaemonVersion>();

  /** Full status after any change (connection, plan, intercepts). */
  readonly onStatusChanged = this.statusEmitter.event;
  /** Full VNAT mapping list, pushed by the daemon to connections that do not follow deltas (see followVnat). */
  readonly onVnatChanged = this.vnatEmitter.event;
  /** After followVnat(): how the table in vnatMappings just changed (a full change replaces it). */
  readonly onVnatChange = this.vnatChangeEmitter.event;
  /** Daemon log lines, after subscribeLogs(). */
  readonly onLog = this.logEmitter.event;
  /** The cluster rejected the credentials: call updateCredentials with fresh ones. */
  readonly onCredentialsExpired = this.credentialsEmitter.event;
  /** The socket closed (daemon quit, crashed or restarted). */
  readonly onConnectionLost = this.lostEmitter.event;
  /** A new connection after a loss (re-subscribed to logs; status follows as onStatusChanged). */
  readonly onReconnected = this.reconnectedEmitter.event;

  private constructor(private readonly opts: DaemonClientOptions) {
    this.reconnectDelay = opts.reconnectDelayMs?.min ?? 250;
  }

  /** Connects to a running daemon; rejects with DaemonNotRunning when there is none. */
  static async connect(opts: DaemonClientOptions): Promise<DaemonClient> {
    const client = new DaemonClient(opts);
    client.attach(await openDaemonSocket(opts.socketPath));
    return client;
  }

  get connected(): boolean {
    return this.rpc !== undefined;
  }

  get socketPath(): string {
    return this.opts.socketPath;
  }

  version(): Promise<DaemonVersion> { return this.call((rpc) => rpc.sendRequest(Methods.version)); }
  status(): Promise<DaemonStatus> { return this.call((rpc) => rpc.sendRequest(Methods.status)); }
  connectCluster(params: ConnectParams): Promise<DaemonStatus> { return this.call((rpc) => rpc.sendRequest(Methods.connect, params)); }
  plan(params: ConnectParams): Promise<RoutingPlan> { return this.call((rpc) => rpc.sendRequest(Methods.plan, params)); }
  disconnect(): Promise<DaemonStatus> { return this.call((rpc) => rpc.sendRequest(Methods.disconnect)); }
  vnatList(): Promise<VnatMapping[]> { return this.call((rpc) => rpc.sendRequest(Methods.vnatList)); }
  intercept(params: InterceptParams): Promise<InterceptResult> { return this.call((rpc) => rpc.sendRequest(Methods.intercept, params)); }
  leave(params: { workload: string; namespace?: string }): Promise<DaemonStatus> { return this.call((rpc) => rpc.sendRequest(Methods.leave, params)); }
  uninstall(): Promise<{ removed: string[] }> { return this.call((rpc) => rpc.sendRequest(Methods.uninstall)); }
  updateCredentials(kubeconfig: string): Promise<void> { return this.call((rpc) => rpc.sendRequest(Methods.updateCredentials, { kubeconfig })); }

  /** Asks the daemon to stop (cleanup also repairs what a crashed daemon left); no reconnection follows. */
  async quit(params: { cleanup?: boolean } = {}): Promise<void> {
    this.opts.reconnect = false;
    try {
      await this.call((rpc) => rpc.sendRequest(Methods.quit, params));
    } catch (e) {
      // The daemon may close the socket before its answer is read: it quit all the same.
      if (this.connected) throw e;
    }
  }

  /** The VNAT table by virtual IP, kept by followVnat(); empty before. */
  get vnatMappings(): ReadonlyMap<string, VnatMapping> {
    return this.vnat.mappings;
  }

  /**
   * Follows the VNAT table: a snapshot, then the daemon's deltas applied to
   * it; a gap in their sequence fetches a snapshot again, as does every
   * reconnection. A daemon without deltas (MethodNotFound) is followed by its
   * whole lists instead. Resolves once vnatMappings holds the table.
   */
  async followVnat(): Promise<void> {
    this.vnatFollow = 'delta';
    await this.resyncVnat();
  }

  private resyncVnat(): Promise<void> {
    this.vnatResync ??= (async () => {
      try {
        for (;;) {
          this.vnat.expectSnapshot();
          let snapshot;
          try {
            snapshot = await this.call((rpc) => rpc.sendRequest(Methods.vnatSubscribe, { mode: 'delta' }));
          } catch (e) {
            if (!(e instanceof ResponseError && e.code === ErrorCodes.MethodNotFound)) throw e;
            this.opts.log?.('the daemon has no VNAT deltas (vnat.subscribe); following its whole lists');
            this.vnatFollow = 'list';
            const seen = this.vnatLists;
            const list = await this.vnatList();
            if (this.vnatLists === seen) this.vnatChangeEmitter.fire(this.vnat.replace(list));
            return;
          }
          const step = this.vnat.snapshot(snapshot);
          if (step.change) this.vnatChangeEmitter.fire(step.change);
          if (!step.resync) return;
          this.opts.log?.(`VNAT pushes after snapshot ${snapshot.seq} have a gap; fetching the table again`);
        }
      } finally {
        this.vnatResync = undefined;
      }
    })();
    return this.vnatResync;
  }

  /** Streams daemon logs at `level` and above; kept across reconnections. */
  async subscribeLogs(level: LogLevel): Promise<void> {
    this.logLevel = level;
    await this.call((rpc) => rpc.sendRequest(Methods.subscribeLogs, { level }));
  }

  dispose(): void {
    this.disposed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.detach();
    for (const e of [this.statusEmitter, this.vnatEmitter, this.vnatChangeEmitter, this.logEmitter, this.credentialsEmitter, this.lostEmitter, this.reconnectedEmitter]) e.dispose();
  }

  private async call<T>(fn: (rpc: MessageConnection) => Promise<T>): Promise<T> {
    const rpc = this.rpc;
    if (!rpc) throw new DaemonNotRunning(this.opts.socketPath, 'connection lost');
    return fn(rpc);
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    const rpc = createMessageConnection(new StreamMessageReader(socket), new StreamMessageWriter(socket));
    this.rpc = rpc;
    rpc.onNotification(Notifications.statusChanged, (s) => this.statusEmitter.fire(s));
    rpc.onNotification(Notifications.vnatChanged, (m) => {
      this.vnatEmitter.fire(m);
      if (this.vnatFollow !== 'list') return;
      this.vnatLists++;
      this.vnatChangeEmitter.fire(this.vnat.replace(m));
    });
    // A new socket (perhaps another daemon): deltas wait for the snapshot the reconnection asks for.
    if (this.vnatFollow === 'delta') this.vnat.expectSnapshot();
    rpc.onNotification(Notifications.vnatDelta, (d) => {
      if (this.vnatFollow !== 'delta') return;
      const step = this.vnat.push(d);
      if (step.change) this.vnatChangeEmitter.fire(step.change);
      if (step.resync) {
        this.opts.log?.(`VNAT push ${d.seq} does not follow ${this.vnat.lastSeq ?? 'a snapshot'}; fetching the table`);
        this.resyncVnat().catch((e: Error) => this.opts.log?.(`fetching the VNAT table failed: ${e.message}`));
      }
    });
    rpc.onNotification(Notifications.log, (l) => this.logEmitter.fire(l));
    rpc.onNotification(Notifications.credentialsExpired, (c) => this.credentialsEmitter.fire(c));
    let lost = false;
    const onLost = () => {
      if (lost || this.rpc !== rpc) return;
      lost = true;
      this.detach();
      if (this.disposed) return;
      this.opts.log?.(`daemon connection on ${this.opts.socketPath} closed`);
      this.lostEmitter.fire();
      if (this.opts.reconnect) this.scheduleReconnect();
    };
    rpc.onClose(onLost);
    socket.on('close', onLost);
    socket.on('error', () => socket.destroy());
    rpc.listen();
  }

  private detach(): void {
    const rpc = this.rpc;
    this.rpc = undefined;
    rpc?.dispose();
    this.socket?.destroy();
    this.socket = undefined;
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.disposed) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(delay * 2, this.opts.reconnectDelayMs?.max ?? 5000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.tryReconnect();
    }, delay);
  }

  private async tryReconnect(): Promise<void> {
    if (this.disposed || !this.opts.reconnect) return;
    let socket: Socket;
    try {
      socket = await openDaemonSocket(this.opts.socketPath, 1000);
    } catch {
      this.scheduleReconnect();
      return;
    }
    if (this.disposed) { socket.destroy(); return; }
    this.attach(socket);
    try {
      const version = await this.version();
      if (version.protocolVersion !== PROTOCOL_VERSION) {
        this.opts.log?.(`the restarted daemon speaks protocol ${version.protocolVersion}, not ${PROTOCOL_VERSION}; not using it`);
        this.opts.reconnect = false;
        this.detach();
        return;
      }
      this.reconnectDelay = this.opts.reconnectDelayMs?.min ?? 250;
      if (this.logLevel) await this.subscribeLogs(this.logLevel);
      // The daemon may have restarted (a new table, seq from 0): start again from its snapshot.
      if (this.vnatFollow) await this.followVnat();
      this.reconnectedEmitter.fire(version);
      this.statusEmitter.fire(await this.status());
    } catch (e) {
      this.opts.log?.(`reconnect to ${this.opts.socketPath} failed: ${(e as Error).message}`);
      this.detach();
      this.scheduleReconnect();
    }
  }
}
