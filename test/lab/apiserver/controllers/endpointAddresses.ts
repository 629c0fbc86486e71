// Which pods back a service and on which ports (named targetPorts resolved
// per pod), as both the Endpoints and the EndpointSlice controllers see it.
// Pure, so it is unit tested.
import { isPodReady, type KubeObject } from '../objects';
import { matchesRequirements } from '../selectors';

export interface ServicePortRef { name?: string; port: number; targetPort?: number | string; protocol?: string }
export interface ResolvedPort { name?: string; port: number; protocol: string }
export interface Backend { pod: KubeObject; ready: boolean; ports: ResolvedPort[] }

export function resolveTargetPort(pod: KubeObject, sp: ServicePortRef): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of (pod.spec?.containers ?? []) as Array<{ ports?: Array<{ name?: string; containerPort: number; protocol?: string }> }>) {
    const p = (c.ports ?? []).find((q) => q.name === target && (q.protocol ?? 'TCP') === (sp.protocol ?? 'TCP'));
    if (p) return p.containerPort;
  }
  return undefined;
}

/** Pods selected by `service` that have an IP and are not terminating, with their resolved ports. */
export function backendsOf(service: KubeObject, pods: KubeObject[]): Backend[] {
  const selector = service.spec?.selector as Record<string, string> | undefined;
  if (!selector || Object.keys(selector).length === 0) return [];
  const reqs = Object.entries(selector).map(([key, value]) => ({ key, op: 'eq' as const, value }));
  const publishNotReady = !!service.spec?.publishNotReadyAddresses;
  const out: Backend[] = [];
  for (const pod of pods) {
    if (pod.metadata.namespace !== service.metadata.namespace || !matchesRequirements(pod.metadata.labels, reqs)) continue;
    if (!pod.status?.podIP || pod.metadata.deletionTimestamp || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
    const ports: ResolvedPort[] = [];
    for (const sp of (service.spec?.ports ?? []) as ServicePortRef[]) {
      const port = resolveTargetPort(pod, sp);
      if (port !== undefined) ports.push({ ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol ?? 'TCP' });
    }
    out.push({ pod, ready: publishNotReady || isPodReady(pod), ports });
  }
  return out.sort((a, b) => a.pod.metadata.name.localeCompare(b.pod.metadata.name));
}

function address(service: KubeObject, pod: KubeObject): Record<string, unknown> {
  const hostname = pod.spec?.hostname && pod.spec?.subdomain === service.metadata.name ? { hostname: pod.spec.hostname } : {};
  return {
    ip: pod.status.podIP, ...hostname, nodeName: pod.spec?.nodeName,
    targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
  };
}

/** Endpoints subsets: pods grouped by identical resolved ports, ready ones in `addresses`. */
export function endpointSubsets(service: KubeObject, backends: Backend[]): Array<Record<string, unknown>> {
  const groups = new Map<string, { ports: ResolvedPort[]; ready: Backend[]; notReady: Backend[] }>();
  for (const b of backends) {
    if (b.ports.length === 0) continue;
    const key = JSON.stringify(b.ports);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports: b.ports, ready: [], notReady: [] }));
    (b.ready ? g.ready : g.notReady).push(b);
  }
  return [...groups.values()].map((g) => ({
    ...(g.ready.length ? { addresses: g.ready.map((b) => address(service, b.pod)) } : {}),
    ...(g.notReady.length ? { notReadyAddresses: g.notReady.map((b) => address(service, b.pod)) } : {}),
    ports: g.ports,
  }));
}

/** EndpointSlice endpoints and ports (one slice per service in the lab; ports of the first backend). */
export function sliceContent(service: KubeObject, backends: Backend[]): { endpoints: Array<Record<string, unknown>>; ports: ResolvedPort[] } {
  const withPorts = backends.filter((b) => b.ports.length > 0);
  return {
    endpoints: withPorts.map((b) => {
      const a = address(service, b.pod);
      return {
        addresses: [a.ip], conditions: { ready: b.ready, serving: b.ready, terminating: false },
        ...(a.hostname ? { hostname: a.hostname } : {}), nodeName: a.nodeName, targetRef: a.targetRef,
      };
    }),
    ports: withPorts[0]?.ports ?? ((service.spec?.ports ?? []) as ServicePortRef[]).filter((p) => typeof (p.targetPort ?? p.port) === 'number').map((p) => ({ ...(p.name ? { name: p.name } : {}), port: Number(p.targetPort ?? p.port), protocol: p.protocol ?? 'TCP' })),
  };
}
