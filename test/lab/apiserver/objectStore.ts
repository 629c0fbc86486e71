// Storage with one global, monotonically increasing resourceVersion (like
// etcd's revision) and a bounded event history (like the API server's watch
// cache), so a watch can resume from any recent resourceVersion and an older
// one gets 410 Gone. The objects and the revision are etcd's and outlive an
// API server restart; the history is the API server process's and does not.
import type { KubeObject } from './objects';
import { deepCopy } from './objects';
import type { ResourceType } from './resources';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  resource: ResourceType;
  object: KubeObject;
  /** The object before the change (MODIFIED/DELETED). */
  old?: KubeObject;
  rv: number;
}

export type StoreListener = (e: StoreEvent) => void;

export class ResourceVersionTooOld extends Error {
  /** `horizon`: the oldest revision a watch may still start from (what the real server prints in parentheses). */
  constructor(readonly requested: number, readonly horizon: number) {
    super(`too old resource version: ${requested} (${horizon})`);
  }
}

export class ObjectStore {
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<StoreListener>();
  private rv = 1;
  /** Oldest resourceVersion from which every later event is still in the history. */
  private horizon = 1;

  constructor(private readonly historyLimit = 5000) {}

  get resourceVersion(): number {
    return this.rv;
  }

  private bucket(r: ResourceType): Map<string, KubeObject> {
    let b = this.objects.get(r.plural + '.' + r.group);
    if (!b) this.objects.set(r.plural + '.' + r.group, (b = new Map()));
    return b;
  }

  private static key(namespace: string | undefined, name: string): string {
    return `${namespace ?? ''}/${name}`;
  }

  /** A copy: callers may mutate what they get. */
  get(r: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const o = this.bucket(r).get(ObjectStore.key(r.namespaced ? namespace : undefined, name));
    return o && deepCopy(o);
  }

  /** Copies of every object of the type, optionally in one namespace, sorted by namespace/name. */
  list(r: ResourceType, namespace?: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const o of this.bucket(r).values()) if (!namespace || o.metadata.namespace === namespace) out.push(deepCopy(o));
    return out.sort((a, b) => ObjectStore.key(a.metadata.namespace, a.metadata.name).localeCompare(ObjectStore.key(b.metadata.namespace, b.metadata.name)));
  }

  count(r: ResourceType, namespace?: string): number {
    let n = 0;
    for (const o of this.bucket(r).values()) if (!namespace || o.metadata.namespace === namespace) n++;
    return n;
  }

  /** Stores `o` (a new version or a new object), stamping its resourceVersion. Returns the stored copy. */
  put(r: ResourceType, o: KubeObject): KubeObject {
    const key = ObjectStore.key(o.metadata.namespace, o.metadata.name);
    const old = this.bucket(r).get(key);
    const stored = deepCopy(o);
    stored.metadata.resourceVersion = String(++this.rv);
    this.bucket(r).set(key, stored);
    this.emit({ type: old ? 'MODIFIED' : 'ADDED', resource: r, object: stored, old, rv: this.rv });
    return deepCopy(stored);
  }

  remove(r: ResourceType, o: KubeObject): KubeObject | undefined {
    const key = ObjectStore.key(o.metadata.namespace, o.metadata.name);
    const old = this.bucket(r).get(key);
    if (!old) return undefined;
    this.bucket(r).delete(key);
    const gone = deepCopy(old);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit({ type: 'DELETED', resource: r, object: gone, old, rv: this.rv });
    return deepCopy(gone);
  }

  private emit(e: StoreEvent): void {
    this.history.push(e);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.shift()!;
      this.horizon = dropped.rv;
    }
    for (const l of this.listeners) l(e);
  }

  /**
   * What a new API server process starts with: a watch cache filled by a list
   * at the current revision and no events, so only watches from this revision
   * on can be served and older ones get 410 Gone (kube-apiserver's watch cache
   * answers "too old resource version" for anything before its initial list).
   */
  forgetWatchHistory(): void {
    this.history.length = 0;
    this.horizon = this.rv;
  }

  /** Events after `fromRv`, then live ones; throws ResourceVersionTooOld when the history no longer reaches back. */
  subscribe(fromRv: number | undefined, listener: StoreListener): () => void {
    if (fromRv !== undefined) {
      if (fromRv < this.horizon) throw new ResourceVersionTooOld(fromRv, this.horizon);
      for (const e of this.history) if (e.rv > fromRv) listener(e);
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
