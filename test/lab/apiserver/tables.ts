// Server-side printing: the `Table` kubectl asks for with
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, with the columns
// the real server prints per kind. Pure.
import type { KubeObject } from './objects';
import { formatSelector } from './selectors';

export interface ColumnDefinition { name: string; type: string; format: string; description: string; priority: number }
export interface TableRow { cells: unknown[]; object: unknown }
export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string };
  columnDefinitions: ColumnDefinition[];
  rows: TableRow[];
}

/** kubectl's duration.HumanDuration. */
export function humanDuration(ms: number): string {
  // Go's integer division truncates toward zero: -1.5 s is "0s", not "<invalid>".
  const s = Math.trunc(ms / 1000);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  if (h < 24 * 365 * 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}

type Column = [name: string, type: string, priority: number, cell: (o: KubeObject, now: number) => unknown, format?: string];

const NAME: Column = ['Name', 'string', 0, (o) => o.metadata.name, 'name'];
const AGE: Column = ['Age', 'string', 0, (o, now) => humanDuration(now - Date.parse(o.metadata.creationTimestamp))];

/* eslint-disable @typescript-eslint/no-explicit-any -- cells read client-sent specs */
export function podStatusText(pod: KubeObject): string {
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  let reason: string = pod.status?.reason ?? pod.status?.phase ?? 'Pending';
  for (const cs of (pod.status?.initContainerStatuses ?? []) as any[]) {
    if (cs.state?.terminated?.exitCode === 0) continue;
    if (cs.state?.terminated) return `Init:${cs.state.terminated.reason || `ExitCode:${cs.state.terminated.exitCode}`}`;
    if (cs.state?.waiting?.reason && cs.state.waiting.reason !== 'PodInitializing') return `Init:${cs.state.waiting.reason}`;
  }
  for (const cs of (pod.status?.containerStatuses ?? []) as any[]) {
    if (cs.state?.waiting?.reason) reason = cs.state.waiting.reason;
    else if (cs.state?.terminated?.reason) reason = cs.state.terminated.reason;
    else if (cs.state?.terminated) reason = cs.state.terminated.signal ? `Signal:${cs.state.terminated.signal}` : `ExitCode:${cs.state.terminated.exitCode}`;
  }
  return reason;
}

function podRestarts(pod: KubeObject, now: number): string {
  const statuses = (pod.status?.containerStatuses ?? []) as any[];
  const n = statuses.reduce((s, c) => s + (c.restartCount ?? 0), 0);
  const last = statuses.map((c) => c.lastState?.terminated?.finishedAt).filter(Boolean).map((t: string) => Date.parse(t)).sort().pop();
  return n > 0 && last ? `${n} (${humanDuration(now - last)} ago)` : String(n);
}

function servicePorts(svc: KubeObject): string {
  const ports = (svc.spec?.ports ?? []) as any[];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

function endpointsText(ep: KubeObject): string {
  const list: string[] = [];
  for (const s of (ep.subsets ?? []) as any[]) for (const a of s.addresses ?? []) for (const p of s.ports ?? [{ port: undefined }]) list.push(p.port ? `${a.ip}:${p.port}` : a.ip);
  if (list.length === 0) return '<none>';
  return list.length > 3 ? `${list.slice(0, 3).join(',')} + ${list.length - 3} more...` : list.join(',');
}

const containers = (o: KubeObject) => ((o.spec?.template?.spec?.containers ?? []) as any[]);

const COLUMNS: Record<string, Column[]> = {
  Pod: [
    NAME,
    ['Ready', 'string', 0, (p) => `${((p.status?.containerStatuses ?? []) as any[]).filter((c) => c.ready).length}/${(p.spec?.containers ?? []).length}`],
    ['Status', 'string', 0, (p) => podStatusText(p)],
    ['Restarts', 'string', 0, (p, now) => podRestarts(p, now)],
    AGE,
    ['IP', 'string', 1, (p) => p.status?.podIP ?? '<none>'],
    ['Node', 'string', 1, (p) => p.spec?.nodeName ?? '<none>'],
    ['Nominated Node', 'string', 1, () => '<none>'],
    ['Readiness Gates', 'string', 1, () => '<none>'],
  ],
  Deployment: [
    NAME,
    ['Ready', 'string', 0, (d) => `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`],
    ['Up-to-date', 'integer', 0, (d) => d.status?.updatedReplicas ?? 0],
    ['Available', 'integer', 0, (d) => d.status?.availableReplicas ?? 0],
    AGE,
    ['Containers', 'string', 1, (d) => containers(d).map((c) => c.name).join(',')],
    ['Images', 'string', 1, (d) => containers(d).map((c) => c.image).join(',')],
    ['Selector', 'string', 1, (d) => formatSelector(d.spec?.selector)],
  ],
  ReplicaSet: [
    NAME,
    ['Desired', 'integer', 0, (r) => r.spec?.replicas ?? 1],
    ['Current', 'integer', 0, (r) => r.status?.replicas ?? 0],
    ['Ready', 'integer', 0, (r) => r.status?.readyReplicas ?? 0],
    AGE,
    ['Containers', 'string', 1, (r) => containers(r).map((c) => c.name).join(',')],
    ['Images', 'string', 1, (r) => containers(r).map((c) => c.image).join(',')],
    ['Selector', 'string', 1, (r) => formatSelector(r.spec?.selector)],
  ],
  StatefulSet: [
    NAME,
    ['Ready', 'string', 0, (s) => `${s.status?.readyReplicas ?? 0}/${s.spec?.replicas ?? 1}`],
    AGE,
    ['Containers', 'string', 1, (s) => containers(s).map((c) => c.name).join(',')],
    ['Images', 'string', 1, (s) => containers(s).map((c) => c.image).join(',')],
  ],
  Service: [
    NAME,
    ['Type', 'string', 0, (s) => s.spec?.type ?? 'ClusterIP'],
    ['Cluster-IP', 'string', 0, (s) => s.spec?.clusterIP ?? '<none>'],
    ['External-IP', 'string', 0, (s) => (s.spec?.externalIPs ?? []).join(',') || (s.spec?.type === 'LoadBalancer' ? '<pending>' : '<none>')],
    ['Port(s)', 'string', 0, (s) => servicePorts(s)],
    AGE,
    ['Selector', 'string', 1, (s) => Object.entries(s.spec?.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>'],
  ],
  Node: [
    NAME,
    ['Status', 'string', 0, (n) => (((n.status?.conditions ?? []) as any[]).find((c) => c.type === 'Ready')?.status === 'True' ? 'Ready' : 'NotReady') + (n.spec?.unschedulable ? ',SchedulingDisabled' : '')],
    ['Roles', 'string', 0, (n) => Object.keys(n.metadata.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice(24)).join(',') || '<none>'],
    AGE,
    ['Version', 'string', 0, (n) => n.status?.nodeInfo?.kubeletVersion ?? ''],
    ['Internal-IP', 'string', 1, (n) => ((n.status?.addresses ?? []) as any[]).find((a) => a.type === 'InternalIP')?.address ?? '<none>'],
  ],
  Namespace: [NAME, ['Status', 'string', 0, (n) => n.status?.phase ?? 'Active'], AGE],
  Endpoints: [NAME, ['Endpoints', 'string', 0, (e) => endpointsText(e)], AGE],
  ConfigMap: [NAME, ['Data', 'integer', 0, (c) => Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length], AGE],
  Secret: [NAME, ['Type', 'string', 0, (s) => s.type ?? 'Opaque'], ['Data', 'integer', 0, (s) => Object.keys(s.data ?? {}).length], AGE],
  ServiceAccount: [NAME, ['Secrets', 'integer', 0, (s) => (s.secrets ?? []).length], AGE],
  EndpointSlice: [
    NAME,
    ['AddressType', 'string', 0, (s) => s.addressType ?? 'IPv4'],
    ['Ports', 'string', 0, (s) => ((s.ports ?? []) as any[]).map((p) => p.port).join(',') || '<unset>'],
    ['Endpoints', 'string', 0, (s) => ((s.endpoints ?? []) as any[]).flatMap((e) => e.addresses ?? []).join(',') || '<unset>'],
    AGE,
  ],
};
/* eslint-enable @typescript-eslint/no-explicit-any */

function columnsFor(kind: string): Column[] {
  return COLUMNS[kind] ?? [NAME, AGE];
}

export function columnDefinitions(kind: string): ColumnDefinition[] {
  return columnsFor(kind).map(([name, type, priority, , format]) => ({ name, type, format: format ?? '', description: name === 'Name' ? 'Name must be unique within a namespace.' : name, priority }));
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function rowObject(o: KubeObject, include: IncludeObject): unknown {
  if (include === 'Object') return o;
  if (include === 'None') return undefined;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

export function toTable(kind: string, objects: KubeObject[], opts: { resourceVersion?: string; includeObject?: IncludeObject; noHeaders?: boolean; now?: number } = {}): Table {
  const now = opts.now ?? Date.now();
  const cols = columnsFor(kind);
  return {
    kind: 'Table', apiVersion: 'meta.k8s.io/v1',
    metadata: opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {},
    columnDefinitions: opts.noHeaders ? [] : columnDefinitions(kind),
    rows: objects.map((o) => ({ cells: cols.map(([, , , cell]) => cell(o, now)), object: rowObject(o, opts.includeObject ?? 'Metadata') })),
  };
}

/** Whether an Accept header asks for a meta.k8s.io Table (v1 or v1beta1). */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => /as=Table/.test(part) && /g=meta\.k8s\.io/.test(part));
}

