// When a new TCP connection may skip waiting for the cluster-side dial.
//
// Holding the client's SYN until the relay has dialled gives honest errors (a
// refused port is a refused connect()) but costs one tunnel round trip per
// connection. Sending the first bytes with the open (tunnel early data) saves
// it, and the price is paid only when the dial fails: the client, already
// connected, sees a reset instead of a refusal. So a destination earns early
// opens by answering: after a successful dial it is "warm" for a while, and
// any failure makes it cold again, so the next connect waits and reports the
// failure exactly. First connects to a destination always wait. Pure.

export interface EarlyOpenPolicyOptions {
  /** A destination stays warm this long after its last successful dial. Default 60 s. */
  warmForMs?: number;
  /** Destinations remembered at most (least recently warmed forgotten first). Default 4096. */
  maxDestinations?: number;
}

export class EarlyOpenPolicy {
  /** Destination → time of its last successful dial; Map order is warming order. */
  private readonly warm = new Map<string, number>();
  private readonly warmForMs: number;
  private readonly maxDestinations: number;

  constructor(opts: EarlyOpenPolicyOptions = {}) {
    this.warmForMs = opts.warmForMs ?? 60_000;
    this.maxDestinations = Math.max(1, opts.maxDestinations ?? 4096);
  }

  static key(realIp: string, port: number): string {
    return `${realIp}:${port}`;
  }

  /** True when connections to `destination` may send before the dial is confirmed. */
  mayOpenEarly(destination: string, now: number): boolean {
    const at = this.warm.get(destination);
    if (at === undefined) return false;
    if (now - at > this.warmForMs) {
      this.warm.delete(destination);
      return false;
    }
    return true;
  }

  /** A dial to `destination` succeeded. */
  dialled(destination: string, now: number): void {
    this.warm.delete(destination);
    this.warm.set(destination, now);
    if (this.warm.size > this.maxDestinations) this.warm.delete(this.warm.keys().next().value!);
  }

  /** A dial to `destination` failed: the next connection waits for its dial again. */
  failed(destination: string): void {
    this.warm.delete(destination);
  }

  get size(): number {
    return this.warm.size;
  }
}
