// The daemon's Unix socket: only the owner and root get a JSON-RPC
// connection; everyone else is closed before a byte is read.
import { chmodSync, chownSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import type { ScopedLogger } from '../log/logger';
import { MessageSizeGuard } from './messageSizeGuard';
import { isPeerAllowed, peerCredentials, type PeerCredentials } from './peerCredentials';

export interface ClientConnection {
  readonly id: number;
  readonly peer: PeerCredentials;
  readonly rpc: MessageConnection;
}

export interface RpcServerOptions {
  socketPath: string;
  ownerUid: number;
  ownerGid: number;
  log: ScopedLogger;
  /** Registers handlers on a freshly accepted, authorised connection. */
  onConnection(client: ClientConnection): void;
  onDisconnect(client: ClientConnection): void;
}

export class RpcServer {
  private readonly clients = new Set<ClientConnection>();
  private nextId = 1;
  private server: Server | undefined;

  constructor(private readonly opts: RpcServerOptions) {}

  get clientCount(): number {
    return this.clients.size;
  }

  forEachClient(fn: (c: ClientConnection) => void): void {
    for (const c of this.clients) {
      try { fn(c); } catch (e) { this.opts.log.debug(`client ${c.id}: ${String(e)}`); }
    }
  }

  async listen(): Promise<void> {
    const { socketPath, ownerUid, ownerGid } = this.opts;
    // The directory is root's; the socket itself belongs to the owner with
    // mode 0600, and the peer check below is the real gate.
    mkdirSync(dirname(socketPath), { recursive: true, mode: 0o755 });
    if (existsSync(socketPath)) unlinkSync(socketPath);
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => { server.off('error', reject); resolve(); });
    });
    chmodSync(socketPath, 0o600);
    if (process.getuid?.() === 0) chownSync(socketPath, ownerUid, ownerGid);
  }

  private accept(socket: Socket): void {
    let peer: PeerCredentials;
    try {
      peer = peerCredentials(socket);
    } catch (e) {
      this.opts.log.warn(`refused a connection: cannot read peer credentials (${String(e)})`);
      socket.destroy();
      return;
    }
    if (!isPeerAllowed(peer, this.opts.ownerUid)) {
      this.opts.log.warn(`refused a connection from uid ${peer.uid} (pid ${peer.pid}): this daemon serves uid ${this.opts.ownerUid} only`);
      socket.destroy();
      return;
    }
    const guard = new MessageSizeGuard();
    guard.on('error', (e) => {
      this.opts.log.warn(`closing client uid ${peer.uid} (pid ${peer.pid}): ${e.message}`);
      socket.destroy();
    });
    socket.pipe(guard);
    socket.on('error', () => socket.destroy());
    const rpc = createMessageConnection(new StreamMessageReader(guard), new StreamMessageWriter(socket));
    const client: ClientConnection = { id: this.nextId++, peer, rpc };
    this.clients.add(client);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      this.clients.delete(client);
      rpc.dispose();
      this.opts.onDisconnect(client);
    };
    rpc.onClose(close);
    socket.on('close', close);
    this.opts.onConnection(client);
    rpc.listen();
    this.opts.log.debug(`client ${client.id} connected (uid ${peer.uid}, pid ${peer.pid})`);
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.rpc.dispose();
    this.clients.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
    try { unlinkSync(this.opts.socketPath); } catch { /* already gone */ }
  }
}
