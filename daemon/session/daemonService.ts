// The daemon's RPC surface: validates each request, sequences connect and
// disconnect, and pushes every state change to all clients (no polling).
import { ErrorCodes, ResponseError } from 'vscode-jsonrpc';
import type { Logger, ScopedLogger } from '../log/logger';
import {
  Methods, Notifications, PROTOCOL_VERSION,
  type ConnectParams, type ConnectionInfo, type DaemonStatus, type LogLevel, type VnatFollowMode, type VnatMapping, type VnatSnapshot,
} from '../protocol/rpc';
import type { ClientConnection, RpcServer } from '../server/rpcServer';
import * as validate from '../server/validate';
import type { ActiveConnection, Connector } from './connection';
import type { MappingChange } from './mappingRegistry';

export const DAEMON_VERSION = '0.1.0';

/** Coalesces bursts of mapping changes into at most a few notifications a second. */
const VNAT_NOTIFY_INTERVAL_MS = 250;
/**
 * Byte counters move with every packet of a busy flow: an entry whose only
 * change is its counters goes out at most this often (all such entries in
 * one push). An entry pushed for another reason carries its counters anyway.
 */
const VNAT_COUNTERS_INTERVAL_MS = 1000;

export class DaemonService {
  private active: ActiveConnection | undefined;
  private lastParams: ConnectParams | undefined;
  private connecting: AbortController | undefined;
  private info: ConnectionInfo = { state: 'disconnected', since: new Date().toISOString() };
  private vnatTimer: NodeJS.Timeout | undefined;
  /** When the armed vnatTimer fires (Date.now() time). */
  private vnatTimerDue = 0;
  /** The last vnat.delta's seq: one counter for the daemon's life, so a client's seq never repeats. */
  private vnatSeq = 0;
  /** The table was cleared or replaced: the next push is a full one. */
  private vnatFullPending = false;
  private vnatCountersAt = 0;
  /** Per client connection; absent means `full` (protocol 1 clients never subscribe). */
  private readonly vnatModes = new Map<number, VnatFollowMode>();
  private readonly log: ScopedLogger;
  private idleTimer: NodeJS.Timeout | undefined;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly logger: Logger,
    private readonly connector: Connector,
    private readonly ownerUid: number,
    private readonly onQuit: () => void,
    private readonly idleExitSeconds: number,
  ) {
    this.log = logger.scoped('service');
  }

  attach(server: RpcServer): { onConnection(c: ClientConnection): void; onDisconnect(c: ClientConnection): void } {
    this.server = server;
    return {
      onConnection: (c) => { this.register(c); this.armIdleExit(); },
      onDisconnect: (c) => { this.unsubscribe.get(c.id)?.(); this.unsubscribe.delete(c.id); this.vnatModes.delete(c.id); this.armIdleExit(); },
    };
  }

  private server: RpcServer | undefined;
  private readonly unsubscribe = new Map<number, () => void>();

  status(): DaemonStatus {
    const connection = this.active ? this.active.info() : this.info;
    return {
      version: DAEMON_VERSION,
      protocolVersion: PROTOCOL_VERSION,
      pid: process.pid,
      ownerUid: this.ownerUid,
      connection,
      intercepts: this.active?.interceptList() ?? [],
      vnatMappingCount: this.active?.mappingCount() ?? 0,
    };
  }

  private register(c: ClientConnection): void {
    const { rpc } = c;
    rpc.onRequest(Methods.version, () => ({ version: DAEMON_VERSION, protocolVersion: PROTOCOL_VERSION, pid: process.pid }));
    rpc.onRequest(Methods.status, () => this.status());
    rpc.onRequest(Methods.connect, (p) => this.serial(() => this.connect(validate.connectParams(p))));
    rpc.onRequest(Methods.plan, (p) => this.connector.plan(validate.connectParams(p)));
    rpc.onRequest(Methods.disconnect, () => { this.connecting?.abort(); return this.serial(() => this.disconnect()); });
    rpc.onRequest(Methods.vnatList, (): VnatMapping[] => this.active?.mappings() ?? []);
    rpc.onRequest(Methods.vnatSubscribe, (p): VnatSnapshot => {
      const mode = validate.object(p, 'params').mode;
      if (mode !== 'delta' && mode !== 'full') throw new validate.InvalidParams('params.mode', 'expected delta or full');
      this.vnatModes.set(c.id, mode);
      // Pending changes are in this table already and go out again in push seq+1: whole entries, so applying them twice is harmless.
      return { seq: this.vnatSeq, mappings: this.active?.mappings() ?? [] };
    });
    rpc.onRequest(Methods.intercept, (p) => this.serial(() => this.requireActive().intercept(validate.interceptParams(p))));
    rpc.onRequest(Methods.leave, (p) => {
      const o = validate.object(p, 'params');
      const workload = validate.dns1123Label(o.workload, 'params.workload');
      const namespace = o.namespace === undefined ? undefined : validate.dns1123Label(o.namespace, 'params.namespace');
      // A leave of a workload that is being left joins that leave: queued behind
      // it, it would start once the first had ended and then find nothing to leave.
      const underway = this.active?.leaving(workload, namespace);
      if (underway) return unwrapped(underway.then(() => this.status()));
      return this.serial(async () => {
        await this.requireActive().leave(workload, namespace);
        this.publishStatus();
        return this.status();
      });
    });
    rpc.onRequest(Methods.uninstall, (p) => this.serial(async () => {
      void p;
      const removed = await this.connector.uninstall(this.lastParams, this.active);
      return { removed };
    }));
    rpc.onRequest(Methods.quit, (p) => {
      const cleanup = p && typeof p === 'object' ? validate.optionalBoolean((p as Record<string, unknown>).cleanup, 'params.cleanup') : undefined;
      void this.serial(async () => {
        await this.disconnect();
        if (cleanup) await this.connector.repair();
        this.onQuit();
      });
    });
    rpc.onRequest(Methods.subscribeLogs, (p) => {
      const level: LogLevel = validate.logLevel(p);
      this.unsubscribe.get(c.id)?.();
      this.unsubscribe.set(c.id, this.logger.subscribe((entry) => void rpc.sendNotification(Notifications.log, entry), level));
    });
    rpc.onRequest(Methods.updateCredentials, (p) => {
      const o = validate.object(p, 'params');
      this.requireActive().updateCredentials(validate.string(o.kubeconfig, 'params.kubeconfig', 1024 * 1024));
    });
  }

  /** Connect, disconnect and intercepts run one at a time, in arrival order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.busy.then(fn, fn);
    this.busy = run.catch(() => undefined);
    return unwrapped(run);
  }

  private requireActive(): ActiveConnection {
    if (!this.active) throw new ResponseError(ErrorCodes.InvalidRequest, 'not connected: run "Telepresence: Connect" (or tpv connect) first');
    return this.active;
  }

  private async connect(params: ConnectParams): Promise<DaemonStatus> {
    if (this.active) {
      const cur = this.active.info();
      if (cur.context === params.context && cur.namespace === params.namespace) return this.status();
      this.log.info(`switching from context ${cur.context}/${cur.namespace} to ${params.context}/${params.namespace}`);
      await this.disconnect();
    }
    const abort = new AbortController();
    this.connecting = abort;
    this.setInfo({ state: 'connecting', context: params.context, namespace: params.namespace, since: new Date().toISOString() });
    try {
      this.active = await this.connector.connect(params, {
        changed: () => this.publishStatus(),
        mappingsChanged: (what) => this.scheduleVnatNotification(what),
        credentialsExpired: (context) => this.server?.forEachClient((cl) => void cl.rpc.sendNotification(Notifications.credentialsExpired, { context })),
      }, abort.signal);
      this.lastParams = params;
      // A new table: clients holding the previous one (a connect that switched context) replace theirs.
      this.vnatFullPending = true;
      this.scheduleVnatNotification('entry');
      this.log.info(`connected to ${params.context} (namespace ${params.namespace})`);
      this.publishStatus();
      return this.status();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.log.error(`connect failed: ${message}`);
      this.setInfo({ state: 'disconnected', context: params.context, namespace: params.namespace, since: new Date().toISOString(), error: message });
      throw new ResponseError(ErrorCodes.UnknownErrorCode, message);
    } finally {
      if (this.connecting === abort) this.connecting = undefined;
      this.armIdleExit();
    }
  }

  async disconnect(): Promise<DaemonStatus> {
    const active = this.active;
    if (!active) return this.status();
    this.active = undefined;
    this.setInfo({ ...active.info(), state: 'disconnecting', since: new Date().toISOString() });
    await active.disconnect();
    this.setInfo({ state: 'disconnected', since: new Date().toISOString() });
    this.vnatFullPending = true;
    this.scheduleVnatNotification('entry');
    this.log.info('disconnected');
    this.armIdleExit();
    return this.status();
  }

  private setInfo(info: ConnectionInfo): void {
    this.info = info;
    this.publishStatus();
  }

  private publishStatus(): void {
    const status = this.status();
    this.server?.forEachClient((c) => void c.rpc.sendNotification(Notifications.statusChanged, status));
  }

  /** Arms the push: within 250 ms for entries, by the counters' next turn for counters alone. */
  private scheduleVnatNotification(what: MappingChange = 'entry'): void {
    const now = Date.now();
    const delay = what === 'counters' ? Math.max(VNAT_NOTIFY_INTERVAL_MS, this.vnatCountersAt + VNAT_COUNTERS_INTERVAL_MS - now) : VNAT_NOTIFY_INTERVAL_MS;
    if (this.vnatTimer && this.vnatTimerDue <= now + delay) return;
    if (this.vnatTimer) clearTimeout(this.vnatTimer);
    this.vnatTimerDue = now + delay;
    this.vnatTimer = setTimeout(() => { this.vnatTimer = undefined; this.pushVnat(); }, delay);
  }

  /**
   * Sends what changed: a vnat.delta with the changed entries to clients
   * that subscribed to deltas, the whole list in vnat.changed to the others
   * (only when an entry changed, as before deltas). Builds nothing for
   * nobody: with no subscriber the changes are forgotten unbuilt (a client
   * that comes later starts from a snapshot).
   */
  private pushVnat(): void {
    const now = Date.now();
    let deltaClients = 0;
    let fullClients = 0;
    this.server?.forEachClient((c) => { if (this.vnatModes.get(c.id) === 'delta') deltaClients++; else fullClients++; });
    const active = this.active;
    if (this.vnatFullPending) {
      this.vnatFullPending = false;
      this.vnatCountersAt = now;
      active?.takeMappingChanges({ counters: true, build: false });
      const seq = ++this.vnatSeq;
      if (deltaClients + fullClients === 0) return;
      const list = active?.mappings() ?? [];
      this.forEachVnatClient((c, mode) => void (mode === 'delta'
        ? c.rpc.sendNotification(Notifications.vnatDelta, { seq, full: true, upserts: list })
        : c.rpc.sendNotification(Notifications.vnatChanged, list)));
      return;
    }
    if (!active) return;
    const pending = active.pendingMappingChanges();
    const counters = pending.counters > 0 && now - this.vnatCountersAt >= VNAT_COUNTERS_INTERVAL_MS;
    if (pending.entries > 0 || counters) {
      if (counters) this.vnatCountersAt = now;
      const upserts = active.takeMappingChanges({ counters, build: deltaClients > 0 });
      const seq = ++this.vnatSeq;
      // The protocol 1 list: after changes of entries only, never for counters alone (as before deltas).
      const list = fullClients > 0 && pending.entries > 0 ? active.mappings() : undefined;
      this.forEachVnatClient((c, mode) => {
        if (mode === 'delta') void c.rpc.sendNotification(Notifications.vnatDelta, { seq, upserts });
        else if (list) void c.rpc.sendNotification(Notifications.vnatChanged, list);
      });
    }
    if (!counters && pending.counters > 0) this.scheduleVnatNotification('counters');
  }

  private forEachVnatClient(fn: (c: ClientConnection, mode: VnatFollowMode) => void): void {
    this.server?.forEachClient((c) => fn(c, this.vnatModes.get(c.id) ?? 'full'));
  }

  /** Exits after a quiet period with no connection and no client. */
  private armIdleExit(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.idleExitSeconds <= 0 || this.active || this.connecting || (this.server?.clientCount ?? 0) > 0) return;
    this.idleTimer = setTimeout(() => {
      this.log.info(`idle for ${this.idleExitSeconds}s with no connection and no client: exiting`);
      this.onQuit();
    }, this.idleExitSeconds * 1000);
    this.idleTimer.unref();
  }
}

/**
 * vscode-jsonrpc would prefix a plain Error with "Request <method> failed
 * with message:"; clients show the message to users as it is, so it goes out
 * unwrapped.
 */
function unwrapped<T>(run: Promise<T>): Promise<T> {
  return run.catch((e: unknown) => {
    throw e instanceof ResponseError || !(e instanceof Error) ? e : new ResponseError(ErrorCodes.UnknownErrorCode, e.message);
  });
}
