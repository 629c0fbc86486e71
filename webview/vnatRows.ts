// The VNAT table's rows: what each column shows, their order, and the
// filter box. Pure (no DOM), shared by the webview and its unit tests.
import type { VnatMapping } from '../daemon/protocol/rpc';

export interface VnatRow {
  /** Stable key: the virtual IP is unique in a session. */
  key: string;
  realIp: string;
  virtualIp: string;
  subnet: string;
  /** `svc default/echo`, `Deployment default/echo`, or '' */
  target: string;
  names: string;
  envVars: string;
  flows: number;
  bytes: string;
  /** Lower-cased text the filter matches against. */
  searchText: string;
}

/** One mapping as a row. */
export function toRow(m: VnatMapping): VnatRow {
  const targets: string[] = [];
  if (m.workload) targets.push(`${m.workload.kind} ${m.workload.namespace}/${m.workload.name}`);
  if (m.service) targets.push(`svc ${m.service.namespace}/${m.service.name}`);
  const row = {
    key: m.virtualIp,
    realIp: m.realIp,
    virtualIp: m.virtualIp,
    subnet: m.subnet,
    target: targets.join(', '),
    names: m.names.join(', '),
    envVars: m.envVars.join(', '),
    flows: m.flows,
    bytes: `${formatBytes(m.bytesIn)} in / ${formatBytes(m.bytesOut)} out`,
  };
  return { ...row, searchText: [row.realIp, row.virtualIp, row.subnet, row.target, row.names, row.envVars].join(' ').toLowerCase() };
}

export function toRows(mappings: readonly VnatMapping[]): VnatRow[] {
  return mappings.map(toRow).sort((a, b) => compareIps(a.virtualIp, b.virtualIp));
}

/** The filter box's words, lower-cased; none for an empty box. */
export function queryWords(query: string): string[] {
  return query.toLowerCase().split(/\s+/).filter((w) => w !== '');
}

/** Every whitespace-separated word of the query must occur somewhere in the row. */
export function filterRows(rows: readonly VnatRow[], query: string): VnatRow[] {
  const words = queryWords(query);
  if (words.length === 0) return [...rows];
  return rows.filter((r) => words.every((w) => r.searchText.includes(w)));
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '?';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** Numeric order for IPv4 (and a stable textual order for anything else, e.g. IPv6). */
export function compareIps(a: string, b: string): number {
  const pa = a.split('.');
  const pb = b.split('.');
  if (pa.length === 4 && pb.length === 4) {
    for (let i = 0; i < 4; i++) {
      const d = Number(pa[i]) - Number(pb[i]);
      if (d !== 0) return d;
    }
    return 0;
  }
  if (pa.length === 4) return -1;
  if (pb.length === 4) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The status line above the table. `rendered`: how many of the `shown`
 * (matching) rows the grid holds, when it holds fewer (see MAX_RENDERED_ROWS).
 */
export function summaryText(total: number, shown: number, query: string, rendered = shown): string {
  const noun = total === 1 ? 'mapping' : 'mappings';
  const text = query.trim() && shown !== total ? `${shown} of ${total} ${noun} match "${query.trim()}"` : `${total} ${noun}`;
  return rendered < shown ? `${text}; the first ${rendered} by virtual IP are listed, filter to find others` : text;
}
