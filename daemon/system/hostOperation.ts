// One change to the workstation (a route, our nftables table, per-link DNS)
// as an object that can apply and revert itself, plus the record of it that
// the journal writes to disk *before* applying. The record alone must be
// enough to revert the change from a fresh process after a crash.

/** A route we added: only ever through our own device, tagged with our protocol number. */
export interface RouteRecord {
  kind: 'route';
  cidr: string;
  device: string;
  /** rtnetlink protocol number; deletion matches it, so a route we did not add is never removed. */
  protocol: number;
}

/** Our own nftables table; removing it never touches any other table. */
export interface NftTableRecord {
  kind: 'nftTable';
  family: 'inet' | 'ip' | 'ip6';
  table: string;
}

/** systemd-resolved settings on our link (undone with `resolvectl revert`). */
export interface ResolvedLinkRecord {
  kind: 'resolvedLink';
  link: string;
}

export type HostChangeRecord = RouteRecord | NftTableRecord | ResolvedLinkRecord;

export interface HostOperation {
  readonly record: HostChangeRecord;
  /** Human-readable, for logs and `tpv quit --cleanup` output. */
  describe(): string;
  apply(): Promise<void>;
  /** Undoes the change; succeeds when it is already gone (idempotent). */
  revert(): Promise<void>;
}

export function describeRecord(record: HostChangeRecord): string {
  switch (record.kind) {
    case 'route': return `route ${record.cidr} dev ${record.device} proto ${record.protocol}`;
    case 'nftTable': return `nftables table ${record.family} ${record.table}`;
    case 'resolvedLink': return `systemd-resolved DNS settings of link ${record.link}`;
  }
}

/** Narrows untrusted JSON (the journal file) to a record, or undefined. */
export function parseRecord(value: unknown): HostChangeRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const name = (s: unknown): s is string => typeof s === 'string' && /^[A-Za-z0-9_.:/-]{1,64}$/.test(s);
  switch (v.kind) {
    case 'route':
      if (name(v.cidr) && name(v.device) && typeof v.protocol === 'number' && Number.isInteger(v.protocol) && v.protocol > 0 && v.protocol < 256) {
        return { kind: 'route', cidr: v.cidr, device: v.device, protocol: v.protocol };
      }
      return undefined;
    case 'nftTable':
      if ((v.family === 'inet' || v.family === 'ip' || v.family === 'ip6') && name(v.table)) return { kind: 'nftTable', family: v.family, table: v.table };
      return undefined;
    case 'resolvedLink':
      if (name(v.link)) return { kind: 'resolvedLink', link: v.link };
      return undefined;
    default:
      return undefined;
  }
}
