// The Telepresence tree as plain data, built from the daemon status and what
// the watches saw: connection → Subnets + namespaces → workloads. Pure, so
// the view is a thin adapter and the content is unit tested.
import type { DaemonStatus, InterceptInfo, SubnetPlanEntry } from '../../daemon/protocol/rpc';
import type { WorkloadSummary } from './workloads';

export type TreeNodeKind = 'connection' | 'subnets' | 'subnet' | 'namespace' | 'workload' | 'message';

export interface TreeNode {
  /** Stable across refreshes, so expansion state and reveal() survive. */
  id: string;
  kind: TreeNodeKind;
  label: string;
  description?: string;
  tooltip?: string;
  /** Codicon name. */
  icon?: string;
  /** Theme colour id for the icon. */
  iconColor?: string;
  contextValue: string;
  collapsible: 'none' | 'collapsed' | 'expanded';
  children: TreeNode[];
  /** For workloads: what an intercept command needs. */
  workload?: WorkloadSummary;
  intercept?: InterceptInfo;
  namespace?: string;
}

export interface ClusterSnapshot {
  namespaces: readonly string[];
  workloads: readonly WorkloadSummary[];
  /** Set while a watch fails (shown as a message node instead of silence). */
  error?: string;
  /** false until the first list completed. */
  loaded: boolean;
}

/** The empty list when disconnected: the view then shows its welcome content. */
export function buildTree(status: DaemonStatus | undefined, cluster: ClusterSnapshot): TreeNode[] {
  const c = status?.connection;
  if (!c || c.state === 'disconnected' || c.state === 'disconnecting') return [];
  const children: TreeNode[] = [];
  if (c.plan) children.push(subnetsNode(c.plan.subnets, c.plan.virtualSubnet));
  if (cluster.error) children.push(message('watch-error', cluster.error, 'warning'));
  else if (!cluster.loaded) children.push(message('loading', 'Loading namespaces…', 'loading~spin'));
  for (const ns of cluster.namespaces) children.push(namespaceNode(ns, cluster.workloads.filter((w) => w.namespace === ns), status!.intercepts, ns === c.namespace));
  const target = `${c.context ?? '?'}${c.namespace ? `/${c.namespace}` : ''}`;
  return [{
    id: 'connection',
    kind: 'connection',
    label: c.context ?? 'cluster',
    description: `${c.state}${c.namespace ? ` · ${c.namespace}` : ''}`,
    tooltip: [`Telepresence ${c.state}: ${target}`, c.server && `API server: ${c.server}`, c.device && `device: ${c.device}`, c.dns && `DNS: ${c.dns.domains.join(', ')} via ${c.dns.server}`, c.error && `last error: ${c.error}`]
      .filter(Boolean).join('\n'),
    icon: c.state === 'connected' ? 'plug' : 'sync~spin',
    contextValue: `connection-${c.state}`,
    collapsible: 'expanded',
    children,
  }];
}

const RESOLUTION_TEXT: Record<SubnetPlanEntry['resolution'], string> = {
  route: 'routed',
  allowed: 'allowed (conflict)',
  vnat: 'VNAT',
  'proxy-via': 'proxy-via',
  'never-proxy': 'never proxied',
  error: 'conflict',
};

const RESOLUTION_ICON: Record<SubnetPlanEntry['resolution'], [string, string | undefined]> = {
  route: ['arrow-right', undefined],
  allowed: ['warning', 'charts.yellow'],
  vnat: ['arrow-swap', 'charts.blue'],
  'proxy-via': ['debug-step-over', 'charts.purple'],
  'never-proxy': ['circle-slash', undefined],
  error: ['error', 'errorForeground'],
};

export function subnetDescription(e: SubnetPlanEntry): string {
  switch (e.resolution) {
    case 'vnat': return `VNAT → ${e.virtualRange ?? 'virtual subnet'}`;
    case 'proxy-via': return `proxy via ${e.workload ?? '?'}${e.virtualRange ? ` → ${e.virtualRange}` : ''}`;
    default: return RESOLUTION_TEXT[e.resolution];
  }
}

function subnetsNode(entries: readonly SubnetPlanEntry[], virtualSubnet: string): TreeNode {
  const children = entries.map((e): TreeNode => {
    const [icon, iconColor] = RESOLUTION_ICON[e.resolution];
    const tooltip = [
      `${e.subnet} (${e.origin === 'service' ? 'service subnet' : e.origin === 'pods' ? 'pod subnet' : 'also-proxy'}): ${subnetDescription(e)}`,
      e.conflictingRoute && `overlaps with existing route "${e.conflictingRoute}"`,
      e.error,
    ].filter(Boolean).join('\n');
    return {
      id: `subnet:${e.subnet}`,
      kind: 'subnet',
      label: e.subnet,
      description: subnetDescription(e),
      tooltip,
      icon,
      ...(iconColor ? { iconColor } : {}),
      contextValue: `subnet-${e.resolution}`,
      collapsible: 'none',
      children: [],
    };
  });
  return {
    id: 'subnets',
    kind: 'subnets',
    label: 'Subnets',
    description: entries.some((e) => e.resolution === 'vnat' || e.resolution === 'proxy-via') ? `virtual subnet ${virtualSubnet}` : `${entries.length}`,
    tooltip: `How each cluster subnet is reached from this workstation (virtual subnet ${virtualSubnet})`,
    icon: 'type-hierarchy',
    contextValue: 'subnets',
    collapsible: 'expanded',
    children,
  };
}

function namespaceNode(ns: string, workloads: readonly WorkloadSummary[], intercepts: readonly InterceptInfo[], current: boolean): TreeNode {
  return {
    id: `ns:${ns}`,
    kind: 'namespace',
    label: ns,
    ...(current ? { description: 'connected namespace' } : {}),
    icon: 'symbol-namespace',
    contextValue: 'namespace',
    collapsible: current ? 'expanded' : 'collapsed',
    namespace: ns,
    children: workloads.length
      ? workloads.map((w) => workloadNode(w, intercepts.find((i) => i.namespace === w.namespace && i.workload === w.name)))
      : [message(`ns:${ns}:empty`, 'No workloads', undefined)],
  };
}

/**
 * True while the daemon puts the workload back after a leave (absent on
 * daemons older than InterceptInfo.state, whose intercepts are active).
 */
export function isLeaving(i: InterceptInfo | undefined): boolean {
  return i?.state === 'leaving';
}

function workloadNode(w: WorkloadSummary, intercept: InterceptInfo | undefined): TreeNode {
  const base = {
    id: `wl:${w.namespace}/${w.kind}/${w.name}`,
    kind: 'workload' as const,
    label: w.name,
    collapsible: 'none' as const,
    children: [],
    workload: w,
    namespace: w.namespace,
  };
  if (intercept && isLeaving(intercept)) {
    // No actions (contextValue matches no menu): Leave is under way, and an
    // intercept would only wait for it to end.
    return {
      ...base,
      description: `${w.kind} ${w.ready} · leaving…`,
      tooltip: `${w.kind} ${w.namespace}/${w.name} (${w.ready} ready)\nleaving the ${intercept.mode}: the workload is being put back; requests to it may be refused until this ends`,
      icon: 'sync~spin',
      intercept,
      contextValue: 'workload-leaving',
    };
  }
  const state = intercept ? ` · ${intercept.mode === 'ingest' ? 'ingested' : 'intercepted'} :${intercept.remotePort}→localhost:${intercept.localPort}` : '';
  return {
    ...base,
    description: `${w.kind} ${w.ready}${state}`,
    tooltip: `${w.kind} ${w.namespace}/${w.name} (${w.ready} ready)${intercept ? `\n${intercept.mode} since ${intercept.since}` : ''}`,
    icon: intercept ? 'debug-alt' : w.kind === 'StatefulSet' ? 'database' : 'server-process',
    ...(intercept ? { iconColor: 'charts.green', intercept } : {}),
    contextValue: intercept ? 'workload-intercepted' : 'workload',
  };
}

function message(id: string, text: string, icon: string | undefined): TreeNode {
  return { id: `msg:${id}`, kind: 'message', label: text, ...(icon ? { icon } : {}), contextValue: 'message', collapsible: 'none', children: [] };
}

/** Index for getParent()/reveal(): node id → parent node. */
export function parentIndex(roots: readonly TreeNode[]): Map<string, TreeNode | undefined> {
  const index = new Map<string, TreeNode | undefined>();
  const walk = (nodes: readonly TreeNode[], parent: TreeNode | undefined) => {
    for (const n of nodes) { index.set(n.id, parent); walk(n.children, n); }
  };
  walk(roots, undefined);
  return index;
}

/** The node a VNAT mapping belongs to: its workload, else its service's namespace. */
export function nodeIdForMapping(m: { workload?: { namespace: string; name: string; kind: string }; service?: { namespace: string; name: string } }, roots: readonly TreeNode[]): string | undefined {
  const index = parentIndex(roots);
  if (m.workload) {
    const id = `wl:${m.workload.namespace}/${m.workload.kind}/${m.workload.name}`;
    if (index.has(id)) return id;
  }
  const ns = m.workload?.namespace ?? m.service?.namespace;
  if (ns) {
    // A service usually fronts the workload of the same name.
    const byName = [...index.keys()].find((id) => id.startsWith(`wl:${ns}/`) && id.endsWith(`/${m.service?.name ?? m.workload?.name}`));
    if (byName) return byName;
    if (index.has(`ns:${ns}`)) return `ns:${ns}`;
  }
  return undefined;
}
