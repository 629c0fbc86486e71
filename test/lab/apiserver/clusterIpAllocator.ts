// ClusterIP allocation from the service CIDR, as the real allocator does:
// the first address is the network, .1 goes to `kubernetes`, explicit
// requests must fall inside the range and be free. Pure (no storage): the
// registry tells it which addresses are taken.
import { invalid } from './apiStatus';

export interface Cidr { base: number; bits: number; size: number }

export function parseCidr(cidr: string): Cidr {
  const [addr, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const octets = (addr ?? '').split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255) || !Number.isInteger(bits) || bits < 8 || bits > 30) {
    throw new Error(`"${cidr}" is not an IPv4 CIDR between /8 and /30: give the service CIDR as a.b.c.d/n`);
  }
  const size = 2 ** (32 - bits);
  const raw = ((octets[0]! << 24) >>> 0) + (octets[1]! << 16) + (octets[2]! << 8) + octets[3]!;
  return { base: raw - (raw % size), bits, size };
}

export function ipToNumber(ip: string): number | undefined {
  const o = ip.split('.');
  if (o.length !== 4) return undefined;
  const n = o.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  if (n.some((x) => !(x >= 0 && x <= 255))) return undefined;
  return ((n[0]! << 24) >>> 0) + (n[1]! << 16) + (n[2]! << 8) + n[3]!;
}

export function numberToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export class ClusterIpAllocator {
  private readonly range: Cidr;
  private next = 0;

  constructor(readonly serviceCidr: string) {
    this.range = parseCidr(serviceCidr);
  }

  contains(ip: string): boolean {
    const n = ipToNumber(ip);
    return n !== undefined && n > this.range.base && n < this.range.base + this.range.size - 1;
  }

  /** Throws the 422 the real server gives for an address outside the range or already taken. */
  validateRequested(serviceName: string, ip: string, taken: ReadonlySet<string>): void {
    if (ipToNumber(ip) === undefined) {
      throw invalid('Service', '', serviceName, [{ field: 'spec.clusterIPs[0]', value: ip, message: 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)' }]);
    }
    if (!this.contains(ip)) {
      throw invalid('Service', '', serviceName, [{ field: 'spec.clusterIPs', value: [ip], message: `failed to allocate IP ${ip}: the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${this.serviceCidr}` }]);
    }
    if (taken.has(ip)) {
      throw invalid('Service', '', serviceName, [{ field: 'spec.clusterIPs', value: [ip], message: `failed to allocate IP ${ip}: provided IP is already allocated` }]);
    }
  }

  /**
   * The next free address, skipping .1 (kubernetes) and the lower sixteenth
   * of the range the real allocator keeps for static addresses (kube-dns's .10).
   */
  allocate(serviceName: string, taken: ReadonlySet<string>): string {
    const usable = this.range.size - 2;
    const reserved = Math.min(Math.max(16, Math.floor(usable / 16)), 256);
    const dynamic = usable - reserved;
    for (let i = 0; i < usable; i++) {
      const offset = dynamic > 0 && i < dynamic ? reserved + 1 + ((this.next + i) % dynamic) : 1 + ((i - Math.max(dynamic, 0)) % Math.max(reserved, 1));
      const ip = numberToIp(this.range.base + offset);
      if (!taken.has(ip)) {
        if (dynamic > 0 && i < dynamic) this.next = (this.next + i + 1) % dynamic;
        return ip;
      }
    }
    throw invalid('Service', '', serviceName, [{ field: 'spec.clusterIPs', message: `failed to allocate a serviceIP: range is full (${this.serviceCidr})` }]);
  }
}
