// Keeps the forwarder's used UDP sockets open until the kernel has forgotten
// their flows. Behind the nftables redirect, a query from port P to the
// original nameserver is redirected only when conntrack sees it as new. Our
// forwarder's own (marked, not redirected) query from P leaves a conntrack
// entry that lives on for nf_conntrack_udp_timeout (30 s) after its socket
// closes; a program that is handed the same port P in that time sends its
// query down that existing entry, straight to the original nameserver, which
// answers NXDOMAIN for a cluster name. While our socket still holds P, the
// kernel gives P to nobody else, so holding it for the entry's lifetime
// closes that window.
//
// Sockets are held in the order they were released; with one hold time that
// is also the order they expire in, so one timer for the oldest suffices.

export interface Closable {
  close(): void;
}

export interface PortQuarantineOptions {
  /** How long a released socket stays open: the UDP conntrack timeout plus a margin. */
  holdMs: number;
  /** Sockets held at most; past it the oldest is closed early (a bounded share of the ephemeral ports). */
  maxHeld: number;
  now?: () => number;
  /** Runs `fire` after `ms`; returns a cancel function. Default: an unref'd setTimeout. */
  schedule?: (fire: () => void, ms: number) => () => void;
}

export class PortQuarantine<S extends Closable> {
  private readonly held: Array<{ socket: S; until: number }> = [];
  private head = 0;
  private cancelTimer: (() => void) | undefined;
  private readonly now: () => number;
  private readonly schedule: (fire: () => void, ms: number) => () => void;
  /** Sockets closed before their hold time because the quarantine was full. */
  closedEarly = 0;

  constructor(private readonly opts: PortQuarantineOptions) {
    this.now = opts.now ?? Date.now;
    this.schedule = opts.schedule ?? defaultSchedule;
  }

  get size(): number {
    return this.held.length - this.head;
  }

  /** Takes a socket whose exchange is over; it is closed `holdMs` from now. */
  hold(socket: S): void {
    this.held.push({ socket, until: this.now() + this.opts.holdMs });
    while (this.size > this.opts.maxHeld) {
      this.closeOldest();
      this.closedEarly++;
    }
    this.compact();
    if (!this.cancelTimer) this.armTimer();
  }

  /** Closes every held socket now (the forwarder is going away). */
  closeAll(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    while (this.size > 0) this.closeOldest();
    this.compact();
  }

  private expire = (): void => {
    this.cancelTimer = undefined;
    const now = this.now();
    while (this.size > 0 && this.held[this.head]!.until <= now) this.closeOldest();
    this.compact();
    this.armTimer();
  };

  private armTimer(): void {
    if (this.size === 0) return;
    this.cancelTimer = this.schedule(this.expire, Math.max(0, this.held[this.head]!.until - this.now()));
  }

  private closeOldest(): void {
    const entry = this.held[this.head]!;
    this.held[this.head++] = undefined as never;
    try {
      entry.socket.close();
    } catch {
      /* already closed: nothing left to hold */
    }
  }

  /** Drops the closed prefix once it is most of the array (amortized O(1) per socket). */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.held.length) {
      this.held.splice(0, this.head);
      this.head = 0;
    } else if (this.size === 0) {
      this.held.length = 0;
      this.head = 0;
    }
  }
}

function defaultSchedule(fire: () => void, ms: number): () => void {
  const timer = setTimeout(fire, ms);
  timer.unref();
  return () => clearTimeout(timer);
}
