// Every connection a TLS server accepted, while it is open, so that a restart
// can cut all of them the way a process exit does. Node's server.close() only
// stops the listener, and closeAllConnections() knows only the connections
// HTTP still owns: not the sockets an upgrade (exec, port-forward over
// WebSocket or SPDY) took over, which are exactly the long-lived ones.
import type { Server, Socket } from 'node:net';

export class ServerConnections {
  /** TCP sockets as accepted (also those still in the TLS handshake). */
  private readonly tcp = new Set<Socket>();
  /** The TLS sockets on top of them, which HTTP, ws and the SPDY session use. */
  private readonly tls = new Set<Socket>();

  constructor(server: Server) {
    const track = (set: Set<Socket>) => (s: Socket) => {
      set.add(s);
      s.once('close', () => set.delete(s));
    };
    server.on('connection', track(this.tcp));
    server.on('secureConnection', track(this.tls));
  }

  get size(): number {
    return this.tcp.size;
  }

  /**
   * Destroys every connection at once (the kernel sends FIN, or RST when
   * unread data is left, as when the process dies); the 'close' events let
   * watches, exec and port-forward release what they hold, pod side included.
   * Returns how many TCP connections there were.
   */
  destroyAll(): number {
    const n = this.tcp.size;
    for (const s of [...this.tls, ...this.tcp]) s.destroy();
    this.tls.clear();
    this.tcp.clear();
    return n;
  }
}
