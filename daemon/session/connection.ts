// What the daemon service needs from a live cluster connection. The real
// implementation wires TUN, routes, DNS, VNAT and the tunnel; the service
// only sequences requests and publishes state.
import type { ConnectParams, ConnectionInfo, InterceptParams, InterceptResult, RoutingPlan, VnatMapping } from '../protocol/rpc';
import type { MappingChange } from './mappingRegistry';

export interface ActiveConnection {
  info(): ConnectionInfo;
  mappings(): VnatMapping[];
  /** How many mappings there are, without building the list (status asks often; the list may hold 65,536). */
  mappingCount(): number;
  /** Mappings changed since the last take, and those whose byte counters alone moved (MappingRegistry.pending). */
  pendingMappingChanges(): { entries: number; counters: number };
  /** The changed mappings, forgotten once taken (MappingRegistry.take): what a vnat.delta carries. */
  takeMappingChanges(opts: { counters: boolean; build?: boolean }): VnatMapping[];
  intercept(params: InterceptParams): Promise<InterceptResult>;
  leave(workload: string, namespace?: string): Promise<void>;
  /** The leave of that workload under way (its intercept listed as `leaving`); undefined when none is. */
  leaving(workload: string, namespace?: string): Promise<void> | undefined;
  interceptList(): InterceptResult['intercept'][];
  /** Accepts fresh credentials after `credentials.expired`. */
  updateCredentials(kubeconfig: string): void;
  /** Reverts every change on the workstation; never throws. */
  disconnect(): Promise<void>;
}

export interface ConnectionEvents {
  /** The connection's info changed (tunnel reconnecting, relay moved, ...). */
  changed(): void;
  /** A mapping became pending (see MappingRegistry): `counters` when only its byte counters moved. */
  mappingsChanged(what?: MappingChange): void;
  credentialsExpired(context: string): void;
}

export interface Connector {
  connect(params: ConnectParams, events: ConnectionEvents, signal: AbortSignal): Promise<ActiveConnection>;
  plan(params: ConnectParams): Promise<RoutingPlan>;
  /** Removes the relay and agents; uses the live connection's cluster access when given. */
  uninstall(params: ConnectParams | undefined, active: ActiveConnection | undefined): Promise<string[]>;
  /** Repairs what a previous daemon left behind (journal replay). Returns what was reverted. */
  repair(): Promise<string[]>;
}
