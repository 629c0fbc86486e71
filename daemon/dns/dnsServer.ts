// The local DNS server's sockets: UDP and TCP on one address:port (the TUN
// address, port 53). Everything it answers comes from `DnsResolution`; this
// file only moves bytes, bounds the work in flight and never lets a client's
// bytes crash the daemon.
import * as dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import * as net from 'node:net';
import type { DnsResolution } from './dnsResolution';
import { Rcode, errorReply } from './dnsMessages';

export interface DnsServerOptions {
  address: string;
  /** 53 in the daemon; 0 picks a free port (tests). */
  port: number;
  resolution: DnsResolution;
  /** Queries answered concurrently over all clients; more get SERVFAIL at once. Default 4096. */
  maxInFlight?: number;
  /** A TCP connection with no query for this long is closed. Default 10 s. */
  tcpIdleMs?: number;
  /** Queries one TCP connection may have in flight. Default 64. */
  maxInFlightPerTcpConnection?: number;
}

export interface DnsServer {
  readonly address: string;
  /** The port actually bound (both UDP and TCP). */
  readonly port: number;
  /** Queries currently being answered. */
  inFlight(): number;
  close(): Promise<void>;
}

export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  const maxInFlight = opts.maxInFlight ?? 4096;
  const tcpIdleMs = opts.tcpIdleMs ?? 10_000;
  const perConnection = opts.maxInFlightPerTcpConnection ?? 64;
  const resolution = opts.resolution;
  let inFlight = 0;
  let closed = false;

  /** Answers one query; resolves to undefined when nothing should be sent. */
  const answer = async (query: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> => {
    if (inFlight >= maxInFlight) return query.length >= 12 && (query[2]! & 0x80) === 0 ? errorReply(query, Rcode.SERVFAIL) : undefined;
    inFlight++;
    try {
      return await resolution.answer(query, transport);
    } finally {
      inFlight--;
    }
  };

  const udp = dgram.createSocket({ type: isIPv6(opts.address) ? 'udp6' : 'udp4' });
  udp.on('message', (msg, rinfo) => {
    void answer(msg, 'udp').then((reply) => {
      if (reply && !closed) udp.send(reply, rinfo.port, rinfo.address, () => { /* a vanished client is not our problem */ });
    });
  });
  udp.on('error', () => { /* ICMP errors for gone clients surface here; keep serving */ });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(opts.port, opts.address, () => { udp.removeListener('error', reject); resolve(); });
  });
  const port = udp.address().port;

  const connections = new Set<net.Socket>();
  const tcp = net.createServer((socket) => serveTcpConnection(socket, answer, tcpIdleMs, perConnection, connections));
  tcp.on('error', () => { /* per-connection errors are handled there */ });
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ port, host: opts.address }, () => { tcp.removeListener('error', reject); resolve(); });
    });
  } catch (err) {
    udp.close();
    throw new Error(`DNS server cannot listen on TCP ${opts.address}:${port}: ${(err as Error).message}`);
  }

  return {
    address: opts.address,
    port,
    inFlight: () => inFlight,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const c of connections) c.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}

/** DNS over TCP: 2-byte length prefix, pipelined queries, answers in completion order. */
function serveTcpConnection(
  socket: net.Socket,
  answer: (query: Buffer, transport: 'tcp') => Promise<Buffer | undefined>,
  idleMs: number,
  perConnection: number,
  connections: Set<net.Socket>,
): void {
  connections.add(socket);
  socket.setTimeout(idleMs, () => socket.destroy());
  socket.on('close', () => connections.delete(socket));
  socket.on('error', () => socket.destroy());
  let pending = Buffer.alloc(0);
  let inFlight = 0;
  socket.on('data', (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const length = pending.readUInt16BE(0);
      if (pending.length < 2 + length) break;
      const query = Buffer.from(pending.subarray(2, 2 + length));
      pending = pending.subarray(2 + length);
      if (inFlight >= perConnection) { socket.destroy(); return; }
      inFlight++;
      void answer(query, 'tcp').then((reply) => {
        inFlight--;
        if (!reply || socket.destroyed) return;
        const framed = Buffer.alloc(2 + reply.length);
        framed.writeUInt16BE(reply.length, 0);
        reply.copy(framed, 2);
        socket.write(framed);
      });
    }
  });
}
