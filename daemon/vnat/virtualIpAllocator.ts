// Virtual IPs for real IPs in VNAT subnets: handed out on first use, in
// order, stable for the whole session, never reused and never wrapped.
//
// Both directions are O(1): real → virtual is one Map lookup per block;
// virtual → real is an index into a typed array (virtual IPs are handed out
// consecutively, so the offset inside the block is the index). IPv4 stays in
// uint32 numbers end to end; the string methods are thin wrappers for DNS and
// environment rewriting. IPv6 real subnets map into an IPv6 virtual range
// with bigints (same rules, less speed).
import { type Ipv4Cidr, type Ipv6Cidr, cidrSize, cidrsOverlap, formatCidr, parseCidr } from '../net/cidr';
import { formatIpv4, ipv4Mask, parseIpv4 } from '../net/ipv4';
import { formatIpv6, ipv6Mask, parseIpv6 } from '../net/ipv6';
import type { RoutingPlan } from '../protocol/rpc';

export interface VnatBlock {
  /** The real (cluster) subnet whose IPs get virtual ones. */
  realSubnet: string;
  /** Where its virtual IPs come from (same family). */
  virtualRange: string;
}

export interface VnatMappingEntry {
  realIp: string;
  virtualIp: string;
  /** The real subnet of the block. */
  subnet: string;
}

export class VirtualSubnetExhaustedError extends Error {
  constructor(readonly realSubnet: string, readonly virtualRange: string, readonly capacity: bigint) {
    super(`no virtual IP left for cluster subnet ${realSubnet}: all ${capacity} addresses of its virtual range ${virtualRange} are in use; ` +
      'set routing.virtualSubnet to a larger subnet (e.g. a /16 or wider) and reconnect');
    this.name = 'VirtualSubnetExhaustedError';
  }
}

class Ipv4Block {
  readonly realNetwork: number;
  readonly realMask: number;
  readonly virtualNetwork: number;
  readonly capacity: number;
  readonly realToVirtual = new Map<number, number>();
  virtualToReal: Uint32Array;
  next = 0;

  constructor(readonly real: Ipv4Cidr, readonly virtual: Ipv4Cidr) {
    this.realNetwork = real.network;
    this.realMask = ipv4Mask(real.prefix);
    this.virtualNetwork = virtual.network;
    this.capacity = 2 ** (32 - virtual.prefix);
    this.virtualToReal = new Uint32Array(Math.min(this.capacity, 1024));
  }

  allocate(real: number): number {
    const known = this.realToVirtual.get(real);
    if (known !== undefined) return known;
    if (this.next >= this.capacity) throw new VirtualSubnetExhaustedError(formatCidr(this.real), formatCidr(this.virtual), BigInt(this.capacity));
    if (this.next === this.virtualToReal.length) {
      const grown = new Uint32Array(Math.min(this.capacity, this.virtualToReal.length * 2));
      grown.set(this.virtualToReal);
      this.virtualToReal = grown;
    }
    const offset = this.next++;
    const virtual = this.virtualNetwork + offset;
    this.virtualToReal[offset] = real;
    this.realToVirtual.set(real, virtual);
    return virtual;
  }
}

class Ipv6Block {
  readonly realMask: bigint;
  readonly capacity: bigint;
  readonly realToVirtual = new Map<bigint, bigint>();
  readonly virtualToReal = new Map<bigint, bigint>();
  next = 0n;

  constructor(readonly real: Ipv6Cidr, readonly virtual: Ipv6Cidr) {
    this.realMask = ipv6Mask(real.prefix);
    this.capacity = cidrSize(virtual);
  }

  allocate(real: bigint): bigint {
    const known = this.realToVirtual.get(real);
    if (known !== undefined) return known;
    if (this.next >= this.capacity) throw new VirtualSubnetExhaustedError(formatCidr(this.real), formatCidr(this.virtual), this.capacity);
    const virtual = this.virtual.network + this.next++;
    this.realToVirtual.set(real, virtual);
    this.virtualToReal.set(virtual, real);
    return virtual;
  }
}

export interface AllocatorOptions {
  /** Real IPs in these CIDRs never get virtual IPs (neverProxy carve-outs). */
  exclude?: readonly string[];
}

export class VirtualIpAllocator {
  /** Most specific real subnet first, so a VNAT CIDR inside another one wins. */
  private readonly v4: Ipv4Block[] = [];
  private readonly v6: Ipv6Block[] = [];
  private readonly excluded4: Ipv4Cidr[] = [];
  private readonly excluded6: Ipv6Cidr[] = [];

  constructor(blocks: readonly VnatBlock[], opts: AllocatorOptions = {}) {
    for (const b of blocks) {
      const real = parseCidr(b.realSubnet);
      const virtual = parseCidr(b.virtualRange);
      if (real.family !== virtual.family) throw new Error(`virtual range ${b.virtualRange} for ${b.realSubnet} is of another IP family`);
      for (const other of [...this.v4, ...this.v6]) {
        if (cidrsOverlap(other.virtual, virtual)) throw new Error(`virtual ranges ${formatCidr(other.virtual)} and ${b.virtualRange} overlap; each VNAT subnet needs its own range`);
      }
      if (real.family === 4) this.v4.push(new Ipv4Block(real, virtual as Ipv4Cidr));
      else this.v6.push(new Ipv6Block(real, virtual as Ipv6Cidr));
    }
    this.v4.sort((a, b) => b.real.prefix - a.real.prefix);
    this.v6.sort((a, b) => b.real.prefix - a.real.prefix);
    for (const text of opts.exclude ?? []) {
      const c = parseCidr(text);
      if (c.family === 4) this.excluded4.push(c); else this.excluded6.push(c);
    }
  }

  /** The allocator for a plan's vnat/proxy-via entries, with its never-proxy entries excluded. */
  static fromPlan(plan: RoutingPlan): VirtualIpAllocator {
    const blocks: VnatBlock[] = [];
    for (const e of plan.subnets) if (e.virtualRange && (e.resolution === 'vnat' || e.resolution === 'proxy-via')) blocks.push({ realSubnet: e.subnet, virtualRange: e.virtualRange });
    return new VirtualIpAllocator(blocks, { exclude: plan.subnets.filter((e) => e.resolution === 'never-proxy').map((e) => e.subnet) });
  }

  /** Which families have VNAT subnets (the environment mangler scans only those). */
  get families(): { ipv4: boolean; ipv6: boolean } {
    return { ipv4: this.v4.length > 0, ipv6: this.v6.length > 0 };
  }

  get size(): number {
    let n = 0;
    for (const b of this.v4) n += b.next;
    for (const b of this.v6) n += Number(b.next);
    return n;
  }

  /**
   * Hot path: the virtual IP (uint32) for a real one, allocating it on first
   * use; -1 when the IP is in no VNAT subnet. Throws VirtualSubnetExhaustedError.
   */
  toVirtualIpv4(real: number): number {
    real >>>= 0; // a signed result of bit operations is the same address
    const blocks = this.v4;
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i]!;
      if (((real & b.realMask) >>> 0) !== b.realNetwork) continue;
      for (let j = 0; j < this.excluded4.length; j++) {
        const x = this.excluded4[j]!;
        if (((real & ipv4Mask(x.prefix)) >>> 0) === x.network) return -1;
      }
      return b.allocate(real);
    }
    return -1;
  }

  /** Hot path: the real IP (uint32) behind a virtual one, or -1 when it was never handed out. */
  toRealIpv4(virtual: number): number {
    virtual >>>= 0;
    const blocks = this.v4;
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i]!;
      const offset = virtual - b.virtualNetwork;
      if (offset >= 0 && offset < b.next) return b.virtualToReal[offset]!;
    }
    return -1;
  }

  toVirtualIpv6(real: bigint): bigint | undefined {
    for (const b of this.v6) {
      if ((real & b.realMask) !== b.real.network) continue;
      if (this.excluded6.some((x) => (real & ipv6Mask(x.prefix)) === x.network)) return undefined;
      return b.allocate(real);
    }
    return undefined;
  }

  toRealIpv6(virtual: bigint): bigint | undefined {
    for (const b of this.v6) {
      const real = b.virtualToReal.get(virtual);
      if (real !== undefined) return real;
    }
    return undefined;
  }

  /** The virtual IP for a real one (allocating on first use), or undefined when it is in no VNAT subnet. */
  toVirtual(realIp: string): string | undefined {
    const v4 = parseIpv4(realIp);
    if (v4 >= 0) {
      const virtual = this.toVirtualIpv4(v4);
      return virtual < 0 ? undefined : formatIpv4(virtual);
    }
    if (this.v6.length === 0) return undefined;
    const v6 = parseIpv6(realIp);
    const virtual = v6 === undefined ? undefined : this.toVirtualIpv6(v6);
    return virtual === undefined ? undefined : formatIpv6(virtual);
  }

  /** The real IP behind a virtual one, or undefined when it was never handed out. */
  toReal(virtualIp: string): string | undefined {
    return this.lookupVirtual(virtualIp)?.realIp;
  }

  /** Reverse lookup with the block it belongs to. */
  lookupVirtual(virtualIp: string): VnatMappingEntry | undefined {
    const v4 = parseIpv4(virtualIp);
    if (v4 >= 0) {
      const real = this.toRealIpv4(v4);
      if (real < 0) return undefined;
      return { realIp: formatIpv4(real), virtualIp: formatIpv4(v4), subnet: formatCidr(this.blockOfVirtual4(v4)!.real) };
    }
    const v6 = parseIpv6(virtualIp);
    if (v6 === undefined) return undefined;
    for (const b of this.v6) {
      const real = b.virtualToReal.get(v6);
      if (real !== undefined) return { realIp: formatIpv6(real), virtualIp: formatIpv6(v6), subnet: formatCidr(b.real) };
    }
    return undefined;
  }

  /** Every mapping handed out so far, in allocation order per block. */
  *mappings(): IterableIterator<VnatMappingEntry> {
    for (const b of this.v4) {
      const subnet = formatCidr(b.real);
      for (let i = 0; i < b.next; i++) yield { realIp: formatIpv4(b.virtualToReal[i]!), virtualIp: formatIpv4(b.virtualNetwork + i), subnet };
    }
    for (const b of this.v6) {
      const subnet = formatCidr(b.real);
      for (const [virtual, real] of b.virtualToReal) yield { realIp: formatIpv6(real), virtualIp: formatIpv6(virtual), subnet };
    }
  }

  private blockOfVirtual4(virtual: number): Ipv4Block | undefined {
    return this.v4.find((b) => virtual - b.virtualNetwork >= 0 && virtual - b.virtualNetwork < b.next);
  }
}
