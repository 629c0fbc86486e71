// Decides, from a query name alone, whether the cluster or the workstation's
// original resolver should answer it. Pure.
//
// How the names a user types reach us (the workstation's stub resolver does
// the expansion, we only see what it sends):
// - `echo.default.svc.cluster.local`, `10-132-0-5.default.pod.cluster.local`:
//   under the cluster domain → the cluster only; its NXDOMAIN is final and
//   such names never leak to the corporate DNS.
// - `echo.default`, `echo.default.svc`, `_http._tcp.echo.default`: the last
//   label is a namespace of the cluster → the cluster first, as
//   `<name>.svc.<cluster domain>`; if the cluster says NXDOMAIN the original
//   resolver answers (a namespace may share its name with a TLD such as `dev`).
// - `echo` (one label) → the cluster first as `echo.<connected namespace>.svc.<domain>`,
//   then the original resolver.
// - `echo.corp.example` where `corp.example` is one of the workstation's
//   search domains: that is the stub resolver trying its search list. The
//   name belongs to the user's network, so it goes to the original resolver
//   unchanged; when that says NXDOMAIN, the stub resolver (glibc, musl,
//   systemd-resolved) goes on with the next candidate and finally the name as
//   typed, which then takes the single-label path above. Answering it from
//   the cluster instead would shadow real corporate hosts that share a name
//   with a cluster service.
// - `echo.default.svc.cluster.local.corp.example`: glibc appends the search
//   list even to a fully qualified cluster name when the name had no record of
//   the asked type (an AAAA query for an IPv4-only service). Such a name cannot
//   exist anywhere, so it is answered NXDOMAIN here instead of telling the
//   corporate DNS which cluster services the user looks up.
// - everything else → the original resolver, relayed unchanged.

export interface NameContext {
  /** e.g. `cluster.local`, lower case, no dots at either end. */
  clusterDomain: string;
  /** Namespace that single-label names are looked up in. */
  namespace: string;
  /** The cluster's namespaces (kept current by the daemon). */
  namespaces: ReadonlySet<string>;
  /** The workstation's resolver search list, lower case. */
  searchDomains: readonly string[];
}

export type NameRoute =
  /** Ask the cluster for `clusterName`; its NXDOMAIN is the answer. */
  | { kind: 'cluster'; clusterName: string }
  /** Ask the cluster for `clusterName`; on NXDOMAIN relay the original resolver's answer. */
  | { kind: 'clusterFirst'; clusterName: string }
  /** A cluster name with a workstation search domain appended: NXDOMAIN, asked of no one. */
  | { kind: 'nxdomain' }
  | { kind: 'forward' };

const FORWARD: NameRoute = { kind: 'forward' };

/** Lower case, without a trailing dot. */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

export function routeName(queryName: string, ctx: NameContext): NameRoute {
  const name = normalizeName(queryName);
  if (name === '' || name === '.') return FORWARD;
  const domain = ctx.clusterDomain;
  if (name === domain || name.endsWith(`.${domain}`)) return { kind: 'cluster', clusterName: name };

  for (const search of ctx.searchDomains) {
    if (!search || !name.endsWith(`.${search}`)) continue;
    const typed = name.slice(0, -(search.length + 1));
    if (typed === domain || typed.endsWith(`.${domain}`)) return { kind: 'nxdomain' };
    return FORWARD;
  }

  const labels = name.split('.');
  if (labels.length === 1) {
    // Reverse-lookup zones and the like are never service names.
    if (name === 'arpa' || name === 'local' || name === 'localhost') return FORWARD;
    return { kind: 'clusterFirst', clusterName: `${name}.${ctx.namespace}.svc.${domain}` };
  }
  const last = labels[labels.length - 1]!;
  if (ctx.namespaces.has(last)) return { kind: 'clusterFirst', clusterName: `${name}.svc.${domain}` };
  if (last === 'svc' && labels.length >= 3 && ctx.namespaces.has(labels[labels.length - 2]!)) {
    return { kind: 'clusterFirst', clusterName: `${name}.${domain}` };
  }
  return FORWARD;
}

/** Validates and normalizes a cluster domain given in configuration. */
export function parseClusterDomain(text: string): string {
  const d = normalizeName(text.trim()).replace(/^\.+/, '');
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(d)) {
    throw new Error(`cluster domain "${text}" is not a DNS name; use something like "cluster.local"`);
  }
  return d;
}
