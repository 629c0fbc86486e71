// Pod IPs from the node's pod CIDR: the first address is the bridge, the
// network and broadcast addresses are never handed out, and released
// addresses are reused only after every fresh one was used (so a replaced pod
// does not get its predecessor's IP while stale conntrack entries may linger).
import { cidrSize, formatIpv4, parseCidr, parseIpv4 } from './ipv4';

export class PodAddresses {
  private readonly base: number;
  private readonly size: number;
  private readonly used = new Set<number>();
  private next = 2;

  constructor(podCidr: string) {
    const c = parseCidr(podCidr);
    this.base = c.base;
    this.size = cidrSize(c);
  }

  allocate(): string {
    for (let tries = 0; tries < this.size; tries++) {
      const offset = this.next;
      this.next = this.next + 1 >= this.size - 1 ? 2 : this.next + 1;
      if (!this.used.has(offset)) {
        this.used.add(offset);
        return formatIpv4((this.base + offset) >>> 0);
      }
    }
    throw new Error(`the pod CIDR is full (${this.used.size} pods): delete pods or use a larger --pod-cidr`);
  }

  release(ip: string): void {
    this.used.delete((parseIpv4(ip) - this.base) >>> 0);
  }

  inUse(): number {
    return this.used.size;
  }
}
