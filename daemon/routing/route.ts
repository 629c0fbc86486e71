// One row of the workstation's routing table, as every platform reader
// produces it, and the text Telepresence prints for it in conflict errors.
import type { IpFamily } from '../net/cidr';

export interface Route {
  /** Destination, canonical CIDR text (`0.0.0.0/0` for a default route, `/32` or `/128` for a host route). */
  subnet: string;
  family: IpFamily;
  /** Name of the interface the route sends packets out of. */
  interface: string;
  /** Next hop; absent for directly connected (link) routes. */
  gateway?: string;
  /** The workstation's own address on that interface (the route's preferred source when it names one). */
  localIp?: string;
  /** A default route: prefix 0 with a gateway. */
  isDefault: boolean;
  /** Routing table (`main`, `local`, `52`, ...) where the platform has several. */
  table?: string;
  metric?: number;
  /** Kernel route type when not plain unicast, e.g. `local`. */
  type?: string;
}

/** An interface and its addresses, needed to give each route its local IP. */
export interface InterfaceInfo {
  name: string;
  index?: number;
  up: boolean;
  addresses: InterfaceAddress[];
}

export interface InterfaceAddress {
  family: IpFamily;
  address: string;
  prefixLength: number;
  /** `link` for link-local addresses; such addresses are only used when nothing else is there. */
  scope?: string;
}

/**
 * Telepresence's format: `<net> via <local ip> dev <if>[, gw <gw>][ (default)]`,
 * e.g. `10.0.0.0/8 via 10.0.0.0 dev utun4, gw 10.0.0.1`. "via" names the
 * workstation's own address (not the gateway); it is left out when the
 * interface has none of that family.
 */
export function formatRoute(route: Route): string {
  let text = route.subnet;
  if (route.localIp) text += ` via ${route.localIp}`;
  text += ` dev ${route.interface}`;
  if (route.gateway) text += `, gw ${route.gateway}`;
  if (route.isDefault) text += ' (default)';
  return text;
}

/** The address an interface uses for `family`: a global one first, a link-local one only as a fallback. */
export function interfaceLocalIp(iface: InterfaceInfo | undefined, family: IpFamily): string | undefined {
  if (!iface) return undefined;
  const ofFamily = iface.addresses.filter((a) => a.family === family);
  return (ofFamily.find((a) => a.scope !== 'link' && a.scope !== 'host') ?? ofFamily[0])?.address;
}
