// The workload kinds an agent can be injected into, with the API paths and
// RBAC names the daemon uses for them. Pure.
import type { V1LabelSelector, V1ObjectMeta, V1PodTemplateSpec } from '@kubernetes/client-node';

export type InterceptableKind = 'Deployment' | 'StatefulSet' | 'ReplicaSet' | 'Rollout';

export interface KindInfo {
  kind: InterceptableKind;
  group: string;
  version: string;
  /** Plural resource name, as RBAC spells it. */
  resource: string;
}

/** In lookup order: a name is taken to mean the first kind that has it. */
export const WORKLOAD_KINDS: readonly KindInfo[] = [
  { kind: 'Deployment', group: 'apps', version: 'v1', resource: 'deployments' },
  { kind: 'StatefulSet', group: 'apps', version: 'v1', resource: 'statefulsets' },
  { kind: 'ReplicaSet', group: 'apps', version: 'v1', resource: 'replicasets' },
  // Argo Rollouts: a CRD, absent from most clusters (404 on the collection is "not this kind").
  { kind: 'Rollout', group: 'argoproj.io', version: 'v1alpha1', resource: 'rollouts' },
];

/** The server's JSON of a workload: only the fields used here are typed. */
export interface WorkloadObject {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec?: { selector?: V1LabelSelector; template?: V1PodTemplateSpec; replicas?: number };
}

export function collectionPath(k: KindInfo, namespace?: string): string {
  const ns = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  return `/apis/${k.group}/${k.version}${ns}/${k.resource}`;
}

export function objectPath(k: KindInfo, namespace: string, name: string): string {
  return `${collectionPath(k, namespace)}/${encodeURIComponent(name)}`;
}

/** `deployments.apps`, as RBAC errors and `kubectl auth can-i` spell a resource. */
export function qualifiedResource(group: string, resource: string): string {
  return group ? `${resource}.${group}` : resource;
}

/**
 * A ReplicaSet controlled by a Deployment (or Rollout) is that owner's
 * revision history: never a workload of its own here.
 */
export function isControlledRevision(o: WorkloadObject): boolean {
  return (o.metadata.ownerReferences ?? []).some((r) => r.controller);
}
