// A full virtual range makes every new cluster name in that subnet fail. DNS
// can only answer SERVFAIL, which tells the user nothing, so the daemon's log
// (streamed to VS Code's output channel and `tpv logs`) says which range is
// full and what to change; once a minute per subnet, not once per query.
import { VirtualSubnetExhaustedError } from './virtualIpAllocator';

export class ExhaustionWarnings {
  private readonly lastWarned = new Map<string, number>();

  constructor(
    private readonly warn: (message: string) => void,
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Logs a VirtualSubnetExhaustedError (rate-limited per real subnet); any other error is not this class's business. */
  report(e: unknown, context: string): void {
    if (!(e instanceof VirtualSubnetExhaustedError)) return;
    const t = this.now();
    const last = this.lastWarned.get(e.realSubnet);
    if (last !== undefined && t - last < this.intervalMs) return;
    this.lastWarned.set(e.realSubnet, t);
    this.warn(`${context}: ${e.message}`);
  }
}
