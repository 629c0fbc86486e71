// List + watch of one resource into a local cache, as client-go's informers
// do: relist on 410 Gone, re-watch from the last resourceVersion when a
// stream ends, relist after errors (a dropped connection, an API server
// restart) with a backoff, and resync by relisting periodically so a missed
// event never leaves the node wrong for long.
import { ApiError, type ApiClient, type KubeObject, type WatchEvent } from './apiClient';

export type InformerEvent = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface InformerOptions {
  /** Collection path, optionally with a query (e.g. `/api/v1/pods?fieldSelector=spec.nodeName%3Dn1`). */
  path: string;
  resyncMs?: number;
  log?: (msg: string) => void;
}

export function objectKey(o: KubeObject): string {
  return o.metadata?.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : `${o.metadata?.name}`;
}

export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly listeners: Array<(type: InformerEvent, obj: T, old?: T) => void> = [];
  private readonly abort = new AbortController();
  private resourceVersion = '';
  private synced!: Promise<void>;

  constructor(private readonly api: ApiClient, private readonly opts: InformerOptions) {}

  on(listener: (type: InformerEvent, obj: T, old?: T) => void): void {
    this.listeners.push(listener);
  }

  /** Resolves after the first list. */
  start(): Promise<void> {
    let markSynced!: () => void;
    this.synced = new Promise<void>((r) => { markSynced = r; });
    void this.run(markSynced);
    return this.synced;
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  stop(): void {
    this.abort.abort();
  }

  private emit(type: InformerEvent, obj: T, old?: T): void {
    for (const l of this.listeners) {
      try { l(type, obj, old); } catch (err) { this.opts.log?.(`informer ${this.opts.path}: listener failed: ${(err as Error).message}`); }
    }
  }

  private url(extra: string): string {
    return `${this.opts.path}${this.opts.path.includes('?') ? '&' : '?'}${extra}`;
  }

  private async relist(): Promise<void> {
    const list = await this.api.get<{ metadata?: { resourceVersion?: string }; items?: T[] }>(this.opts.path);
    const seen = new Set<string>();
    for (const item of list.items ?? []) {
      const key = objectKey(item);
      seen.add(key);
      const old = this.cache.get(key);
      this.cache.set(key, item);
      if (!old) this.emit('ADDED', item);
      else if (old.metadata?.resourceVersion !== item.metadata?.resourceVersion) this.emit('MODIFIED', item, old);
    }
    for (const [key, old] of [...this.cache]) {
      if (!seen.has(key)) { this.cache.delete(key); this.emit('DELETED', old, old); }
    }
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
  }

  private apply(e: WatchEvent<T>): 'relist' | void {
    if (e.type === 'ERROR') {
      const status = e.object as unknown as { code?: number; message?: string };
      if (status.code === 410) return 'relist';
      throw new ApiError(status.code ?? 500, 'WatchError', status.message ?? 'watch error');
    }
    const rv = e.object.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (e.type === 'BOOKMARK') return;
    const key = objectKey(e.object);
    const old = this.cache.get(key);
    if (e.type === 'DELETED') {
      this.cache.delete(key);
      this.emit('DELETED', e.object, old);
    } else {
      this.cache.set(key, e.object);
      // A MODIFIED for an object we never saw (e.g. a pod newly bound to this node) is an ADDED for us.
      this.emit(old ? 'MODIFIED' : 'ADDED', e.object, old);
    }
  }

  private async run(markSynced: () => void): Promise<void> {
    const signal = this.abort.signal;
    let needList = true;
    let backoff = 200;
    let failures = 0;
    let lastList = 0;
    const resyncMs = this.opts.resyncMs ?? 60_000;
    while (!signal.aborted) {
      let watchingSince = 0;
      try {
        if (needList || Date.now() - lastList > resyncMs) {
          await this.relist();
          lastList = Date.now();
          needList = false;
          markSynced();
          if (failures > 0) this.opts.log?.(`informer ${this.opts.path}: listed again after ${failures} error(s) (${this.cache.size} objects, resourceVersion ${this.resourceVersion})`);
          failures = 0;
        }
        let relist = false;
        const watchAbort = new AbortController();
        const onAbort = () => watchAbort.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        const timer = setTimeout(() => watchAbort.abort(), Math.max(1000, resyncMs - (Date.now() - lastList)));
        try {
          watchingSince = Date.now();
          await this.api.watch<T>(this.url(`watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(this.resourceVersion)}`), (e) => {
            if (this.apply(e) === 'relist') { relist = true; watchAbort.abort(); }
          }, watchAbort.signal);
        } finally {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
        }
        if (relist) needList = true;
        backoff = 200;
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        // A watch that stood for a while and then dropped (an API server restart) starts a new
        // run of failures: back off from the start, not from where an earlier outage left off.
        if (watchingSince > 0 && Date.now() - watchingSince > 1000) backoff = 200;
        if (err instanceof ApiError && err.status === 410) needList = true;
        this.opts.log?.(`informer ${this.opts.path}: ${(err as Error).message}; retrying in ${backoff} ms`);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5000);
        needList = true;
      }
    }
  }
}
