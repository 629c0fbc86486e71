// Forwards DNS wire-format queries, unchanged, to the pod's nameservers, so
// the daemon gets exactly what a process in the pod would (records, TTLs,
// NXDOMAIN, SRV) and can apply search paths itself. UDP first; a truncated
// answer is asked again over TCP, as resolvers do.
//
// A lost datagram is sent again on the same socket well inside the daemon's
// own 2 s deadline (dnsResolution.ts): waiting a whole attempt before trying
// again would turn every lost packet into a SERVFAIL on the workstation. A
// reply to any of the copies counts, so a slow first answer is not wasted.
import { createSocket } from 'node:dgram';
import { isIPv6, connect as tcpConnect } from 'node:net';
import type { DnsServerAddress } from './resolvConf';

export interface DnsForwarderOptions {
  servers: DnsServerAddress[];
  /** Per server and round. Default 1500 ms (the daemon gives up after 2 s). */
  attemptTimeoutMs?: number;
  /** Within an attempt the query is sent again this often until a reply comes. Default 400 ms. */
  resendEveryMs?: number;
  /** Rounds over all servers. Default 2. */
  rounds?: number;
}

export type DnsForwarder = (query: Buffer) => Promise<Buffer>;

export function createDnsForwarder(opts: DnsForwarderOptions): DnsForwarder {
  const attemptMs = opts.attemptTimeoutMs ?? 1500;
  const resendMs = opts.resendEveryMs ?? 400;
  const rounds = opts.rounds ?? 2;
  return async (query) => {
    if (query.length < 12) throw Object.assign(new Error('a DNS query needs at least a 12-byte header'), { code: 'EINVAL' });
    if (opts.servers.length === 0) throw Object.assign(new Error('the relay pod has no nameserver (empty /etc/resolv.conf)'), { code: 'ENOTSUP' });
    let last: Error | undefined;
    for (let r = 0; r < rounds; r++) {
      for (const server of opts.servers) {
        try {
          const reply = await udpExchange(server, query, attemptMs, resendMs);
          // TC bit: the answer did not fit a datagram.
          if ((reply[2]! & 0x02) !== 0) return await tcpExchange(server, query, attemptMs * 2);
          return reply;
        } catch (e) {
          last = e as Error;
        }
      }
    }
    const tried = opts.servers.map((s) => `${s.host}:${s.port}`).join(', ');
    throw Object.assign(new Error(`no answer from the cluster DNS (${tried}): ${last?.message ?? 'timeout'}`), { code: (last as NodeJS.ErrnoException | undefined)?.code ?? 'ETIMEDOUT' });
  };
}

function udpExchange(server: DnsServerAddress, query: Buffer, timeoutMs: number, resendMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIPv6(server.host) ? 'udp6' : 'udp4');
    let resend: NodeJS.Timeout | undefined;
    let finished = false;
    const done = (err: Error | null, reply?: Buffer) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearInterval(resend);
      sock.close();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => done(Object.assign(new Error(`${server.host}:${server.port} did not answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
    sock.on('error', (e) => done(e));
    sock.on('message', (msg) => {
      // Only the answer to this query (same id) counts; stray datagrams are ignored.
      if (msg.length >= 12 && msg[0] === query[0] && msg[1] === query[1]) done(null, msg);
    });
    sock.connect(server.port, server.host, () => {
      sock.send(query);
      resend = setInterval(() => sock.send(query), resendMs);
    });
  });
}

function tcpExchange(server: DnsServerAddress, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = tcpConnect({ host: server.host, port: server.port });
    const parts: Buffer[] = [];
    let have = 0;
    const timer = setTimeout(() => { sock.destroy(); reject(Object.assign(new Error(`${server.host}:${server.port} (TCP) did not answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })); }, timeoutMs);
    const len = Buffer.allocUnsafe(2);
    len.writeUInt16BE(query.length, 0);
    sock.on('connect', () => { sock.write(len); sock.write(query); });
    sock.on('data', (c: Buffer) => {
      parts.push(c);
      have += c.length;
      if (have < 2) return;
      const all = Buffer.concat(parts, have);
      const need = all.readUInt16BE(0);
      if (have >= 2 + need) {
        clearTimeout(timer);
        sock.destroy();
        resolve(all.subarray(2, 2 + need));
      }
    });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('end', () => { clearTimeout(timer); reject(Object.assign(new Error(`${server.host}:${server.port} closed the TCP DNS connection early`), { code: 'ECONNRESET' })); });
  });
}
