// Per-kind behaviour on create and update, as the real registries' strategies
// implement it: defaulting, validation, server-allocated fields (ClusterIP,
// node ports), and what an update may not change.
import { badRequest, invalid } from './apiStatus';
import type { ClusterIpAllocator } from './clusterIpAllocator';
import type { KubeObject } from './objects';

export interface StrategyContext {
  allocator: ClusterIpAllocator;
  /** ClusterIPs in use by other services. */
  takenClusterIps(): Set<string>;
  takenNodePorts(): Set<number>;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- defaulting walks client-sent bodies */
function defaultContainer(c: any): void {
  c.imagePullPolicy ??= typeof c.image === 'string' && (c.image.endsWith(':latest') || !c.image.includes(':')) ? 'Always' : 'IfNotPresent';
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.resources ??= {};
  for (const p of c.ports ?? []) p.protocol ??= 'TCP';
}

export function defaultPodSpec(spec: any): void {
  if (!spec) return;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.serviceAccountName ??= spec.serviceAccount ?? 'default';
  spec.serviceAccount ??= spec.serviceAccountName;
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  for (const c of spec.containers ?? []) defaultContainer(c);
  for (const c of spec.initContainers ?? []) defaultContainer(c);
}

function validatePodSpec(kind: string, name: string, spec: any, field: string): void {
  if (!spec || !Array.isArray(spec.containers) || spec.containers.length === 0) throw invalid(kind, kind === 'Pod' ? '' : 'apps', name, [{ field: `${field}.containers`, message: 'Required value' }]);
  for (const [i, c] of spec.containers.entries()) {
    if (!c.name) throw invalid(kind, '', name, [{ field: `${field}.containers[${i}].name`, message: 'Required value' }]);
    if (!c.image) throw invalid(kind, '', name, [{ field: `${field}.containers[${i}].image`, message: 'Required value' }]);
  }
}

function defaultWorkload(o: KubeObject): void {
  o.spec ??= {};
  o.spec.replicas ??= 1;
  o.spec.revisionHistoryLimit ??= 10;
  o.spec.template ??= {};
  o.spec.template.metadata ??= {};
  defaultPodSpec(o.spec.template.spec);
  if (o.kind === 'Deployment') {
    o.spec.progressDeadlineSeconds ??= 600;
    // `kubectl create deployment` sends `strategy: {}`: an empty type means RollingUpdate too.
    o.spec.strategy ??= {};
    o.spec.strategy.type ||= 'RollingUpdate';
    if (o.spec.strategy.type === 'RollingUpdate') o.spec.strategy.rollingUpdate = { maxSurge: '25%', maxUnavailable: '25%', ...o.spec.strategy.rollingUpdate };
  }
  if (o.kind === 'StatefulSet') {
    o.spec.podManagementPolicy ??= 'OrderedReady';
    o.spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
  }
}

function validateWorkload(o: KubeObject): void {
  const name = o.metadata.name;
  const sel = o.spec?.selector;
  if (!sel || (!sel.matchLabels && !sel.matchExpressions)) throw invalid(o.kind, 'apps', name, [{ field: 'spec.selector', message: 'Required value' }]);
  const labels: Record<string, string> = o.spec.template?.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    if (labels[k] !== v) throw invalid(o.kind, 'apps', name, [{ field: 'spec.template.metadata.labels', value: labels, message: '`selector` does not match template `labels`' }]);
  }
  validatePodSpec(o.kind, name, o.spec.template?.spec, 'spec.template.spec');
}

function allocateNodePorts(o: KubeObject, ctx: StrategyContext, old?: KubeObject): void {
  if (o.spec.type !== 'NodePort' && o.spec.type !== 'LoadBalancer') return;
  const taken = ctx.takenNodePorts();
  let next = 30000;
  for (const p of o.spec.ports ?? []) {
    const prev = (old?.spec?.ports ?? []).find((q: any) => q.port === p.port && q.protocol === p.protocol);
    if (p.nodePort === undefined && prev?.nodePort) p.nodePort = prev.nodePort;
    if (p.nodePort !== undefined) continue;
    while (taken.has(next)) next++;
    if (next > 32767) throw invalid('Service', '', o.metadata.name, [{ field: 'spec.ports', message: 'failed to allocate a nodePort: range is full' }]);
    p.nodePort = next;
    taken.add(next);
  }
}

function prepareService(o: KubeObject, ctx: StrategyContext, old?: KubeObject): void {
  const spec = (o.spec ??= {});
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  spec.internalTrafficPolicy ??= 'Cluster';
  spec.ipFamilies ??= ['IPv4'];
  spec.ipFamilyPolicy ??= 'SingleStack';
  if (spec.type !== 'ExternalName' && (!Array.isArray(spec.ports) || spec.ports.length === 0)) {
    throw invalid('Service', '', o.metadata.name, [{ field: 'spec.ports', message: 'Required value' }]);
  }
  for (const [i, p] of (spec.ports ?? []).entries()) {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) throw invalid('Service', '', o.metadata.name, [{ field: `spec.ports[${i}].port`, value: p.port, message: 'must be between 1 and 65535, inclusive' }]);
    p.protocol ??= 'TCP';
    p.targetPort ??= p.port;
  }
  if (spec.type === 'ExternalName') return;
  // An update that omits the address keeps the allocated one, as the real registry does.
  if (old && (spec.clusterIP === undefined || spec.clusterIP === '')) spec.clusterIP = old.spec?.clusterIP;
  if (old && spec.clusterIP !== old.spec?.clusterIP) {
    throw invalid('Service', '', o.metadata.name, [{ field: 'spec.clusterIPs[0]', value: spec.clusterIP, message: 'may not change once set' }]);
  }
  if (spec.clusterIP === 'None') {
    spec.clusterIPs = ['None'];
  } else if (!old) {
    const taken = ctx.takenClusterIps();
    if (spec.clusterIP) ctx.allocator.validateRequested(o.metadata.name, spec.clusterIP, taken);
    else spec.clusterIP = ctx.allocator.allocate(o.metadata.name, taken);
    spec.clusterIPs = [spec.clusterIP];
  } else {
    spec.clusterIPs = [spec.clusterIP];
  }
  allocateNodePorts(o, ctx, old);
  o.status ??= { loadBalancer: {} };
}

function prepareSecret(o: KubeObject): void {
  o.type ??= 'Opaque';
  if (o.stringData && typeof o.stringData === 'object') {
    o.data = { ...(o.data ?? {}) };
    for (const [k, v] of Object.entries(o.stringData as Record<string, string>)) o.data[k] = Buffer.from(String(v), 'utf8').toString('base64');
    delete o.stringData;
  }
  for (const [k, v] of Object.entries((o.data ?? {}) as Record<string, unknown>)) {
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw badRequest(`Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 0 (key ${k})`);
  }
}

/** Fills defaults and validates `o` before it is stored; `old` is the stored version on update. */
export function prepareForStorage(o: KubeObject, ctx: StrategyContext, old?: KubeObject): void {
  switch (o.kind) {
    case 'Pod':
      defaultPodSpec(o.spec);
      validatePodSpec('Pod', o.metadata.name, o.spec, 'spec');
      if (!old) o.status = { phase: 'Pending', qosClass: 'BestEffort', ...o.status };
      break;
    case 'Service': prepareService(o, ctx, old); break;
    case 'Secret': prepareSecret(o); break;
    case 'Deployment': case 'ReplicaSet': case 'StatefulSet':
      defaultWorkload(o);
      validateWorkload(o);
      break;
    case 'Namespace':
      o.metadata.labels = { ...o.metadata.labels, 'kubernetes.io/metadata.name': o.metadata.name };
      o.spec = { finalizers: ['kubernetes'], ...o.spec };
      if (!old) o.status = { phase: 'Active' };
      break;
    case 'EndpointSlice':
      o.addressType ??= 'IPv4';
      break;
    default: break;
  }
}

/** Kinds whose metadata.generation tracks spec changes. */
export function tracksGeneration(kind: string): boolean {
  return ['Deployment', 'ReplicaSet', 'StatefulSet', 'Pod', 'Service'].includes(kind);
}
/* eslint-enable @typescript-eslint/no-explicit-any */
