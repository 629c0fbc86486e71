// Which cluster objects the tree lists as workloads: Deployments,
// StatefulSets, Argo Rollouts, and ReplicaSets that nothing owns (those a
// Deployment owns are listed through their Deployment). Pure.

export type WorkloadKind = 'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'Rollout';

export interface WorkloadSummary {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  /** ready/desired replicas as shown in `kubectl get`. */
  ready: string;
}

/** The shape shared by every workload object that the tree reads. */
export interface WorkloadObject {
  metadata?: { name?: string; namespace?: string; ownerReferences?: Array<{ kind?: string; name?: string; controller?: boolean }> };
  spec?: { replicas?: number };
  status?: { readyReplicas?: number; replicas?: number };
}

export function toWorkloads(kind: WorkloadKind, objects: readonly WorkloadObject[]): WorkloadSummary[] {
  const out: WorkloadSummary[] = [];
  for (const o of objects) {
    const name = o.metadata?.name;
    const namespace = o.metadata?.namespace;
    if (!name || !namespace) continue;
    if (kind === 'ReplicaSet' && (o.metadata?.ownerReferences?.length ?? 0) > 0) continue;
    out.push({ kind, namespace, name, ready: `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? o.status?.replicas ?? 0}` });
  }
  return out;
}

export function sortWorkloads(list: readonly WorkloadSummary[]): WorkloadSummary[] {
  return [...list].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name) || a.kind.localeCompare(b.kind));
}
