// Which existing routes a cluster subnet conflicts with, by Telepresence's
// rules: default routes (prefix 0), the two /1 halves with which VPNs
// override the default route, and routes through our own device never
// conflict; any other route that overlaps the subnet in either direction
// does, unless the overlapping part is carved out (allowConflictingSubnets,
// neverProxy, or a part handled by VNAT).
import { type Cidr, cidrsOverlap, isDefaultCidr, isHalfOfDefault, tryParseCidrOrHost } from '../net/cidr';
import { subtractCidrs } from '../net/cidrSubtraction';
import { type Route, formatRoute } from './route';

/** A route that may conflict, with its destination parsed once. */
export interface ConflictCandidate {
  route: Route;
  cidr: Cidr;
}

/** The routes that take part in conflict checks, in table order. */
export function conflictCandidates(routes: readonly Route[], ownDevice: string | undefined): ConflictCandidate[] {
  const out: ConflictCandidate[] = [];
  for (const route of routes) {
    if (route.isDefault || (ownDevice !== undefined && route.interface === ownDevice)) continue;
    const cidr = tryParseCidrOrHost(route.subnet);
    if (!cidr || isDefaultCidr(cidr) || isHalfOfDefault(cidr)) continue;
    out.push({ route, cidr });
  }
  return out;
}

/** The first route (in table order) that overlaps `subnet` once every CIDR in `carvedOut` is removed from it. */
export function findConflictingRoute(subnet: Cidr, candidates: readonly ConflictCandidate[], carvedOut: readonly Cidr[] = []): Route | undefined {
  const pieces = carvedOut.length ? subtractCidrs(subnet, carvedOut) : [subnet];
  if (pieces.length === 0) return undefined;
  for (const c of candidates) {
    if (c.cidr.family !== subnet.family) continue;
    for (const piece of pieces) if (cidrsOverlap(c.cidr, piece)) return c.route;
  }
  return undefined;
}

/** Telepresence's exact text, e.g. `subnet 10.43.0.0/16 overlaps with existing route "10.0.0.0/8 via 10.0.0.0 dev utun4, gw 10.0.0.1"`. */
export function subnetConflictMessage(subnet: string, route: Route): string {
  return `subnet ${subnet} overlaps with existing route "${formatRoute(route)}"`;
}
