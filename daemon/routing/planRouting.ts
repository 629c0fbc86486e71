// The routing plan: for every cluster subnet, how the workstation reaches it.
// One pure function of everything it depends on, so `tpv connect --dry-run`,
// the daemon's `plan` request and `connect` all decide the same way.
//
// Per subnet, in this order:
//   1. wholly inside a `neverProxy` CIDR      → never-proxy;
//   2. named by --vnat / --proxy-via          → vnat / proxy-via (even without a conflict);
//   3. no route overlaps it (once neverProxy  → route;
//      parts are carved out)
//   4. the overlap lies in allowConflictingSubnets → allowed;
//   5. routing.autoResolveConflicts (default) → vnat;
//   6. otherwise                              → error, Telepresence's exact text.
// Partly never-proxied subnets are listed once more per carved CIDR as
// `never-proxy` entries. A --vnat/--proxy-via CIDR applies to every listed
// subnet it covers; one inside a listed subnet becomes its own entry (and is
// carved out of the conflict check of the subnet around it); one that covers
// nothing listed is an extra subnet with origin `also`.
import { type Cidr, cidrContains, cidrEquals, cidrsOverlap, formatCidr, isClassE, tryParseCidr } from '../net/cidr';
import type { RoutingConfig, RoutingFlags, RoutingPlan, SubnetOrigin, SubnetPlanEntry } from '../protocol/rpc';
import { LOCAL_WORKLOAD, type VnatRule, parseVnatRules, splitFlagValues } from '../vnat/vnatFlags';
import { defaultVirtualSubnet, partitionVirtualSubnet } from '../vnat/virtualSubnet';
import { type Route, formatRoute } from './route';
import { conflictCandidates, findConflictingRoute, subnetConflictMessage } from './routeConflicts';

export interface ClusterSubnet {
  subnet: string;
  origin: SubnetOrigin;
}

export interface PlanRoutingInput {
  /** The workstation's routing table (any platform's reader). */
  routes: readonly Route[];
  /** Service and pod subnets (discovered or given by hand), and any `also` subnets the cluster publishes. */
  clusterSubnets: readonly ClusterSubnet[];
  /** As typed; list flags add to the config's lists (Telepresence's "additional" semantics). */
  flags: Partial<RoutingFlags>;
  /** The merged client configuration (config.yml < VS Code settings < scalar flags). */
  config: RoutingConfig;
  platform: NodeJS.Platform;
  /** Our TUN device: routes through it never conflict. */
  ownDevice?: string;
}

interface Listed {
  cidr: Cidr;
  origin: SubnetOrigin;
  /** Carved out of the conflict check: neverProxy parts and VNAT rules inside it. */
  carved: Cidr[];
}

/** Throws for invalid flags or configuration (naming the flag or key); conflicts end up in the plan. */
export function planRouting(input: PlanRoutingInput): RoutingPlan {
  const { config, flags } = input;
  const virtualSubnetText = config.virtualSubnet ?? defaultVirtualSubnet(input.platform);
  const virtualSubnet = parseOrThrow(virtualSubnetText, 'routing.virtualSubnet');
  if (input.platform === 'win32' && isClassE(virtualSubnet)) {
    throw new Error(`routing.virtualSubnet ${formatCidr(virtualSubnet)} is class E, which Windows does not route; use e.g. 211.55.48.0/20`);
  }
  const allow = cidrList('allowConflictingSubnets', config.allowConflictingSubnets, flags.allowConflictingSubnets);
  const never = cidrList('neverProxy', config.neverProxy, flags.neverProxy);
  const also = cidrList('alsoProxy', config.alsoProxy, flags.alsoProxy);
  const autoResolve = config.autoResolveConflicts ?? true;
  const rules = parseVnatRules(flags.vnat ?? [], flags.proxyVia ?? []);

  const listed: Listed[] = [];
  const addListed = (cidr: Cidr, origin: SubnetOrigin) => {
    if (!listed.some((l) => cidrEquals(l.cidr, cidr))) listed.push({ cidr, origin, carved: [] });
  };
  for (const c of input.clusterSubnets) addListed(parseOrThrow(c.subnet, `${c.origin} subnet`), c.origin);
  for (const cidr of also) addListed(cidr, 'also');

  // --vnat/--proxy-via CIDRs that cover no listed subnet become entries of their own.
  const ruleEntries: Array<{ cidr: Cidr; origin: SubnetOrigin; rule: VnatRule }> = [];
  for (const rule of rules) {
    if (rule.target.kind !== 'cidr') continue;
    const cidr = rule.target.cidr;
    if (listed.some((l) => cidrContains(cidr, l.cidr))) continue;
    const around = listed.find((l) => cidrContains(l.cidr, cidr));
    if (around) around.carved.push(cidr);
    ruleEntries.push({ cidr, origin: around?.origin ?? 'also', rule });
  }

  const candidates = conflictCandidates(input.routes, input.ownDevice);
  const entries: SubnetPlanEntry[] = [];
  const neverEntries: SubnetPlanEntry[] = [];
  for (const l of listed) {
    const subnet = formatCidr(l.cidr);
    if (never.some((n) => cidrContains(n, l.cidr))) {
      entries.push({ subnet, origin: l.origin, resolution: 'never-proxy' });
      continue;
    }
    for (const n of never) {
      if (!cidrContains(l.cidr, n)) continue;
      l.carved.push(n);
      neverEntries.push({ subnet: formatCidr(n), origin: l.origin, resolution: 'never-proxy' });
    }
    const rule = rules.find((r) => (r.target.kind === 'symbol' ? r.target.symbol === l.origin : cidrContains(r.target.cidr, l.cidr)));
    const conflict = findConflictingRoute(l.cidr, candidates, l.carved);
    if (rule) {
      entries.push(vnatEntry(subnet, l.origin, rule, conflict));
      continue;
    }
    if (!conflict) {
      entries.push({ subnet, origin: l.origin, resolution: 'route' });
      continue;
    }
    const remaining = findConflictingRoute(l.cidr, candidates, [...l.carved, ...allow]);
    if (!remaining) {
      entries.push({ subnet, origin: l.origin, resolution: 'allowed', conflictingRoute: formatRoute(conflict) });
    } else if (autoResolve) {
      entries.push({ subnet, origin: l.origin, resolution: 'vnat', conflictingRoute: formatRoute(remaining) });
    } else {
      entries.push({ subnet, origin: l.origin, resolution: 'error', conflictingRoute: formatRoute(remaining), error: subnetConflictMessage(subnet, remaining) });
    }
  }
  for (const r of ruleEntries) {
    entries.push(vnatEntry(formatCidr(r.cidr), r.origin, r.rule, findConflictingRoute(r.cidr, candidates, never)));
  }
  entries.push(...neverEntries);

  const plan: RoutingPlan = { virtualSubnet: formatCidr(virtualSubnet), subnets: entries };
  const planError = assignVirtualRanges(entries, virtualSubnet, listed.map((l) => l.cidr), candidates);
  const firstError = entries.find((e) => e.error)?.error ?? planError;
  if (firstError) plan.error = firstError;
  return plan;
}

function vnatEntry(subnet: string, origin: SubnetOrigin, rule: VnatRule, conflict: Route | undefined): SubnetPlanEntry {
  const entry: SubnetPlanEntry = rule.workload === LOCAL_WORKLOAD
    ? { subnet, origin, resolution: 'vnat' }
    : { subnet, origin, resolution: 'proxy-via', workload: rule.workload };
  if (conflict) entry.conflictingRoute = formatRoute(conflict);
  return entry;
}

/** Gives every vnat/proxy-via entry its virtual range; returns a plan-level error, if any. */
function assignVirtualRanges(entries: SubnetPlanEntry[], virtualSubnet: Cidr, listed: Cidr[], candidates: ReturnType<typeof conflictCandidates>): string | undefined {
  const translated = entries.filter((e) => e.resolution === 'vnat' || e.resolution === 'proxy-via');
  if (translated.length === 0) return undefined;
  const vs = formatCidr(virtualSubnet);
  const sameFamily: Array<{ entry: SubnetPlanEntry; cidr: Cidr }> = [];
  for (const entry of translated) {
    const cidr = tryParseCidr(entry.subnet)!;
    if (cidr.family === virtualSubnet.family) { sameFamily.push({ entry, cidr }); continue; }
    entry.resolution = 'error';
    entry.error = `subnet ${entry.subnet} needs virtual IPs, but the virtual subnet ${vs} is IPv${virtualSubnet.family}; ` +
      `allow the conflict with routing.allowConflictingSubnets, or remove it from --vnat/--proxy-via`;
  }
  const clash = listed.find((c) => cidrsOverlap(c, virtualSubnet));
  if (clash) return `virtual subnet ${vs} overlaps with cluster subnet ${formatCidr(clash)}; set routing.virtualSubnet to a subnet that neither the cluster nor any route uses`;
  const route = findConflictingRoute(virtualSubnet, candidates);
  if (route) return `virtual subnet ${vs} overlaps with existing route "${formatRoute(route)}"; set routing.virtualSubnet to a subnet that no route uses`;
  try {
    const ranges = partitionVirtualSubnet(virtualSubnet, sameFamily.map((s) => s.cidr));
    sameFamily.forEach((s, i) => { s.entry.virtualRange = formatCidr(ranges[i]!); });
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

function parseOrThrow(text: string, what: string): Cidr {
  const cidr = tryParseCidr(String(text).trim());
  if (!cidr) throw new Error(`${what} "${text}" is not a CIDR; write it as address/prefix, e.g. 10.128.0.0/9`);
  return cidr;
}

function cidrList(key: string, fromConfig: readonly string[] | undefined, fromFlags: readonly string[] | undefined): Cidr[] {
  const out: Cidr[] = [];
  for (const text of fromConfig ?? []) out.push(parseOrThrow(text, `routing.${key} entry`));
  const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  for (const text of splitFlagValues(fromFlags ?? [])) out.push(parseOrThrow(text, flag));
  return out.filter((c, i) => out.findIndex((o) => cidrEquals(o, c)) === i);
}
