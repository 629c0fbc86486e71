// Parses macOS `netstat -rn` (routes) and `ifconfig` (interface addresses).
// Pure; hand-written fixtures test it since this machine runs Linux.
//
// netstat abbreviates IPv4 destinations: `10` is 10.0.0.0/8, `192.168.1`
// is /24, `128.0/1` is 128.0.0.0/1 (missing octets are zero; without a
// `/n` the prefix is 8 bits per printed octet). Cloned host entries (ARP/ND,
// flag W), broadcast/multicast (b, m) and reject/blackhole (R, B) rows are
// dropped: they say nothing about where a subnet is routed.
import { type IpFamily, formatCidr, formatIp, tryParseCidrOrHost, tryParseIp } from '../net/cidr';
import { ipv4MaskToPrefix } from '../net/ipv4';
import { type InterfaceAddress, type InterfaceInfo, type Route, interfaceLocalIp } from './route';

const DROPPED_FLAGS = /[WbmRB]/;

export function parseNetstatRoutes(text: string, interfaces: readonly InterfaceInfo[]): Route[] {
  const byName = new Map(interfaces.map((i) => [i.name, i]));
  const routes: Route[] = [];
  let family: IpFamily | undefined;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === 'Internet:') { family = 4; continue; }
    if (line === 'Internet6:') { family = 6; continue; }
    if (!family || line === '' || line.startsWith('Destination')) continue;
    const [dest, gatewayText, flags, netif] = line.split(/\s+/);
    if (!dest || !gatewayText || !flags || !netif || DROPPED_FLAGS.test(flags)) continue;
    const cidr = family === 4 ? parseAbbreviatedIpv4(dest, flags.includes('H')) : tryParseCidrOrHost(dest === 'default' ? '::/0' : stripZone(dest));
    if (!cidr || cidr.family !== family) continue;
    const iface = byName.get(netif);
    if (iface && !iface.up) continue;
    const gateway = flags.includes('G') ? tryParseIp(stripZone(gatewayText)) : undefined;
    const route: Route = { subnet: formatCidr(cidr), family, interface: netif, isDefault: cidr.prefix === 0 && gateway !== undefined };
    if (gateway) route.gateway = formatIp(gateway);
    const localIp = interfaceLocalIp(iface, family);
    if (localIp) route.localIp = localIp;
    routes.push(route);
  }
  return routes;
}

function parseAbbreviatedIpv4(dest: string, isHost: boolean) {
  if (dest === 'default') return tryParseCidrOrHost('0.0.0.0/0');
  const [addr, prefixText] = dest.split('/') as [string, string | undefined];
  const octets = addr.split('.');
  if (octets.length > 4 || octets.some((o) => !/^\d{1,3}$/.test(o))) return undefined;
  const prefix = prefixText ?? String(isHost ? 32 : octets.length * 8);
  while (octets.length < 4) octets.push('0');
  return tryParseCidrOrHost(`${octets.map(Number).join('.')}/${prefix}`);
}

function stripZone(text: string): string {
  // fe80::%lo0/64 → fe80::/64, fe80::1%en0 → fe80::1
  return text.replace(/%[^/]*/, '');
}

/** Interfaces from macOS `ifconfig` (no arguments). */
export function parseIfconfig(text: string): InterfaceInfo[] {
  const interfaces: InterfaceInfo[] = [];
  let current: InterfaceInfo | undefined;
  for (const line of text.split('\n')) {
    const header = /^(\S+): flags=[0-9a-f]+<([^>]*)>/.exec(line);
    if (header) {
      current = { name: header[1]!, up: header[2]!.split(',').includes('UP'), addresses: [] };
      interfaces.push(current);
      continue;
    }
    if (!current) continue;
    const inet = /^\s+inet (\S+)(?: --> \S+)? netmask 0x([0-9a-f]{8})/.exec(line);
    if (inet) {
      const ip = tryParseIp(inet[1]!);
      const prefix = ipv4MaskToPrefix(parseInt(inet[2]!, 16));
      if (ip?.family === 4) current.addresses.push({ family: 4, address: formatIp(ip), prefixLength: prefix < 0 ? 32 : prefix });
      continue;
    }
    const inet6 = /^\s+inet6 (\S+?)(?:%\S+)? prefixlen (\d+)/.exec(line);
    if (inet6) {
      const ip = tryParseIp(inet6[1]!);
      if (ip?.family !== 6) continue;
      const address: InterfaceAddress = { family: 6, address: formatIp(ip), prefixLength: Number(inet6[2]) };
      if (/^fe[89ab]/i.test(address.address)) address.scope = 'link';
      current.addresses.push(address);
    }
  }
  return interfaces;
}
