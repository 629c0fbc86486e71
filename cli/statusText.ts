// Human output of `tpv status`, `tpv connect` and `tpv vnat` (and the status as their --json prints it).
import type { DaemonStatus, InterceptInfo, VnatMapping } from '../daemon/protocol/rpc';
import { formatPlanTable } from './planTable';
import { formatTable } from './textTable';

export function formatStatus(s: DaemonStatus): string {
  const c = s.connection;
  const lines = [`Daemon:     running (version ${s.version}, pid ${s.pid})`, `Connection: ${c.state}${c.context ? ` to context ${c.context}, namespace ${c.namespace}` : ''}`];
  if (c.server) lines.push(`Server:     ${c.server}`);
  if (c.error) lines.push(`Problem:    ${c.error}`);
  if (c.device) lines.push(`Device:     ${c.device}`);
  if (c.relay) lines.push(`Relay:      ${c.relay.namespace}/${c.relay.pod} (version ${c.relay.version})`);
  if (c.dns) lines.push(`DNS:        ${c.dns.server} for ${c.dns.domains.join(', ')}; short names resolve in ${c.dns.searchPaths.join(', ')}`);
  lines.push(`VNAT:       ${s.vnatMappingCount} mapping${s.vnatMappingCount === 1 ? '' : 's'} (tpv vnat lists them)`);
  if (s.intercepts.length > 0) lines.push('', formatIntercepts(s.intercepts));
  if (c.plan) lines.push('', formatPlanTable(c.plan).trimEnd());
  return `${lines.join('\n')}\n`;
}

/**
 * The intercepts table. STATE is `leaving` from the start of a leave until
 * the workload is put back (requests to it may still be refused meanwhile).
 */
export function formatIntercepts(list: readonly InterceptInfo[]): string {
  return formatTable(['INTERCEPT', 'NAMESPACE', 'MODE', 'STATE', 'PORTS'],
    list.map((i) => [i.workload, i.namespace, i.mode, interceptState(i), i.mode === 'ingest' ? '-' : `${i.localPort} ← ${i.remotePort}`]));
}

/** A daemon older than InterceptInfo.state sends none: its intercepts are active. */
export function interceptState(i: InterceptInfo): NonNullable<InterceptInfo['state']> {
  return i.state ?? 'active';
}

/** The status as `--json` prints it: every intercept carries its state, whatever the daemon's age. */
export function statusJson(s: DaemonStatus): DaemonStatus {
  return { ...s, intercepts: s.intercepts.map((i) => ({ ...i, state: interceptState(i) })) };
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatVnat(list: readonly VnatMapping[]): string {
  if (list.length === 0) return 'no virtual IPs handed out yet (they appear when a cluster name resolves into a VNAT subnet)\n';
  const rows = [...list]
    .sort((a, b) => a.virtualIp.localeCompare(b.virtualIp, undefined, { numeric: true }))
    .map((m) => [m.realIp, m.virtualIp, m.names.join(',') || '-', m.envVars.join(',') || '-', String(m.flows), bytes(m.bytesIn), bytes(m.bytesOut)]);
  return `${formatTable(['REAL IP', 'VIRTUAL IP', 'DNS NAMES', 'ENV VARS', 'FLOWS', 'IN', 'OUT'], rows)}\n`;
}
