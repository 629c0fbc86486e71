// The client side of the daemon's JSON-RPC protocol (daemon/protocol/rpc.ts):
// typed calls, notification events, and reconnection when the daemon
// restarts. Shared by the extension and `tpv`; never imports `vscode`.
import { connect as netConnect, type Socket } from 'node:net';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import {
  Methods, Notifications, PROTOCOL_VERSION,
  type ConnectParams, type DaemonStatus, type InterceptParams, type InterceptResult, type LogEntry, type LogLevel, type RoutingPlan, type VnatMapping,
} from '../../daemon/protocol/rpc';
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

  private readonly statusEmitter = new Emitter<DaemonStatus>();
  private readonly vnatEmitter = new Emitter<VnatMapping[]>();
  private readonly logEmitter = new Emitter<LogEntry>();
  private readonly credentialsEmitter = new Emitter<{ context: string }>();
  private readonly lostEmitter = new Emitter<void>();
  private readonly reconnectedEmitter = new Emitter<DaemonVersion>();

  /** Full status after any change (connection, plan, intercepts). */
  readonly onStatusChanged = this.statusEmitter.event;
  /** Full VNAT mapping list, pushed by the daemon. */
  readonly onVnatChanged = this.vnatEmitter.event;
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

  /** Streams daemon logs at `level` and above; kept across reconnections. */
  async subscribeLogs(level: LogLevel): Promise<void> {
    this.logLevel = level;
    await this.call((rpc) => rpc.sendRequest(Methods.subscribeLogs, { level }));
  }

  dispose(): void {
    this.disposed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.detach();
    for (const e of [this.statusEmitter, this.vnatEmitter, this.logEmitter, this.credentialsEmitter, this.lostEmitter, this.reconnectedEmitter]) e.dispose();
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
    rpc.onNotification(Notifications.vnatChanged, (m) => this.vnatEmitter.fire(m));
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
      this.reconnectedEmitter.fire(version);
      this.statusEmitter.fire(await this.status());
    } catch (e) {
      this.opts.log?.(`reconnect to ${this.opts.socketPath} failed: ${(e as Error).message}`);
      this.detach();
      this.scheduleReconnect();
    }
  }
}
