// A client's copy of the daemon's VNAT table, kept by applying `vnat.delta`
// pushes to a Map keyed by virtual IP. Pure: no I/O. The caller fetches a
// snapshot (vnat.subscribe) when told to and hands it in; pushes that arrive
// meanwhile are held and replayed on top of it, so none is lost or applied
// twice out of order.
import type { VnatDelta, VnatMapping, VnatSnapshot } from '../../daemon/protocol/rpc';

/** What a listener needs to update its own view. */
export interface VnatChange {
  /** `upserts` is the whole table: replace, do not merge. */
  full: boolean;
  upserts: VnatMapping[];
  /** Virtual IPs no longer mapped. */
  removed: string[];
}

export interface MirrorStep {
  /** Apply this to a view of the table; undefined when nothing changed. */
  change?: VnatChange;
  /** Fetch a snapshot and hand it to snapshot(): the mirror has no table it can trust. */
  resync: boolean;
}

export class VnatMirror {
  private readonly table = new Map<string, VnatMapping>();
  /** The last push applied (or the snapshot's); undefined before the first snapshot. */
  private seq: number | undefined;
  /** Pushes held while a snapshot is awaited; undefined when none is. */
  private held: VnatDelta[] | undefined;

  /** By virtual IP. */
  get mappings(): ReadonlyMap<string, VnatMapping> {
    return this.table;
  }

  get lastSeq(): number | undefined {
    return this.seq;
  }

  get awaitingSnapshot(): boolean {
    return this.held !== undefined;
  }

  /**
   * A snapshot is being asked for: hold pushes until it arrives. Pushes held
   * before are dropped: the daemon sent them before it answered, so the
   * snapshot contains them (and after a new socket, they may come from
   * another daemon).
   */
  expectSnapshot(): void {
    this.held = [];
  }

  /** A vnat.delta from the daemon. */
  push(d: VnatDelta): MirrorStep {
    if (this.held) { this.held.push(d); return { resync: false }; }
    return this.apply(d);
  }

  /**
   * The table as of push `s.seq`: replaces the mirror, then replays held
   * pushes newer than it. The change is always full (the listener's view is
   * replaced by the result).
   */
  snapshot(s: VnatSnapshot): MirrorStep {
    const held = this.held ?? [];
    this.held = undefined;
    this.table.clear();
    for (const m of s.mappings) this.table.set(m.virtualIp, m);
    this.seq = s.seq;
    let resync = false;
    for (let i = 0; i < held.length; i++) {
      const step = this.apply(held[i]!);
      if (step.resync) {
        // A gap after the snapshot too: hold the rest for the next one.
        this.held!.push(...held.slice(i + 1));
        resync = true;
        break;
      }
    }
    return { change: { full: true, upserts: [...this.table.values()], removed: [] }, resync };
  }

  /** The whole list from a daemon without deltas (vnat.list, vnat.changed): replaces the table. */
  replace(list: readonly VnatMapping[]): VnatChange {
    this.table.clear();
    for (const m of list) this.table.set(m.virtualIp, m);
    this.seq = undefined;
    this.held = undefined;
    return { full: true, upserts: [...list], removed: [] };
  }

  /** Forget everything (the daemon went away for good). */
  clear(): VnatChange {
    return this.replace([]);
  }

  private apply(d: VnatDelta): MirrorStep {
    if (d.full) {
      // Valid on its own, whatever came before; but not one older than the table held.
      if (this.seq !== undefined && d.seq <= this.seq) return { resync: false };
      this.table.clear();
      for (const m of d.upserts) this.table.set(m.virtualIp, m);
      this.seq = d.seq;
      return { change: { full: true, upserts: d.upserts, removed: [] }, resync: false };
    }
    if (this.seq !== undefined && d.seq <= this.seq) return { resync: false }; // already in the snapshot
    if (this.seq === undefined || d.seq !== this.seq + 1) {
      // No table yet, or a push went missing: what this one changes cannot be trusted alone.
      this.held = [d];
      return { resync: true };
    }
    for (const m of d.upserts) this.table.set(m.virtualIp, m);
    const removed = d.removed ?? [];
    for (const v of removed) this.table.delete(v);
    this.seq = d.seq;
    return { change: { full: false, upserts: d.upserts, removed }, resync: false };
  }
}
