// The one definition of the JSON-RPC protocol between the daemon and its
// clients (the extension and `tpv`). Both sides import this module; nothing
// else may spell a method name. Types only plus method descriptors: no I/O.
import { NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';

/**
 * Bumped on any incompatible change; clients replace an older daemon.
 * Additions a client can detect without it stay at the same version
 * (`vnat.subscribe`: an older daemon answers MethodNotFound, and a client
 * that never calls it gets `vnat.changed` as before).
 */
export const PROTOCOL_VERSION = 1;

// ---------------------------------------------------------------- routing

/** Where a cluster subnet came from. */
export type SubnetOrigin = 'service' | 'pods' | 'also';

/**
 * How one cluster subnet is reached:
 * - `route`: no conflict, routed through our TUN device;
 * - `allowed`: conflicts, but `allowConflictingSubnets` covers it, routed anyway;
 * - `vnat`: hidden behind virtual IPs allocated from `virtualRange`;
 * - `proxy-via`: like `vnat`, and the traffic exits from `workload`'s pod;
 * - `never-proxy`: excluded by `neverProxy`;
 * - `error`: conflicts and nothing resolves it; `error` holds the exact text.
 */
export type SubnetResolution = 'route' | 'allowed' | 'vnat' | 'proxy-via' | 'never-proxy' | 'error';

export interface SubnetPlanEntry {
  subnet: string;
  origin: SubnetOrigin;
  resolution: SubnetResolution;
  /** For `proxy-via`: the workload whose agent dials the real IPs. */
  workload?: string;
  /** For `vnat` / `proxy-via`: the part of the virtual subnet this subnet's virtual IPs come from. */
  virtualRange?: string;
  /** The existing route it overlaps, formatted as Telepresence does. */
  conflictingRoute?: string;
  /** For `error`: the exact message. */
  error?: string;
}

export interface RoutingPlan {
  virtualSubnet: string;
  subnets: SubnetPlanEntry[];
  /** Set when any entry is an error: the first error, which connect reports. */
  error?: string;
}

/** Flags as typed on the command line (validated by the daemon again). */
export interface RoutingFlags {
  vnat: string[];
  proxyVia: string[];
  alsoProxy: string[];
  neverProxy: string[];
  allowConflictingSubnets: string[];
}

/** `routing.*` of the merged client configuration (config.yml < VS Code settings < flags). */
export interface RoutingConfig {
  virtualSubnet?: string;
  autoResolveConflicts?: boolean;
  allowConflictingSubnets?: string[];
  alsoProxy?: string[];
  neverProxy?: string[];
}

// ---------------------------------------------------------------- connect

export interface ConnectParams {
  /**
   * A flattened kubeconfig (YAML or JSON text) holding only the chosen
   * context, with credentials already resolved by the client as the user:
   * exec plugins never run inside the daemon.
   */
  kubeconfig: string;
  context: string;
  namespace: string;
  flags: RoutingFlags;
  routing: RoutingConfig;
  /** Cluster subnets given by hand; when empty they are discovered. */
  serviceCidrs?: string[];
  podCidrs?: string[];
}

export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'disconnecting';

export interface ConnectionInfo {
  state: ConnectionState;
  context?: string;
  namespace?: string;
  server?: string;
  /** ISO time when `state` was entered. */
  since: string;
  /** Why the last connect failed or the tunnel dropped, with what to do next. */
  error?: string;
  device?: string;
  plan?: RoutingPlan;
  dns?: { domains: string[]; server: string; searchPaths: string[] };
  relay?: { namespace: string; pod: string; version: string };
}

export interface InterceptInfo {
  workload: string;
  namespace: string;
  kind: 'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'Rollout';
  remotePort: number;
  localPort: number;
  /** `intercept` redirects traffic; `ingest` only hands out the environment. */
  mode: 'intercept' | 'ingest';
  since: string;
  /**
   * `leaving` from the moment a leave starts until it has ended: the
   * traffic no longer reaches this workstation, but the workload is still
   * being put back (service, pod template, the rollout of pods without the
   * agent), so requests to it may still be refused. The entry disappears
   * when the leave ends (also when it fails; the leave's caller gets the
   * error). Optional for readers: daemons before this field send none, which
   * means `active`; compare with `'leaving'` rather than `'active'`.
   */
  state?: InterceptState;
}

export type InterceptState = 'active' | 'leaving';

export interface DaemonStatus {
  version: string;
  protocolVersion: number;
  pid: number;
  /** uid of the user the daemon serves (besides root). */
  ownerUid: number;
  connection: ConnectionInfo;
  intercepts: InterceptInfo[];
  vnatMappingCount: number;
}

// ---------------------------------------------------------------- VNAT

export interface VnatMapping {
  realIp: string;
  virtualIp: string;
  /** The real cluster subnet the IP lies in. */
  subnet: string;
  /** DNS names whose answers produced this mapping. */
  names: string[];
  /** Environment variables (from ingest/intercept) that referenced it. */
  envVars: string[];
  service?: { namespace: string; name: string };
  workload?: { namespace: string; name: string; kind: string };
  flows: number;
  bytesIn: number;
  bytesOut: number;
  createdAt: string;
}

/**
 * What changed in the VNAT table since the previous `vnat.delta`, to the
 * clients that subscribed with `vnat.subscribe { mode: 'delta' }`.
 *
 * `seq` counts the daemon's pushes (one counter for the daemon's life, shared
 * by every subscriber), so a client knows its table is whole when each push
 * is the one after the last it applied. On a gap, or before it has a table at
 * all, it calls `vnat.subscribe` again: the snapshot's `seq` is the last push
 * it already contains; pushes at or below it are skipped, the next applies.
 *
 * - `full`: `upserts` is the whole table; replace, do not merge (sent when the
 *   table is cleared or replaced: disconnect, a new connection).
 * - `upserts`: whole entries, keyed by `virtualIp`: new mappings, new names or
 *   environment variables, flow counts; byte counters of entries that changed
 *   only by their counters at most once a second (an entry in a push for
 *   another reason always carries its current counters).
 * - `removed`: virtual IPs no longer mapped.
 */
export interface VnatDelta {
  seq: number;
  full?: true;
  upserts: VnatMapping[];
  removed?: string[];
}

/** The whole table as of push `seq` (pushes after it apply on top). */
export interface VnatSnapshot {
  seq: number;
  mappings: VnatMapping[];
}

/**
 * How a client follows the VNAT table:
 * - `delta`: `vnat.delta` notifications (what the extension uses);
 * - `full`: the whole list in `vnat.changed` after every change, as protocol 1
 *   clients that never call `vnat.subscribe` get it (kept for them, and to
 *   compare a delta-built table against).
 */
export type VnatFollowMode = 'delta' | 'full';

// ---------------------------------------------------------------- intercept

export interface InterceptParams {
  workload: string;
  namespace?: string;
  /** `[LOCAL:]REMOTE`; REMOTE may be a port number or a port name. */
  port: string;
  mode: 'intercept' | 'ingest';
  container?: string;
  /** Intercept: how long the agent may take to become ready in every pod (default 120). */
  agentTimeoutSeconds?: number;
}

export interface InterceptResult {
  intercept: InterceptInfo;
  /** The container's environment, mangled to virtual IPs. */
  env: Record<string, string>;
  mounts: Array<{ name: string; mountPath: string; readOnly: boolean }>;
}

// ---------------------------------------------------------------- logs

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface LogEntry {
  time: string;
  level: LogLevel;
  scope: string;
  message: string;
}

// ---------------------------------------------------------------- methods

export const Methods = {
  version: new RequestType0<{ version: string; protocolVersion: number; pid: number }, void>('version'),
  status: new RequestType0<DaemonStatus, void>('status'),
  connect: new RequestType<ConnectParams, DaemonStatus, void>('connect'),
  /** Plans without changing anything (what `tpv connect --dry-run` shows when a daemon runs). */
  plan: new RequestType<ConnectParams, RoutingPlan, void>('plan'),
  disconnect: new RequestType0<DaemonStatus, void>('disconnect'),
  vnatList: new RequestType0<VnatMapping[], void>('vnat.list'),
  /**
   * Chooses how this connection follows the VNAT table and answers the table
   * as of now, with the `seq` that `vnat.delta` pushes continue from. Called
   * again (same mode) to resynchronise after a gap. Daemons before it answer
   * MethodNotFound: follow `vnat.changed` then.
   */
  vnatSubscribe: new RequestType<{ mode: VnatFollowMode }, VnatSnapshot, void>('vnat.subscribe'),
  intercept: new RequestType<InterceptParams, InterceptResult, void>('intercept'),
  /**
   * Ends an intercept or ingest; answers once the workload is put back (the
   * intercept shows as `leaving` in the meantime). A leave of a workload that
   * is being left waits for that leave and shares its outcome.
   */
  leave: new RequestType<{ workload: string; namespace?: string }, DaemonStatus, void>('leave'),
  /** Removes the relay and every agent from the cluster. */
  uninstall: new RequestType0<{ removed: string[] }, void>('uninstall'),
  /** Stops the daemon; `cleanup` also repairs what a crashed daemon left. */
  quit: new RequestType<{ cleanup?: boolean }, void, void>('quit'),
  subscribeLogs: new RequestType<{ level: LogLevel }, void, void>('logs.subscribe'),
  /** Client → daemon: fresh credentials after the daemon asked for them. */
  updateCredentials: new RequestType<{ kubeconfig: string }, void, void>('credentials.update'),
} as const;

export const Notifications = {
  /** Full status after any change of connection, plan or intercepts. */
  statusChanged: new NotificationType<DaemonStatus>('status.changed'),
  /**
   * Full mapping list, coalesced (at most four a second), to connections that
   * have not subscribed to deltas (or chose `full`). Not sent for changes of
   * byte counters alone.
   */
  vnatChanged: new NotificationType<VnatMapping[]>('vnat.changed'),
  /** Changes since the previous push, coalesced (at most four a second), to connections subscribed with `delta`. */
  vnatDelta: new NotificationType<VnatDelta>('vnat.delta'),
  log: new NotificationType<LogEntry>('log'),
  /** Daemon → client: the cluster rejected the credentials; send fresh ones via `credentials.update`. */
  credentialsExpired: new NotificationType<{ context: string }>('credentials.expired'),
} as const;

export { DEFAULT_SOCKET_PATH } from './socketPath';
