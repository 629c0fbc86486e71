// The virtual subnet that hides VNAT subnets, and how it is shared out.
import { type Cidr, cidrFromBigint, cidrSize, familyBits, formatCidr } from '../net/cidr';

/** Class E on Linux and macOS (as Telepresence); Windows does not route class E. */
export function defaultVirtualSubnet(platform: NodeJS.Platform): string {
  return platform === 'win32' ? '211.55.48.0/20' : '246.246.0.0/16';
}

/**
 * One virtual range per VNAT subnet, in order.
 *
 * Decision: the virtual subnet is cut into 2^ceil(log2(n)) equal aligned
 * slots and subnet i gets slot i, shrunk to the size of the real subnet when
 * that is smaller (a /28 never needs more than 16 virtual IPs). Ranges are
 * therefore aligned CIDRs that never overlap, a subnet's range depends only
 * on its position and the count, and a range can never be larger than its
 * real subnet, which is what lets the allocator map 1:1 without running out
 * before the real subnet does whenever the slot is at least as large.
 * Throws when there are more subnets than addresses.
 */
export function partitionVirtualSubnet(virtualSubnet: Cidr, realSubnets: readonly Cidr[]): Cidr[] {
  const n = realSubnets.length;
  if (n === 0) return [];
  const bits = familyBits(virtualSubnet.family);
  const slotPrefix = virtualSubnet.prefix + Math.ceil(Math.log2(n));
  if (slotPrefix > bits) {
    throw new Error(`virtual subnet ${formatCidr(virtualSubnet)} has ${cidrSize(virtualSubnet)} addresses, too few for ${n} VNAT subnets; set routing.virtualSubnet to a larger subnet (e.g. a /16)`);
  }
  const slotSize = 1n << BigInt(bits - slotPrefix);
  const first = BigInt(virtualSubnet.network);
  return realSubnets.map((real, i) => {
    if (real.family !== virtualSubnet.family) {
      throw new Error(`${formatCidr(real)} cannot get virtual IPs from ${formatCidr(virtualSubnet)}: the families differ`);
    }
    return cidrFromBigint(virtualSubnet.family, first + BigInt(i) * slotSize, Math.max(slotPrefix, real.prefix));
  });
}
