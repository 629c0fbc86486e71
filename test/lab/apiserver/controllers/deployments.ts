// Deployment → ReplicaSets: one ReplicaSet per template (named
// `<deploy>-<pod-template-hash>`, labelled with the hash, annotated with the
// revision). A changed template gets a new ReplicaSet and a rolling update
// scales the old ones to 0 (Recreate: old first). Status and the
// Available/Progressing conditions are what `kubectl rollout status` reads.
import { canonicalJson, controllerRef, deepCopy, isControlledBy, templateHash, type KubeObject } from '../objects';
import type { Registry } from '../registry';
import type { Controller } from './controller';
import { activePodsOf, setStatusIfChanged } from './podTemplate';
import { newReplicaSetTarget, oldReplicasToRemove, surgeAndUnavailable } from './rollout';

const REVISION = 'deployment.kubernetes.io/revision';
const HASH_LABEL = 'pod-template-hash';

function stamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

/** The template without the hash label, so a ReplicaSet's template compares equal to the deployment's. */
function comparableTemplate(template: KubeObject['spec']): unknown {
  const t = deepCopy(template ?? {});
  if (t.metadata?.labels) delete t.metadata.labels[HASH_LABEL];
  return t;
}

export class DeploymentController implements Controller {
  readonly name = 'deployment';

  reconcile(registry: Registry): void {
    const rsType = registry.type('apps', 'replicasets');
    for (const d of registry.list(registry.type('apps', 'deployments'))) {
      if (d.metadata.deletionTimestamp) continue;
      const owned = registry.list(rsType, d.metadata.namespace).filter((rs) => isControlledBy(rs, d));
      const wanted = canonicalJson(comparableTemplate(d.spec.template));
      let newRs = owned.find((rs) => canonicalJson(comparableTemplate(rs.spec.template)) === wanted);
      const maxRevision = Math.max(0, ...owned.map((rs) => Number(rs.metadata.annotations?.[REVISION] ?? 0)));
      const desired = d.spec.replicas ?? 1;
      const { maxSurge, maxUnavailable } = surgeAndUnavailable(desired, d.spec.strategy?.rollingUpdate);
      const recreate = d.spec.strategy?.type === 'Recreate';
      const old = owned.filter((rs) => rs !== newRs);

      if (!newRs) {
        const hash = templateHash(comparableTemplate(d.spec.template));
        const template = deepCopy(d.spec.template);
        template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [HASH_LABEL]: hash } };
        newRs = registry.create(rsType, d.metadata.namespace, {
          apiVersion: 'apps/v1', kind: 'ReplicaSet',
          metadata: {
            name: `${d.metadata.name}-${hash}`,
            labels: { ...template.metadata.labels },
            annotations: { [REVISION]: String(maxRevision + 1), 'deployment.kubernetes.io/desired-replicas': String(desired), 'deployment.kubernetes.io/max-replicas': String(desired + maxSurge) },
            ownerReferences: [controllerRef(d)],
          },
          spec: {
            replicas: 0, minReadySeconds: d.spec.minReadySeconds ?? 0,
            selector: { ...d.spec.selector, matchLabels: { ...d.spec.selector?.matchLabels, [HASH_LABEL]: hash } },
            template,
          },
        });
      } else if (Number(newRs.metadata.annotations?.[REVISION] ?? 0) < maxRevision) {
        // A rollback to an earlier template makes that ReplicaSet the newest revision again.
        newRs.metadata.annotations = { ...newRs.metadata.annotations, [REVISION]: String(maxRevision + 1) };
        newRs = registry.write(rsType, newRs);
      }

      const scale = (rs: KubeObject, replicas: number) => {
        if (rs.spec.replicas === replicas) return;
        rs.spec.replicas = replicas;
        rs.metadata.generation = (rs.metadata.generation ?? 1) + 1;
        rs.metadata.annotations = { ...rs.metadata.annotations, 'deployment.kubernetes.io/desired-replicas': String(desired) };
        registry.write(rsType, rs);
      };
      if (!d.spec.paused) {
        const oldReplicas = old.reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0);
        if (recreate) {
          for (const rs of old) scale(rs, 0);
          const oldPods = old.reduce((n, rs) => n + activePodsOf(registry, rs).length, 0);
          if (oldPods === 0) scale(newRs, desired);
        } else {
          const total = (newRs.spec.replicas ?? 0) + oldReplicas;
          scale(newRs, newReplicaSetTarget(desired, newRs.spec.replicas ?? 0, total, maxSurge));
          if (newRs.spec.replicas > desired) scale(newRs, desired);
          const available = [newRs, ...old].reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0);
          const oldAvailable = old.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0);
          let remove = oldReplicasToRemove(desired, maxUnavailable, available, oldReplicas, oldAvailable);
          // Oldest first.
          for (const rs of [...old].sort((a, b) => Number(a.metadata.annotations?.[REVISION] ?? 0) - Number(b.metadata.annotations?.[REVISION] ?? 0))) {
            if (remove <= 0) break;
            const cut = Math.min(remove, rs.spec.replicas ?? 0);
            if (cut > 0) scale(rs, (rs.spec.replicas ?? 0) - cut);
            remove -= cut;
          }
        }
        this.pruneHistory(registry, d, old);
      }
      this.updateStatus(registry, d, newRs, old, maxUnavailable);
    }
  }

  private pruneHistory(registry: Registry, d: KubeObject, old: KubeObject[]): void {
    const limit = d.spec.revisionHistoryLimit ?? 10;
    const idle = old.filter((rs) => (rs.spec.replicas ?? 0) === 0 && (rs.status?.replicas ?? 0) === 0)
      .sort((a, b) => Number(a.metadata.annotations?.[REVISION] ?? 0) - Number(b.metadata.annotations?.[REVISION] ?? 0));
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      try { registry.delete(registry.type('apps', 'replicasets'), rs.metadata.namespace, rs.metadata.name, {}); } catch { /* gone */ }
    }
  }

  private updateStatus(registry: Registry, d: KubeObject, newRs: KubeObject, old: KubeObject[], maxUnavailable: number): void {
    const all = [newRs, ...old];
    const sum = (f: (rs: KubeObject) => number) => all.reduce((n, rs) => n + f(rs), 0);
    const desired = d.spec.replicas ?? 1;
    const replicas = sum((rs) => rs.status?.replicas ?? 0);
    const updated = newRs.status?.replicas ?? 0;
    const ready = sum((rs) => rs.status?.readyReplicas ?? 0);
    const available = sum((rs) => rs.status?.availableReplicas ?? 0);
    const complete = updated === desired && replicas === desired && available === desired && (newRs.spec.replicas ?? 0) === desired;
    const prev = (d.status?.conditions ?? []) as Array<{ type: string; status: string; reason: string; lastTransitionTime: string; lastUpdateTime: string; message: string }>;
    const condition = (type: string, status: string, reason: string, message: string) => {
      const before = prev.find((c) => c.type === type);
      const same = before && before.status === status && before.reason === reason;
      return { type, status, lastUpdateTime: same ? before.lastUpdateTime : stamp(), lastTransitionTime: before && before.status === status ? before.lastTransitionTime : stamp(), reason, message };
    };
    const isAvailable = available >= desired - maxUnavailable;
    const conditions = [
      condition('Available', isAvailable ? 'True' : 'False', isAvailable ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', isAvailable ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.'),
      complete
        ? condition('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${newRs.metadata.name}" has successfully progressed.`)
        : condition('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${newRs.metadata.name}" is progressing.`),
    ];
    const revision = newRs.metadata.annotations?.[REVISION];
    if (revision && d.metadata.annotations?.[REVISION] !== revision) {
      d.metadata.annotations = { ...d.metadata.annotations, [REVISION]: revision };
      d = registry.write(registry.type('apps', 'deployments'), d);
    }
    setStatusIfChanged(registry, 'deployments', d, {
      observedGeneration: d.metadata.generation ?? 1,
      replicas, updatedReplicas: updated, readyReplicas: ready, availableReplicas: available,
      unavailableReplicas: Math.max(0, desired - available) || undefined,
      conditions,
    });
  }
}
