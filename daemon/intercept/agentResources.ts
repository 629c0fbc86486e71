// The cluster objects of an intercept, written as the server's own JSON
// (kubeJson.ts) so that what is restored is exactly what was there:
// - per namespace, the agent's ConfigMap (the relay script) and Secret (the
//   session secret agents accept), created on first use, removed when no
//   workload there carries an agent any more;
// - the workload's pod template (JSON patch: replace the template, and keep
//   the original in an annotation, which `leave`/`uninstall` put back);
// - for numeric target ports, the Service's port (original in an annotation).
import { randomBytes } from 'node:crypto';
import type { V1ConfigMap, V1Secret, V1Service } from '@kubernetes/client-node';
import { JSON_PATCH, pointerSegment, type KubeJson } from '../cluster/kubeJson';
import { MANAGED_BY } from '../cluster/relayManifests';
import { errorCode, errorSummary } from '../cluster/serviceCidr';
import {
  AGENT_CONFIGMAP, AGENT_CONTAINER, AGENT_SECRET, ORIGINAL_TARGET_PORTS_ANNOTATION, ORIGINAL_TEMPLATE_ANNOTATION,
  originalTemplate, redirectServicePorts, restoreServicePorts, type Injection,
} from './agentInjection';
import { permissionText } from './accessReview';
import {
  WORKLOAD_KINDS, collectionPath, isControlledRevision, objectPath, qualifiedResource, type KindInfo, type WorkloadObject,
} from './workloadKinds';

export const AGENT_LABELS = { 'app.kubernetes.io/name': 'tpv-agent', 'app.kubernetes.io/managed-by': MANAGED_BY } as const;
export const AGENT_SELECTOR = `app.kubernetes.io/name=tpv-agent,app.kubernetes.io/managed-by=${MANAGED_BY}`;
export const AGENT_VERSION_ANNOTATION = 'telepresence-vscode.dev/agent-version';

/** Turns an API failure into words: a 403 names the verb and resource the user needs. */
export function apiFailure(e: unknown, verb: string, group: string, resource: string, namespace: string, name?: string): Error {
  const what = `${verb} ${qualifiedResource(group, resource)}`;
  const code = errorCode(e);
  if (code === 403) {
    return new Error(`no permission to ${what}${name ? ` "${name}"` : ''} in namespace "${namespace}": ${errorSummary(e)}. ` +
      `The intercept needs it; ask a cluster admin to grant "${permissionText({ verb, group, resource, why: '' })}" in that namespace.`);
  }
  if (code === undefined) return new Error(`cannot reach the API server to ${what} in namespace "${namespace}": ${errorSummary(e)}`);
  return new Error(`failed to ${what}${name ? ` "${name}"` : ''} in namespace "${namespace}": ${errorSummary(e)}`);
}

async function call<T>(p: Promise<T>, verb: string, group: string, resource: string, namespace: string, name?: string): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw apiFailure(e, verb, group, resource, namespace, name);
  }
}

// ---------------------------------------------------------------- workloads

export interface FoundWorkload {
  kindInfo: KindInfo;
  object: WorkloadObject;
}

/** The workload named `name`: the first kind (Deployment, StatefulSet, ReplicaSet, Rollout) that has it. */
export async function readWorkload(api: KubeJson, namespace: string, name: string): Promise<FoundWorkload> {
  for (const k of WORKLOAD_KINDS) {
    try {
      const object = await api.get<WorkloadObject>(objectPath(k, namespace, name));
      return { kindInfo: k, object };
    } catch (e) {
      if (errorCode(e) === 404) continue;
      if (errorCode(e) === 403) throw apiFailure(e, 'get', k.group, k.resource, namespace, name);
      throw new Error(`cannot read workload ${namespace}/${name}: ${errorSummary(e)}`);
    }
  }
  throw new Error(`no Deployment, StatefulSet, ReplicaSet or Rollout named "${name}" in namespace "${namespace}"; list them with \`kubectl -n ${namespace} get deploy,sts,rs\``);
}

/** Workloads in `namespace` (all namespaces when undefined) whose pod template carries our agent. */
export async function agentWorkloads(api: KubeJson, namespace?: string): Promise<FoundWorkload[]> {
  const out: FoundWorkload[] = [];
  for (const k of WORKLOAD_KINDS) {
    let items: WorkloadObject[];
    try {
      items = (await api.get<{ items?: WorkloadObject[] }>(collectionPath(k, namespace))).items ?? [];
    } catch (e) {
      if (errorCode(e) === 404) continue; // e.g. no Argo Rollouts in this cluster
      throw apiFailure(e, 'list', k.group, k.resource, namespace ?? '(all)');
    }
    for (const object of items) {
      if (isControlledRevision(object)) continue;
      const carries = object.metadata.annotations?.[ORIGINAL_TEMPLATE_ANNOTATION] !== undefined
        || (object.spec?.template?.spec?.containers ?? []).some((c) => c.name === AGENT_CONTAINER);
      if (carries) out.push({ kindInfo: k, object });
    }
  }
  return out;
}

function annotationOps(existing: Record<string, string> | undefined, key: string, value: string | undefined): object[] {
  const path = `/metadata/annotations/${pointerSegment(key)}`;
  if (value !== undefined) return existing ? [{ op: 'add', path, value }] : [{ op: 'add', path: '/metadata/annotations', value: { [key]: value } }];
  if (!existing || !(key in existing)) return [];
  // The last annotation goes with its map, so an object that had none has none again.
  return Object.keys(existing).length === 1 ? [{ op: 'remove', path: '/metadata/annotations' }] : [{ op: 'remove', path }];
}

/** Puts the injected template in place, keeping the original in an annotation (kept if already there). */
export async function patchWorkloadTemplate(api: KubeJson, w: FoundWorkload, injection: Injection): Promise<void> {
  const { kindInfo: k, object } = w;
  const ns = object.metadata.namespace!;
  const name = object.metadata.name!;
  const annotations = object.metadata.annotations;
  const ops = [
    { op: 'replace', path: '/spec/template', value: injection.template },
    // A leftover injection keeps the very first original: that is what leave must restore.
    ...(annotations?.[ORIGINAL_TEMPLATE_ANNOTATION] === undefined ? annotationOps(annotations, ORIGINAL_TEMPLATE_ANNOTATION, injection.annotations[ORIGINAL_TEMPLATE_ANNOTATION]) : []),
  ];
  await call(api.request('PATCH', objectPath(k, ns, name), ops, JSON_PATCH), 'patch', k.group, k.resource, ns, name);
}

/** Restores the original pod template from the annotation; false when the workload carries none. */
export async function restoreWorkloadTemplate(api: KubeJson, k: KindInfo, namespace: string, name: string): Promise<boolean> {
  let object: WorkloadObject;
  try {
    object = await api.get<WorkloadObject>(objectPath(k, namespace, name));
  } catch (e) {
    if (errorCode(e) === 404) return false;
    throw apiFailure(e, 'get', k.group, k.resource, namespace, name);
  }
  const original = originalTemplate(object.metadata.annotations);
  if (!original) return false;
  const ops = [
    { op: 'replace', path: '/spec/template', value: original },
    ...annotationOps(object.metadata.annotations, ORIGINAL_TEMPLATE_ANNOTATION, undefined),
  ];
  await call(api.request('PATCH', objectPath(k, namespace, name), ops, JSON_PATCH), 'patch', k.group, k.resource, namespace, name);
  return true;
}

// ---------------------------------------------------------------- services

export async function listServices(api: KubeJson, namespace: string): Promise<V1Service[]> {
  return (await call(api.get<{ items?: V1Service[] }>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/services`), 'list', '', 'services', namespace)).items ?? [];
}

/** Points numeric target ports at the agent; the original targets go into an annotation (kept if already there). */
export async function redirectService(api: KubeJson, service: V1Service, patch: Injection['servicePatch']): Promise<void> {
  const ns = service.metadata!.namespace!;
  const name = service.metadata!.name!;
  const { ports, annotation } = redirectServicePorts(service, patch);
  const ops = [
    { op: 'replace', path: '/spec/ports', value: ports },
    ...(service.metadata?.annotations?.[ORIGINAL_TARGET_PORTS_ANNOTATION] === undefined ? annotationOps(service.metadata?.annotations, ORIGINAL_TARGET_PORTS_ANNOTATION, annotation) : []),
  ];
  await call(api.request('PATCH', `/api/v1/namespaces/${encodeURIComponent(ns)}/services/${encodeURIComponent(name)}`, ops, JSON_PATCH), 'patch', '', 'services', ns, name);
}

/** Puts the original target ports back; false when the service carries no redirect. */
export async function restoreService(api: KubeJson, namespace: string, name: string): Promise<boolean> {
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}`;
  let service: V1Service;
  try {
    service = await api.get<V1Service>(path);
  } catch (e) {
    if (errorCode(e) === 404) return false;
    throw apiFailure(e, 'get', '', 'services', namespace, name);
  }
  const ports = restoreServicePorts(service);
  if (!ports) return false;
  const ops = [
    { op: 'replace', path: '/spec/ports', value: ports },
    ...annotationOps(service.metadata?.annotations, ORIGINAL_TARGET_PORTS_ANNOTATION, undefined),
  ];
  await call(api.request('PATCH', path, ops, JSON_PATCH), 'patch', '', 'services', namespace, name);
  return true;
}

/** Services (in `namespace`, or all) that still point at an agent. */
export async function redirectedServices(api: KubeJson, namespace?: string): Promise<V1Service[]> {
  const path = namespace === undefined ? '/api/v1/services' : `/api/v1/namespaces/${encodeURIComponent(namespace)}/services`;
  const items = (await call(api.get<{ items?: V1Service[] }>(path), 'list', '', 'services', namespace ?? '(all)')).items ?? [];
  return items.filter((s) => s.metadata?.annotations?.[ORIGINAL_TARGET_PORTS_ANNOTATION] !== undefined);
}

// ---------------------------------------------------------------- ConfigMap and Secret

export interface AgentObjects {
  /** The session secret the namespace's agents accept. */
  secret: string;
  /** What this call created (and a failed intercept must delete again). */
  created: Array<'configmap' | 'secret'>;
}

/** Makes sure the namespace has the agent's script (this version) and a session secret. */
export async function ensureAgentObjects(api: KubeJson, namespace: string, script: string, version: string): Promise<AgentObjects> {
  const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}`;
  const created: AgentObjects['created'] = [];
  let secret: string | undefined;
  try {
    const s = await api.get<V1Secret>(`${base}/secrets/${AGENT_SECRET}`);
    const b64 = s.data?.secret;
    if (b64) secret = Buffer.from(b64, 'base64').toString('utf8');
  } catch (e) {
    if (errorCode(e) !== 404) throw apiFailure(e, 'get', '', 'secrets', namespace, AGENT_SECRET);
  }
  if (secret === undefined) {
    secret = randomBytes(32).toString('base64url');
    const body: V1Secret = {
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      metadata: { name: AGENT_SECRET, namespace, labels: { ...AGENT_LABELS } },
      data: { secret: Buffer.from(secret).toString('base64') },
    };
    try {
      await api.request('POST', `${base}/secrets`, body);
      created.push('secret');
    } catch (e) {
      // 409: a Secret without the key (someone else's?) — replace it rather than guess.
      if (errorCode(e) !== 409) throw apiFailure(e, 'create', '', 'secrets', namespace, AGENT_SECRET);
      await call(api.request('PUT', `${base}/secrets/${AGENT_SECRET}`, body), 'update', '', 'secrets', namespace, AGENT_SECRET);
    }
  }
  const cm: V1ConfigMap = {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: AGENT_CONFIGMAP, namespace, labels: { ...AGENT_LABELS }, annotations: { [AGENT_VERSION_ANNOTATION]: version } },
    data: { 'relay.js': script },
  };
  let current: V1ConfigMap | undefined;
  try {
    current = await api.get<V1ConfigMap>(`${base}/configmaps/${AGENT_CONFIGMAP}`);
  } catch (e) {
    if (errorCode(e) !== 404) throw apiFailure(e, 'get', '', 'configmaps', namespace, AGENT_CONFIGMAP);
  }
  try {
    if (!current) {
      await call(api.request('POST', `${base}/configmaps`, cm), 'create', '', 'configmaps', namespace, AGENT_CONFIGMAP);
      created.push('configmap');
    } else if (current.data?.['relay.js'] !== script) {
      await call(api.request('PUT', `${base}/configmaps/${AGENT_CONFIGMAP}`, { ...cm, metadata: { ...cm.metadata, resourceVersion: current.metadata?.resourceVersion } }), 'update', '', 'configmaps', namespace, AGENT_CONFIGMAP);
    }
  } catch (e) {
    await deleteAgentObjects(api, namespace, created).catch(() => undefined);
    throw e;
  }
  return { secret, created };
}

/** Deletes the named agent objects of a namespace (404 counts as done); returns what went. */
export async function deleteAgentObjects(api: KubeJson, namespace: string, which: ReadonlyArray<'configmap' | 'secret'> = ['configmap', 'secret']): Promise<string[]> {
  const removed: string[] = [];
  for (const w of which) {
    const resource = w === 'configmap' ? 'configmaps' : 'secrets';
    const name = w === 'configmap' ? AGENT_CONFIGMAP : AGENT_SECRET;
    try {
      await api.request('DELETE', `/api/v1/namespaces/${encodeURIComponent(namespace)}/${resource}/${name}`);
      removed.push(`${w} ${namespace}/${name}`);
    } catch (e) {
      if (errorCode(e) !== 404) throw apiFailure(e, 'delete', '', resource, namespace, name);
    }
  }
  return removed;
}

/** Removes the namespace's agent ConfigMap and Secret once no workload there carries an agent. */
export async function removeAgentObjectsIfUnused(api: KubeJson, namespace: string): Promise<string[]> {
  const users = await agentWorkloads(api, namespace);
  if (users.length > 0) return [];
  return deleteAgentObjects(api, namespace);
}

/** Namespaces (of those visible) holding our agent ConfigMap or Secret. */
export async function namespacesWithAgentObjects(api: KubeJson): Promise<string[]> {
  const out = new Set<string>();
  for (const resource of ['configmaps', 'secrets']) {
    const items = (await call(api.get<{ items?: Array<{ metadata?: { namespace?: string } }> }>(`/api/v1/${resource}?labelSelector=${encodeURIComponent(AGENT_SELECTOR)}`), 'list', '', resource, '(all)')).items ?? [];
    for (const i of items) if (i.metadata?.namespace) out.add(i.metadata.namespace);
  }
  return [...out].sort();
}
