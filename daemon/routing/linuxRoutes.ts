// Parses iproute2's JSON (`ip -j -4 route show table all`, `ip -j -6 route
// show table all`, `ip -j addr show`). Pure: the reader runs the commands.
//
// Kept: unicast routes of every table (policy tables such as Tailscale's 52
// route real traffic) and `local` routes (the workstation's own addresses).
// Dropped: broadcast/multicast/anycast entries (no unicast traffic goes
// there), unreachable/blackhole/prohibit/throw (no device), and routes on
// interfaces that are down (as Telepresence does). A multipath route becomes
// one Route per next hop, so a conflict names the VPN device even when the
// route is shared (Telepresence skips multipath routes entirely; a conflict
// there is still a conflict).
import { type IpFamily, formatCidr, formatIp, tryParseCidrOrHost, tryParseIp } from '../net/cidr';
import { type InterfaceInfo, type Route, interfaceLocalIp } from './route';

interface IpRouteJson {
  type?: string;
  dst?: string;
  gateway?: string;
  via?: { family?: string; host?: string };
  dev?: string;
  table?: string;
  prefsrc?: string;
  metric?: number;
  flags?: string[];
  nexthops?: Array<{ gateway?: string; via?: { family?: string; host?: string }; dev?: string; flags?: string[] }>;
}

interface IpAddrJson {
  ifindex?: number;
  ifname?: string;
  flags?: string[];
  addr_info?: Array<{ family?: string; local?: string; prefixlen?: number; scope?: string }>;
}

const NON_UNICAST = new Set(['broadcast', 'multicast', 'anycast', 'unreachable', 'blackhole', 'prohibit', 'throw', 'nat']);

/** Interfaces and their addresses from `ip -j addr show`. */
export function parseIpAddrJson(text: string): InterfaceInfo[] {
  const rows = parseJsonArray<IpAddrJson>(text, 'ip -j addr show');
  return rows.filter((r) => typeof r.ifname === 'string').map((r) => ({
    name: r.ifname!,
    index: r.ifindex,
    up: (r.flags ?? []).includes('UP'),
    addresses: (r.addr_info ?? []).flatMap((a) => {
      const family: IpFamily | undefined = a.family === 'inet' ? 4 : a.family === 'inet6' ? 6 : undefined;
      const ip = a.local ? tryParseIp(a.local) : undefined;
      if (!family || !ip || ip.family !== family) return [];
      return [{ family, address: formatIp(ip), prefixLength: a.prefixlen ?? (family === 4 ? 32 : 128), scope: a.scope }];
    }),
  }));
}

/**
 * Routes from `ip -j -4|-6 route show table all`. `family` is the one the
 * command asked for: `default` rows carry no address to tell it by. Rows
 * of the other family (the output of `table all` without -4 mixes both) are
 * recognised by their addresses and kept with their own family.
 */
export function parseIpRouteJson(text: string, family: IpFamily, interfaces: readonly InterfaceInfo[]): Route[] {
  const rows = parseJsonArray<IpRouteJson>(text, `ip -j -${family} route show table all`);
  const byName = new Map(interfaces.map((i) => [i.name, i]));
  const routes: Route[] = [];
  for (const row of rows) {
    if (row.type && NON_UNICAST.has(row.type)) continue;
    const rowFamily = familyOfRow(row) ?? family;
    const dst = row.dst === undefined || row.dst === 'default' ? (rowFamily === 4 ? '0.0.0.0/0' : '::/0') : row.dst;
    const cidr = tryParseCidrOrHost(dst);
    if (!cidr) continue;
    const hops = row.nexthops?.length ? row.nexthops : [{ gateway: row.gateway, via: row.via, dev: row.dev }];
    for (const hop of hops) {
      if (!hop.dev) continue;
      const iface = byName.get(hop.dev);
      if (iface && !iface.up) continue;
      const gatewayText = hop.gateway ?? hop.via?.host;
      const gateway = gatewayText ? tryParseIp(gatewayText) : undefined;
      const prefsrc = row.prefsrc ? tryParseIp(row.prefsrc) : undefined;
      const route: Route = {
        subnet: formatCidr(cidr),
        family: cidr.family,
        interface: hop.dev,
        isDefault: cidr.prefix === 0 && gateway !== undefined,
        table: row.table ?? 'main',
      };
      if (gateway) route.gateway = formatIp(gateway);
      const localIp = prefsrc && prefsrc.family === cidr.family ? formatIp(prefsrc) : interfaceLocalIp(iface, cidr.family);
      if (localIp) route.localIp = localIp;
      if (row.metric !== undefined) route.metric = row.metric;
      if (row.type && row.type !== 'unicast') route.type = row.type;
      routes.push(route);
    }
  }
  return routes;
}

function familyOfRow(row: IpRouteJson): IpFamily | undefined {
  for (const text of [row.dst, row.gateway, row.prefsrc, row.nexthops?.[0]?.gateway]) {
    if (!text || text === 'default') continue;
    return text.includes(':') ? 6 : 4;
  }
  return undefined;
}

function parseJsonArray<T>(text: string, what: string): T[] {
  // iproute2 prints nothing at all (not "[]") for an empty dump.
  if (text.trim() === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`could not parse the output of \`${what}\` as JSON (${(err as Error).message}); is iproute2 recent enough to support -j?`);
  }
  if (!Array.isArray(value)) throw new Error(`\`${what}\` printed JSON that is not a list`);
  return value as T[];
}
