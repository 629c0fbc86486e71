// Cluster DNS answers kept for as long as we tell clients they are valid
// (the answer's TTL, at most the resolver's short maximum), and identical
// lookups in flight shared. Without it every query — a browser asking A and
// AAAA for each request, a connection pool resolving per connection — crosses
// the tunnel to the cluster DNS and back. Answers are cached before the
// virtual-IP rewrite, so a cached answer maps exactly as a fresh one would.
import type { ClusterLookup } from './clusterResolver';

export interface ClusterAnswerCacheOptions {
  /** Seconds an answer may be kept at most (the resolver's TTL cap). */
  maxTtlSeconds: number;
  /** Entries kept at most; the oldest go first. */
  maxEntries?: number;
  now?: () => number;
}

export class ClusterAnswerCache {
  private readonly entries = new Map<string, { lookup: ClusterLookup; expires: number }>();
  private readonly inFlight = new Map<string, Promise<ClusterLookup>>();
  private readonly maxEntries: number;
  private readonly now: () => number;
  hits = 0;
  misses = 0;

  constructor(private readonly opts: ClusterAnswerCacheOptions) {
    this.maxEntries = opts.maxEntries ?? 4096;
    this.now = opts.now ?? Date.now;
  }

  /** The cached lookup for (name, type), else `fetch()`'s — shared with any identical lookup in flight. */
  async lookup(name: string, type: string, fetch: () => Promise<ClusterLookup>): Promise<ClusterLookup> {
    const key = `${type} ${name}`;
    const cached = this.entries.get(key);
    if (cached && cached.expires > this.now()) { this.hits++; return cached.lookup; }
    if (cached) this.entries.delete(key);
    const pending = this.inFlight.get(key);
    if (pending) { this.hits++; return pending; }
    this.misses++;
    const run = fetch().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, run);
    const lookup = await run;
    const ttl = this.ttlOf(lookup);
    if (ttl > 0) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { lookup, expires: this.now() + ttl * 1000 });
    }
    return lookup;
  }

  clear(): void {
    this.entries.clear();
  }

  private ttlOf(lookup: ClusterLookup): number {
    if (lookup.rcode === 'NXDOMAIN') return this.opts.maxTtlSeconds;
    if (lookup.answers.length === 0) return 0; // NODATA: cheap to ask again, and may change as pods start
    const ttls = lookup.answers.map((a) => (a as { ttl?: number }).ttl ?? this.opts.maxTtlSeconds);
    return Math.max(0, Math.min(this.opts.maxTtlSeconds, ...ttls));
  }
}
