// Background cascading deletion: an object whose owners are all gone is
// deleted (pods then terminate gracefully through the registry). Namespaces
// being deleted are emptied, then removed once nothing is left in them.
import type { KubeObject } from '../objects';
import { RESOURCE_TYPES } from '../resources';
import type { Registry } from '../registry';
import type { Controller } from './controller';

export class GarbageCollector implements Controller {
  readonly name = 'garbage-collector';

  reconcile(registry: Registry): void {
    const stored = RESOURCE_TYPES.filter((r) => !r.createOnly);
    const uids = new Set<string>();
    const all: Array<[typeof stored[number], KubeObject]> = [];
    for (const r of stored) for (const o of registry.list(r)) { uids.add(o.metadata.uid); all.push([r, o]); }
    for (const [r, o] of all) {
      const refs = o.metadata.ownerReferences ?? [];
      if (refs.length === 0 || o.metadata.deletionTimestamp) continue;
      if (refs.every((ref) => !uids.has(ref.uid))) {
        try { registry.delete(r, o.metadata.namespace, o.metadata.name, { propagationPolicy: 'Background' }); } catch { /* raced with another delete */ }
      }
    }
    const nsType = registry.type('', 'namespaces');
    for (const ns of registry.list(nsType)) {
      if (!ns.metadata.deletionTimestamp) continue;
      let left = 0;
      for (const r of stored) {
        if (!r.namespaced) continue;
        for (const o of registry.list(r, ns.metadata.name)) {
          left++;
          if (!o.metadata.deletionTimestamp) {
            try { registry.delete(r, o.metadata.namespace, o.metadata.name, {}); } catch { /* already gone */ }
          }
        }
      }
      if (left === 0) registry.finalizeNamespace(ns.metadata.name);
    }
  }
}
