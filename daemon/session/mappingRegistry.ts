// Everything the VNAT view shows about a mapping: which names and variables
// produced it, and how much traffic it carried. Counters are plain numbers
// updated on the data path; lists are built only when asked.
//
// Pushes to clients are deltas: the registry remembers which entries changed
// since the last push (two Sets of entries, no copies), so a push builds the
// entries that changed, never the table. Byte counters change with every
// packet of a busy flow, so they are tracked apart: an entry whose only change
// is its counters is marked once (a flag) until it is taken, and the caller
// decides how often counter-only entries are worth a push.
import type { VnatMapping } from '../protocol/rpc';

export interface VirtualAddressTable {
  /** Allocates on first use; undefined when the IP is in no VNAT subnet. */
  toVirtual(realIp: string): string | undefined;
  /** undefined when the virtual IP was never handed out. */
  toReal(virtualIp: string): string | undefined;
  /** The real VNAT subnet a real IP belongs to. */
  subnetOf(realIp: string): string | undefined;
}

/**
 * - `entry`: an entry was added or gained a name, an environment variable or a flow;
 * - `counters`: an entry's byte counters moved (told once per entry until it is taken).
 */
export type MappingChange = 'entry' | 'counters';

interface Entry {
  realIp: string;
  virtualIp: string;
  subnet: string;
  names: Set<string>;
  envVars: Set<string>;
  flows: number;
  bytesIn: number;
  bytesOut: number;
  createdAt: string;
  /** In `counted`: its counters moved since it was last taken. */
  countersMoved: boolean;
}

export class MappingRegistry {
  private readonly byReal = new Map<string, Entry>();
  /** Entries added or changed (not counting counters) since the last take. */
  private readonly dirty = new Set<Entry>();
  /** Entries whose counters moved since the last take that included counters. */
  private readonly counted = new Set<Entry>();

  /** `changed` is told when an entry first becomes pending; further changes to it before the take are not told again. */
  constructor(private readonly table: VirtualAddressTable, private readonly changed: (what: MappingChange) => void) {}

  /** Real → virtual for DNS answers and env mangling; records the mapping. */
  toVirtual(realIp: string): string | undefined {
    const existing = this.byReal.get(realIp);
    if (existing) return existing.virtualIp;
    const virtualIp = this.table.toVirtual(realIp);
    if (virtualIp === undefined) return undefined;
    const e: Entry = {
      realIp, virtualIp, subnet: this.table.subnetOf(realIp) ?? '', names: new Set(), envVars: new Set(),
      flows: 0, bytesIn: 0, bytesOut: 0, createdAt: new Date().toISOString(), countersMoved: false,
    };
    this.byReal.set(realIp, e);
    this.touch(e);
    return virtualIp;
  }

  toReal(virtualIp: string): string | undefined {
    return this.table.toReal(virtualIp);
  }

  noteName(realIp: string, name: string): void {
    const e = this.entry(realIp);
    if (e && !e.names.has(name)) { e.names.add(name); this.touch(e); }
  }

  noteEnvVar(realIp: string, variable: string): void {
    const e = this.entry(realIp);
    if (e && !e.envVars.has(variable)) { e.envVars.add(variable); this.touch(e); }
  }

  /** A flow to this real IP started; returns a counter the data path updates. */
  flowStarted(realIp: string): { in(n: number): void; out(n: number): void } | undefined {
    const e = this.entry(realIp);
    if (!e) return undefined;
    e.flows += 1;
    this.touch(e);
    // Per packet: one addition and one flag test; the Set and the callback only on the first move.
    return {
      in: (n) => { e.bytesIn += n; if (!e.countersMoved) this.countersMoved(e); },
      out: (n) => { e.bytesOut += n; if (!e.countersMoved) this.countersMoved(e); },
    };
  }

  private entry(realIp: string): Entry | undefined {
    return this.byReal.get(realIp) ?? (this.toVirtual(realIp) !== undefined ? this.byReal.get(realIp) : undefined);
  }

  private touch(e: Entry): void {
    if (this.dirty.has(e)) return;
    this.dirty.add(e);
    this.changed('entry');
  }

  private countersMoved(e: Entry): void {
    e.countersMoved = true;
    this.counted.add(e);
    this.changed('counters');
  }

  /** The whole table (vnat.list, snapshots, full pushes): O(mappings). */
  list(): VnatMapping[] {
    return [...this.byReal.values()].map(dto);
  }

  get size(): number {
    return this.byReal.size;
  }

  /** What a take would hold: entries changed otherwise, and entries whose counters alone moved. */
  get pending(): { entries: number; counters: number } {
    let counters = this.counted.size;
    // Usually tiny (a push's worth); an entry in both counts once, as an entry.
    if (counters > 0 && this.dirty.size > 0) for (const e of this.dirty) if (e.countersMoved) counters--;
    return { entries: this.dirty.size, counters };
  }

  /**
   * The entries changed since the last take, with their current counters,
   * and forgets them. `counters`: also the entries whose counters alone
   * moved (otherwise they stay pending). `build: false` forgets the same
   * entries without building them (nobody to send them to).
   */
  take(opts: { counters: boolean; build?: boolean }): VnatMapping[] {
    const build = opts.build ?? true;
    const out: VnatMapping[] = [];
    for (const e of this.dirty) {
      if (build) out.push(dto(e));
      // Its counters go out with it: current until they move again.
      if (e.countersMoved) { e.countersMoved = false; this.counted.delete(e); }
    }
    this.dirty.clear();
    if (opts.counters) {
      for (const e of this.counted) {
        if (build) out.push(dto(e));
        e.countersMoved = false;
      }
      this.counted.clear();
    }
    return out;
  }
}

function dto(e: Entry): VnatMapping {
  return {
    realIp: e.realIp, virtualIp: e.virtualIp, subnet: e.subnet,
    names: [...e.names].sort(), envVars: [...e.envVars].sort(),
    flows: e.flows, bytesIn: e.bytesIn, bytesOut: e.bytesOut, createdAt: e.createdAt,
  };
}
