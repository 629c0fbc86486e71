// The VNAT view's rows, kept from the extension's messages: a whole table
// once, then deltas. Rows are keyed by virtual IP and kept in virtual-IP
// order, so a push that changes a few entries costs a few rows, not a sort
// of the table; the grid renders at most MAX_RENDERED_ROWS of them (in
// headless Chromium the toolkit's grid took 11 s to render 5,000 rows and
// did not finish 65,536 in a minute; 500 rows take about 0.9 s). Pure: no
// DOM, tested at 65,536 rows.
import type { VnatMapping } from '../daemon/protocol/rpc';
import { compareIps, queryWords, toRow, type VnatRow } from './vnatRows';

/** Rows the grid holds at most (a sidebar shows a few dozen); the summary says when more match, the filter finds them. */
export const MAX_RENDERED_ROWS = 200;

/** Adding more rows than this at once re-sorts the order instead of inserting each. */
const INSERT_LIMIT = 64;

export interface VnatRowsUpdate {
  full: boolean;
  upserts: readonly VnatMapping[];
  removed: readonly string[];
}

export interface VnatRowsView {
  /** In virtual-IP order, at most the limit. */
  rows: VnatRow[];
  /** Rows matching the filter (all rows without one). */
  matched: number;
  total: number;
}

interface Slot { key: string; rank: number }

export class VnatRowModel {
  private readonly rows = new Map<string, VnatRow>();
  /** Every key, in virtual-IP order unless `unsorted`. */
  private order: Slot[] = [];
  private unsorted = false;
  /** Full sorts done (a test shows small pushes cause none). */
  sorts = 0;

  get size(): number {
    return this.rows.size;
  }

  apply(u: VnatRowsUpdate): void {
    if (u.full) {
      this.rows.clear();
      this.order = [];
    }
    const added: Slot[] = [];
    for (const m of u.upserts) {
      if (!this.rows.has(m.virtualIp)) added.push({ key: m.virtualIp, rank: rank(m.virtualIp) });
      // A new row object: the grid sees by identity which rows changed.
      this.rows.set(m.virtualIp, toRow(m));
    }
    if (u.removed.length > 0) {
      const gone = new Set(u.removed.filter((k) => this.rows.delete(k)));
      if (gone.size > 0) this.order = this.order.filter((s) => !gone.has(s.key));
    }
    if (added.length > INSERT_LIMIT || this.unsorted) {
      for (const s of added) this.order.push(s);
      this.unsorted = true;
    } else {
      for (const s of added) this.order.splice(this.insertionPoint(s), 0, s);
    }
  }

  /** The rows to show for a filter: matching, in order, at most `limit`. */
  view(query: string, limit = MAX_RENDERED_ROWS): VnatRowsView {
    if (this.unsorted) {
      this.order.sort(compareSlots);
      this.unsorted = false;
      this.sorts++;
    }
    const words = queryWords(query);
    const total = this.rows.size;
    if (words.length === 0) {
      return { rows: this.order.slice(0, limit).map((s) => this.rows.get(s.key)!), matched: total, total };
    }
    const rows: VnatRow[] = [];
    let matched = 0;
    for (const s of this.order) {
      const r = this.rows.get(s.key)!;
      if (!words.every((w) => r.searchText.includes(w))) continue;
      matched++;
      if (rows.length < limit) rows.push(r);
    }
    return { rows, matched, total };
  }

  private insertionPoint(s: Slot): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareSlots(this.order[mid]!, s) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** IPv4 as a number (compared without parsing again); anything else after all IPv4, in compareIps order. */
function rank(ip: string): number {
  const p = ip.split('.');
  if (p.length !== 4) return Infinity;
  return ((Number(p[0]) * 256 + Number(p[1])) * 256 + Number(p[2])) * 256 + Number(p[3]);
}

function compareSlots(a: Slot, b: Slot): number {
  const d = a.rank - b.rank;
  return d === 0 || Number.isNaN(d) ? compareIps(a.key, b.key) : d;
}
