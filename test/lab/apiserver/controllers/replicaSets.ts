// ReplicaSet → pods named `<rs>-<5 chars>`: creates missing replicas,
// deletes surplus ones (not-ready and newest first), and reports
// replicas/readyReplicas/availableReplicas/observedGeneration.
import { isPodReady, randomSuffix, type KubeObject } from '../objects';
import type { Registry } from '../registry';
import type { Controller } from './controller';
import { activePodsOf, isPodAvailable, podFromTemplate, setStatusIfChanged } from './podTemplate';

export class ReplicaSetController implements Controller {
  readonly name = 'replicaset';

  reconcile(registry: Registry): void {
    const podsType = registry.type('', 'pods');
    for (const rs of registry.list(registry.type('apps', 'replicasets'))) {
      if (rs.metadata.deletionTimestamp) continue;
      let pods = activePodsOf(registry, rs);
      const want = rs.spec.replicas ?? 1;
      for (let i = pods.length; i < want; i++) {
        let name = `${rs.metadata.name}-${randomSuffix()}`;
        while (registry.find(podsType, rs.metadata.namespace, name)) name = `${rs.metadata.name}-${randomSuffix()}`;
        pods.push(registry.create(podsType, rs.metadata.namespace, podFromTemplate(rs, name)));
      }
      if (pods.length > want) {
        const doomed = [...pods].sort(deletionOrder).slice(0, pods.length - want);
        for (const p of doomed) {
          try { registry.delete(podsType, p.metadata.namespace, p.metadata.name, {}); } catch { /* already gone */ }
        }
        pods = activePodsOf(registry, rs);
      }
      const minReady = rs.spec.minReadySeconds ?? 0;
      const labels = rs.spec.template?.metadata?.labels ?? {};
      setStatusIfChanged(registry, 'replicasets', rs, {
        replicas: pods.length,
        fullyLabeledReplicas: pods.filter((p) => Object.entries(labels).every(([k, v]) => p.metadata.labels?.[k] === v)).length,
        readyReplicas: pods.filter(isPodReady).length,
        availableReplicas: pods.filter((p) => isPodAvailable(p, minReady)).length,
        observedGeneration: rs.metadata.generation ?? 1,
      });
    }
  }
}

/** Unscheduled, then not ready, then newest: the pods a scale-down removes first. */
function deletionOrder(a: KubeObject, b: KubeObject): number {
  const rank = (p: KubeObject) => (p.spec?.nodeName ? 0 : 2) + (isPodReady(p) ? 0 : 1);
  return rank(b) - rank(a) || b.metadata.creationTimestamp.localeCompare(a.metadata.creationTimestamp);
}
