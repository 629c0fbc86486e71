// Parses Windows routing tables: PowerShell `Get-NetRoute` / `Get-NetIPAddress`
// piped through ConvertTo-Json (what the reader runs), and `route print`
// (the fallback where PowerShell is unavailable). Pure; hand-written fixtures.
import { type IpFamily, formatCidr, formatIp, tryParseCidrOrHost, tryParseIp } from '../net/cidr';
import { ipv4MaskToPrefix, parseIpv4 } from '../net/ipv4';
import { type InterfaceInfo, type Route, interfaceLocalIp } from './route';

interface NetRouteJson {
  DestinationPrefix?: string;
  NextHop?: string;
  InterfaceAlias?: string;
  InterfaceIndex?: number;
  RouteMetric?: number;
  AddressFamily?: number | string;
}

interface NetIpAddressJson {
  IPAddress?: string;
  InterfaceAlias?: string;
  InterfaceIndex?: number;
  PrefixLength?: number;
  AddressFamily?: number | string;
}

/** Multicast and limited broadcast: Windows lists them as routes, but no unicast subnet lives there. */
function isNonUnicast(subnet: string): boolean {
  return subnet === '255.255.255.255/32' || subnet === '224.0.0.0/4' || subnet === 'ff00::/8';
}

/** `Get-NetIPAddress | ConvertTo-Json` → interfaces. */
export function parseGetNetIpAddressJson(text: string): InterfaceInfo[] {
  const byName = new Map<string, InterfaceInfo>();
  for (const row of jsonRows<NetIpAddressJson>(text, 'Get-NetIPAddress')) {
    if (!row.InterfaceAlias || !row.IPAddress) continue;
    const ip = tryParseIp(row.IPAddress.replace(/%.*/, ''));
    if (!ip) continue;
    let iface = byName.get(row.InterfaceAlias);
    if (!iface) {
      iface = { name: row.InterfaceAlias, index: row.InterfaceIndex, up: true, addresses: [] };
      byName.set(row.InterfaceAlias, iface);
    }
    const address = formatIp(ip);
    iface.addresses.push({
      family: ip.family,
      address,
      prefixLength: row.PrefixLength ?? (ip.family === 4 ? 32 : 128),
      ...(ip.family === 6 && /^fe[89ab]/i.test(address) ? { scope: 'link' } : {}),
    });
  }
  return [...byName.values()];
}

/** `Get-NetRoute | ConvertTo-Json` → routes; local IPs come from `interfaces`. */
export function parseGetNetRouteJson(text: string, interfaces: readonly InterfaceInfo[]): Route[] {
  const byName = new Map(interfaces.map((i) => [i.name, i]));
  const routes: Route[] = [];
  for (const row of jsonRows<NetRouteJson>(text, 'Get-NetRoute')) {
    if (!row.DestinationPrefix || !row.InterfaceAlias) continue;
    const cidr = tryParseCidrOrHost(row.DestinationPrefix);
    if (!cidr) continue;
    const subnet = formatCidr(cidr);
    if (isNonUnicast(subnet)) continue;
    const hop = row.NextHop ? tryParseIp(row.NextHop) : undefined;
    // 0.0.0.0 / :: as next hop means on-link.
    const gateway = hop && hop.value !== 0 && hop.value !== 0n ? formatIp(hop) : undefined;
    const route: Route = { subnet, family: cidr.family, interface: row.InterfaceAlias, isDefault: cidr.prefix === 0 && gateway !== undefined };
    if (gateway) route.gateway = gateway;
    const localIp = interfaceLocalIp(byName.get(row.InterfaceAlias), cidr.family);
    if (localIp) route.localIp = localIp;
    if (row.RouteMetric !== undefined) route.metric = row.RouteMetric;
    routes.push(route);
  }
  return routes;
}

/**
 * `route print`. IPv4 rows name the interface by its address only, so that
 * address is both the interface and the local IP; IPv6 rows name it by index,
 * resolved through the "Interface List" section.
 */
export function parseRoutePrint(text: string): Route[] {
  const lines = text.split(/\r?\n/);
  const interfaceNames = new Map<number, string>();
  const routes: Route[] = [];
  let section: 'interfaces' | 'v4' | 'v6' | undefined;
  let active = false;
  for (const line of lines) {
    const trimmed = line.trim();
    if (trimmed === 'Interface List') { section = 'interfaces'; continue; }
    if (trimmed === 'IPv4 Route Table') { section = 'v4'; active = false; continue; }
    if (trimmed === 'IPv6 Route Table') { section = 'v6'; active = false; continue; }
    if (trimmed === 'Active Routes:') { active = true; continue; }
    if (trimmed === 'Persistent Routes:') { active = false; continue; }
    if (section === 'interfaces') {
      const m = /^\s*(\d+)\.{3}(?:[0-9a-f]{2} )*\.*(.+)$/i.exec(line);
      if (m) interfaceNames.set(Number(m[1]), m[2]!.trim());
      continue;
    }
    if (!active) continue;
    const cols = trimmed.split(/\s+/);
    if (section === 'v4' && cols.length === 5) {
      const [dest, mask, gw, local, metric] = cols as [string, string, string, string, string];
      const network = parseIpv4(dest);
      const maskValue = parseIpv4(mask);
      const prefix = maskValue < 0 ? -1 : ipv4MaskToPrefix(maskValue);
      if (network < 0 || prefix < 0) continue;
      pushRoute(routes, `${dest}/${prefix}`, 4, local, gw, local, Number(metric));
    } else if (section === 'v6' && cols.length === 4 && /^\d+$/.test(cols[0]!)) {
      const [ifIndex, metric, dest, gw] = cols as [string, string, string, string];
      const name = interfaceNames.get(Number(ifIndex)) ?? `interface ${ifIndex}`;
      pushRoute(routes, dest, 6, name, gw, undefined, Number(metric));
    }
  }
  return routes;
}

function pushRoute(routes: Route[], dest: string, family: IpFamily, iface: string, gwText: string, local: string | undefined, metric: number): void {
  const cidr = tryParseCidrOrHost(dest);
  if (!cidr || cidr.family !== family) return;
  const subnet = formatCidr(cidr);
  if (isNonUnicast(subnet)) return;
  const gw = gwText === 'On-link' ? undefined : tryParseIp(gwText);
  const route: Route = { subnet, family, interface: iface, isDefault: cidr.prefix === 0 && gw !== undefined };
  if (gw) route.gateway = formatIp(gw);
  if (local && tryParseIp(local)) route.localIp = local;
  if (Number.isFinite(metric)) route.metric = metric;
  routes.push(route);
}

function jsonRows<T>(text: string, what: string): T[] {
  if (text.trim() === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`could not parse the output of ${what} | ConvertTo-Json (${(err as Error).message})`);
  }
  // ConvertTo-Json prints a lone object, not a list, when there is one row.
  return (Array.isArray(value) ? value : [value]) as T[];
}
