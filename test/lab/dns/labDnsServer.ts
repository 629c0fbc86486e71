// A small authoritative DNS server (UDP and TCP on one address) for the lab:
// the cluster DNS in the node namespace and the corporate DNS behind the VPN.
// It answers from a synchronous function and never forwards anything.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer, Packet } from 'dns-packet';

export interface LabDnsAnswer {
  rcode: 'NOERROR' | 'NXDOMAIN' | 'REFUSED' | 'SERVFAIL';
  answers: Answer[];
  authority: Answer[];
}

export type LabDnsResolver = (name: string, type: string) => LabDnsAnswer;

export interface LabDnsServer {
  close(): Promise<void>;
}

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

/** The reply to one query, or undefined for bytes that are not a query. */
export function replyTo(query: Buffer, resolve: LabDnsResolver): Buffer | undefined {
  let packet: Packet;
  try {
    packet = dnsPacket.decode(query);
  } catch {
    return undefined;
  }
  if (packet.type !== 'query') return undefined;
  const q = packet.questions?.[0];
  const base = { type: 'response' as const, id: packet.id ?? 0, questions: packet.questions ?? [] };
  const rd = ((packet.flags ?? 0) & dnsPacket.RECURSION_DESIRED) !== 0;
  // Flags: authoritative answer, copy RD; recursion is "available" so stub resolvers do not complain.
  const flags = dnsPacket.AUTHORITATIVE_ANSWER | (rd ? dnsPacket.RECURSION_DESIRED : 0) | dnsPacket.RECURSION_AVAILABLE;
  if (!q) return dnsPacket.encode({ ...base, flags: flags | RCODE.REFUSED });
  const a = resolve(q.name, q.type);
  return dnsPacket.encode({ ...base, flags: flags | RCODE[a.rcode], answers: a.answers, authorities: a.authority });
}

export async function startLabDnsServer(address: string, port: number, resolve: LabDnsResolver): Promise<LabDnsServer> {
  const udp = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  udp.on('message', (msg, rinfo) => {
    const reply = replyTo(msg, resolve);
    if (reply) udp.send(reply, rinfo.port, rinfo.address);
  });
  udp.on('error', () => { /* a malformed peer must not crash the lab */ });
  await new Promise<void>((res, rej) => { udp.once('error', rej); udp.bind(port, address, () => { udp.off('error', rej); res(); }); });

  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((sock) => {
    sockets.add(sock);
    sock.setTimeout(10_000, () => sock.destroy());
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const reply = replyTo(buf.subarray(2, 2 + len), resolve);
        buf = buf.subarray(2 + len);
        if (!reply) { sock.destroy(); return; }
        const frame = Buffer.allocUnsafe(2 + reply.length);
        frame.writeUInt16BE(reply.length, 0);
        reply.copy(frame, 2);
        sock.write(frame);
      }
    });
    sock.on('error', () => sock.destroy());
    sock.on('close', () => sockets.delete(sock));
  });
  await new Promise<void>((res, rej) => { tcp.once('error', rej); tcp.listen(port, address, () => { tcp.off('error', rej); res(); }); });

  return {
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
}
