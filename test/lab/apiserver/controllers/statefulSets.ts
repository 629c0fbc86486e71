// StatefulSet → pods `<sts>-<ordinal>` with stable hostnames under the
// governing service. OrderedReady creates one pod at a time and waits for it
// to be ready (Parallel does not wait); a changed template replaces pods from
// the highest ordinal down, one at a time, once all are ready.
import { isActivePod, isControlledBy, isPodReady, templateHash, type KubeObject } from '../objects';
import type { Registry } from '../registry';
import type { Controller } from './controller';
import { podFromTemplate, setStatusIfChanged } from './podTemplate';

const REVISION_LABEL = 'controller-revision-hash';

export class StatefulSetController implements Controller {
  readonly name = 'statefulset';

  reconcile(registry: Registry): void {
    const podsType = registry.type('', 'pods');
    for (const sts of registry.list(registry.type('apps', 'statefulsets'))) {
      if (sts.metadata.deletionTimestamp) continue;
      const ns = sts.metadata.namespace;
      const revision = `${sts.metadata.name}-${templateHash(sts.spec.template)}`;
      const want = sts.spec.replicas ?? 1;
      const ordered = sts.spec.podManagementPolicy !== 'Parallel';
      const mine = registry.list(podsType, ns).filter((p) => isControlledBy(p, sts));
      const byOrdinal = new Map<number, KubeObject>();
      for (const p of mine) {
        const ordinal = Number(p.metadata.name.slice(sts.metadata.name.length + 1));
        if (Number.isInteger(ordinal)) byOrdinal.set(ordinal, p);
      }
      let blocked = false;
      for (let i = 0; i < want && !blocked; i++) {
        const existing = byOrdinal.get(i);
        if (!existing) {
          const name = `${sts.metadata.name}-${i}`;
          if (registry.find(podsType, ns, name)) { blocked = ordered; continue; } // the previous incarnation is still terminating
          const pod = podFromTemplate(sts, name, {
            [REVISION_LABEL]: revision, 'statefulset.kubernetes.io/pod-name': name, 'apps.kubernetes.io/pod-index': String(i),
          }, { hostname: name, ...(sts.spec.serviceName ? { subdomain: sts.spec.serviceName } : {}) });
          byOrdinal.set(i, registry.create(podsType, ns, pod));
          if (ordered) blocked = true;
        } else if (ordered && (!isActivePod(existing) || !isPodReady(existing))) {
          blocked = true;
        }
      }
      // Scale down from the highest ordinal.
      for (const [i, p] of [...byOrdinal].sort((a, b) => b[0] - a[0])) {
        if (i < want || p.metadata.deletionTimestamp) continue;
        registry.delete(podsType, ns, p.metadata.name, {});
        if (ordered) break;
      }
      const active = [...byOrdinal.values()].filter(isActivePod);
      const allReady = active.length === want && active.every(isPodReady);
      if (allReady) {
        const outdated = active.filter((p) => p.metadata.labels?.[REVISION_LABEL] !== revision).sort((a, b) => b.metadata.name.localeCompare(a.metadata.name, undefined, { numeric: true }));
        if (outdated[0]) registry.delete(podsType, ns, outdated[0].metadata.name, {});
      }
      const updated = active.filter((p) => p.metadata.labels?.[REVISION_LABEL] === revision).length;
      setStatusIfChanged(registry, 'statefulsets', sts, {
        observedGeneration: sts.metadata.generation ?? 1,
        replicas: active.length,
        readyReplicas: active.filter(isPodReady).length,
        availableReplicas: active.filter(isPodReady).length,
        currentReplicas: updated === active.length ? active.length : active.length - updated,
        updatedReplicas: updated,
        currentRevision: updated === active.length && active.length === want ? revision : (sts.status?.currentRevision ?? revision),
        updateRevision: revision,
        collisionCount: 0,
      });
    }
  }
}
