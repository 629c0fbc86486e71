// Binds unscheduled pods to a node: the first Ready node with the fewest
// pods, as a one-node lab's scheduler trivially would.
import type { Registry } from '../registry';
import type { Controller } from './controller';

export class Scheduler implements Controller {
  readonly name = 'scheduler';

  reconcile(registry: Registry): void {
    const podsType = registry.type('', 'pods');
    const pods = registry.list(podsType);
    const pending = pods.filter((p) => !p.spec?.nodeName && !p.metadata.deletionTimestamp);
    if (pending.length === 0) return;
    const nodes = registry.list(registry.type('', 'nodes')).filter((n) => !n.spec?.unschedulable);
    if (nodes.length === 0) return;
    const load = new Map(nodes.map((n) => [n.metadata.name, pods.filter((p) => p.spec?.nodeName === n.metadata.name).length]));
    for (const pod of pending) {
      const node = [...load].sort((a, b) => a[1] - b[1])[0]![0];
      load.set(node, load.get(node)! + 1);
      pod.spec.nodeName = node;
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      pod.status = { ...pod.status, conditions: [...(pod.status?.conditions ?? []).filter((c: { type: string }) => c.type !== 'PodScheduled'), { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now }] };
      registry.write(podsType, pod);
    }
  }
}
