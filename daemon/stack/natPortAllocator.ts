// Hands out NAT ports (1..65535) round-robin. Round-robin rather than
// lowest-free because the kernel side of a closed flow can linger in
// TIME_WAIT for a minute keyed by (fakeIp, natPort): reusing the port last
// freed would make a new SYN land on that old socket.
import { MAX_NAT_PORT } from './natTable';

export class NatPortAllocator {
  private readonly used = new Uint8Array(MAX_NAT_PORT + 1);
  private cursor = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_NAT_PORT) throw new Error(`NAT capacity ${capacity} must be 1..${MAX_NAT_PORT}`);
  }

  get size(): number { return this.count; }

  /** A free port, or 0 when `capacity` ports are in use. */
  allocate(): number {
    if (this.count >= this.capacity) return 0;
    for (let i = 0; i < MAX_NAT_PORT; i++) {
      this.cursor = this.cursor >= MAX_NAT_PORT ? 1 : this.cursor + 1;
      if (!this.used[this.cursor]) {
        this.used[this.cursor] = 1;
        this.count++;
        return this.cursor;
      }
    }
    return 0;
  }

  release(port: number): void {
    if (port < 1 || port > MAX_NAT_PORT || !this.used[port]) return;
    this.used[port] = 0;
    this.count--;
  }
}
