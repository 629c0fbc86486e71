// A pod from a workload's template: the template's labels AND annotations,
// its spec, and a controller owner reference.
import { controllerRef, deepCopy, isActivePod, isControlledBy, isPodReady, type KubeObject, type NewObject } from '../objects';
import type { Registry } from '../registry';

export function podFromTemplate(owner: KubeObject, name: string, extraLabels: Record<string, string> = {}, specOverrides: Record<string, unknown> = {}): NewObject {
  const template = owner.spec.template ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: owner.metadata.namespace,
      labels: { ...(template.metadata?.labels ?? {}), ...extraLabels },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [controllerRef(owner)],
    },
    spec: { ...deepCopy(template.spec ?? {}), ...specOverrides },
  };
}

/** Pods a workload controls, active ones only. */
export function activePodsOf(registry: Registry, owner: KubeObject): KubeObject[] {
  return registry.list(registry.type('', 'pods'), owner.metadata.namespace).filter((p) => isControlledBy(p, owner) && isActivePod(p));
}

/** Ready for at least `minReadySeconds`. */
export function isPodAvailable(pod: KubeObject, minReadySeconds: number, now = Date.now()): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const ready = ((pod.status?.conditions ?? []) as Array<{ type: string; lastTransitionTime?: string }>).find((c) => c.type === 'Ready');
  return !!ready?.lastTransitionTime && now - Date.parse(ready.lastTransitionTime) >= minReadySeconds * 1000;
}

export function setStatusIfChanged(registry: Registry, plural: string, o: KubeObject, status: Record<string, unknown>): void {
  const next = { ...(o.status ?? {}), ...status };
  if (JSON.stringify(next) === JSON.stringify(o.status ?? {})) return;
  o.status = next;
  registry.write(registry.type('apps', plural), o);
}
