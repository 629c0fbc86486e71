// Everything the VNAT view shows about a mapping: which names and variables
// produced it, and how much traffic it carried. Counters are plain numbers
// updated on the data path; the list is built only when asked.
import type { VnatMapping } from '../protocol/rpc';

export interface VirtualAddressTable {
  /** Allocates on first use; undefined when the IP is in no VNAT subnet. */
  toVirtual(realIp: string): string | undefined;
  /** undefined when the virtual IP was never handed out. */
  toReal(virtualIp: string): string | undefined;
  /** The real VNAT subnet a real IP belongs to. */
  subnetOf(realIp: string): string | undefined;
}

interface Entry {
  realIp: string;
  virtualIp: string;
  subnet: string;
  names: Set<string>;
  envVars: Set<string>;
  flows: number;
  bytesIn: number;
  bytesOut: number;
  createdAt: string;
}

export class MappingRegistry {
  private readonly byReal = new Map<string, Entry>();

  constructor(private readonly table: VirtualAddressTable, private readonly changed: () => void) {}

  /** Real → virtual for DNS answers and env mangling; records the mapping. */
  toVirtual(realIp: string): string | undefined {
    const existing = this.byReal.get(realIp);
    if (existing) return existing.virtualIp;
    const virtualIp = this.table.toVirtual(realIp);
    if (virtualIp === undefined) return undefined;
    this.byReal.set(realIp, {
      realIp, virtualIp, subnet: this.table.subnetOf(realIp) ?? '', names: new Set(), envVars: new Set(),
      flows: 0, bytesIn: 0, bytesOut: 0, createdAt: new Date().toISOString(),
    });
    this.changed();
    return virtualIp;
  }

  toReal(virtualIp: string): string | undefined {
    return this.table.toReal(virtualIp);
  }

  noteName(realIp: string, name: string): void {
    const e = this.entry(realIp);
    if (e && !e.names.has(name)) { e.names.add(name); this.changed(); }
  }

  noteEnvVar(realIp: string, variable: string): void {
    const e = this.entry(realIp);
    if (e && !e.envVars.has(variable)) { e.envVars.add(variable); this.changed(); }
  }

  /** A flow to this real IP started; returns a counter the data path updates. */
  flowStarted(realIp: string): { in(n: number): void; out(n: number): void } | undefined {
    const e = this.entry(realIp);
    if (!e) return undefined;
    e.flows += 1;
    this.changed();
    return { in: (n) => { e.bytesIn += n; }, out: (n) => { e.bytesOut += n; } };
  }

  private entry(realIp: string): Entry | undefined {
    return this.byReal.get(realIp) ?? (this.toVirtual(realIp) !== undefined ? this.byReal.get(realIp) : undefined);
  }

  list(): VnatMapping[] {
    return [...this.byReal.values()].map((e) => ({
      realIp: e.realIp, virtualIp: e.virtualIp, subnet: e.subnet,
      names: [...e.names].sort(), envVars: [...e.envVars].sort(),
      flows: e.flows, bytesIn: e.bytesIn, bytesOut: e.bytesOut, createdAt: e.createdAt,
    }));
  }

  get size(): number {
    return this.byReal.size;
  }
}
