// Relays queries for non-cluster names to the nameservers the workstation
// used before we changed anything, and returns their reply byte for byte
// (only the id is ours on the way out and the client's on the way back).
// One socket per query, like glibc: the kernel picks a fresh random source
// port each time, and the upstream id is random too, so off-path spoofing is
// as hard as it is without us. With `socketMark` set every socket carries that
// mark, which is how our own nftables redirect recognizes and skips them.
import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import * as net from 'node:net';
import type { QueryTransport, UpstreamForward } from './dnsResolution';
import { DNS_HEADER_BYTES, messageId, sameFirstQuestion, setMessageId } from './dnsMessages';
import { markedTcpConnection, markedUdpSocket } from './markedSockets';
import { PortQuarantine } from './portQuarantine';
import { addressBytes } from './reverseNames';

export interface Nameserver {
  address: string;
  port: number;
}

export interface UpstreamForwarderOptions {
  /** Tried in order, like the stub resolver does. */
  nameservers: readonly Nameserver[];
  /** SO_MARK for every upstream socket; leave undefined for plain sockets (tests, macOS). */
  socketMark?: number;
  /** How long one nameserver gets before the next is tried; default 1500 ms. */
  attemptTimeoutMs?: number;
  /**
   * Keep each used UDP socket open this long (ms) before closing it, so the
   * kernel hands its port to no other program while conntrack still remembers
   * our flow (portQuarantine.ts). Needed behind the nftables redirect; 0 closes at once.
   */
  udpPortHoldMs?: number;
  /** Sockets held at most (default 4096). */
  maxHeldUdpSockets?: number;
}

export class UpstreamError extends Error {}

export interface UpstreamForwarder {
  /** For `DnsResolution`; throws UpstreamError when no nameserver answers. */
  forward: UpstreamForward;
  /**
   * True for a query this forwarder itself has in flight (same random id and
   * question): it came back to our own server, i.e. a redirect loop. The
   * server answers it SERVFAIL at once instead of forwarding it again.
   */
  isOwnQuery(query: Uint8Array): boolean;
  /** Closes the sockets still held for their ports. */
  close(): void;
}

export function createUpstreamForwarder(opts: UpstreamForwarderOptions): UpstreamForwarder {
  const attemptMs = opts.attemptTimeoutMs ?? 1500;
  const quarantine = opts.udpPortHoldMs
    ? new PortQuarantine<dgram.Socket>({ holdMs: opts.udpPortHoldMs, maxHeld: opts.maxHeldUdpSockets ?? 4096 })
    : undefined;
  const releaseUdp = (socket: dgram.Socket) => {
    if (!quarantine) { socket.close(); return; }
    // Late or stray datagrams are read and dropped, so none pile up in the held socket.
    socket.removeAllListeners('message').removeAllListeners('error');
    socket.on('message', () => undefined).on('error', () => undefined);
    quarantine.hold(socket);
  };
  const outstanding: Outstanding = new Map();
  const isOwnQuery = (query: Uint8Array): boolean => {
    if (query.length < DNS_HEADER_BYTES) return false;
    const sent = outstanding.get(messageId(query));
    if (sent === undefined || !sameFirstQuestion(sent.query, query)) return false;
    sent.loopedBack?.();
    return true;
  };
  const forward = async (query: Buffer, transport: QueryTransport, signal: AbortSignal) => {
    if (opts.nameservers.length === 0) throw new UpstreamError('no original nameserver is known to forward to');
    const failures: string[] = [];
    for (const ns of opts.nameservers) {
      if (signal.aborted) break;
      const attempt = AbortSignal.any([signal, AbortSignal.timeout(attemptMs)]);
      // A query that comes back to our own server took a port whose lingering conntrack entry
      // belongs to a program's redirected query: another socket gets another port.
      for (let tries = 0; tries < MAX_TRIES_PER_NAMESERVER; tries++) {
        try {
          return transport === 'tcp'
            ? await exchangeTcp(query, ns, opts.socketMark, attempt, outstanding)
            : await exchangeUdp(query, ns, opts.socketMark, attempt, outstanding, releaseUdp);
        } catch (err) {
          if (err instanceof LoopedBackError && tries + 1 < MAX_TRIES_PER_NAMESERVER && !attempt.aborted) continue;
          failures.push(`${ns.address}:${ns.port}: ${(err as Error).message}`);
          break;
        }
      }
    }
    throw new UpstreamError(`the original nameservers did not answer (${failures.join('; ') || 'cancelled'})`);
  };
  return { forward, isOwnQuery, close: () => quarantine?.closeAll() };
}

// With a busy machine's recent queries on 7 % of the ephemeral ports, one try in 14 loops back;
// five tries in a row do so about once in 600,000 forwarded queries.
const MAX_TRIES_PER_NAMESERVER = 5;

/** Our query arrived at our own server instead of the nameserver (see isOwnQuery). */
class LoopedBackError extends Error {
  constructor() {
    super('our query was redirected back to us');
  }
}

/** upstream id → the query as sent, while it is in flight, and how to fail it when it loops back. */
type Outstanding = Map<number, { query: Buffer; loopedBack?: () => void }>;

/** A random id not in flight yet. */
function freshId(outstanding: Outstanding): number {
  for (;;) {
    const b = randomBytes(2);
    const id = (b[0]! << 8) | b[1]!;
    if (!outstanding.has(id)) return id;
  }
}

function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    const x = addressBytes(a), y = addressBytes(b);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  } catch {
    return false;
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error && signal.reason.name === 'TimeoutError' ? new Error('timed out') : new Error('cancelled');
}

async function exchangeUdp(
  query: Buffer, ns: Nameserver, mark: number | undefined, signal: AbortSignal, outstanding: Outstanding, release: (socket: dgram.Socket) => void,
): Promise<Buffer> {
  const family = isIPv6(ns.address) ? 6 : 4;
  const socket = mark === undefined ? dgram.createSocket(family === 6 ? 'udp6' : 'udp4') : await markedUdpSocket(family, mark);
  const outgoing = Buffer.from(query);
  const id = freshId(outstanding);
  setMessageId(outgoing, id);
  const entry: { query: Buffer; loopedBack?: () => void } = { query: outgoing };
  outstanding.set(id, entry);
  const clientId = messageId(query);
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      if (signal.aborted) { reject(abortError(signal)); return; }
      entry.loopedBack = () => reject(new LoopedBackError());
      signal.addEventListener('abort', () => reject(abortError(signal)), { once: true });
      socket.on('error', reject);
      socket.on('message', (msg, rinfo) => {
        // Anything but the reply to this question from this server is ignored.
        if (rinfo.port !== ns.port || !sameAddress(rinfo.address, ns.address)) return;
        if (msg.length < DNS_HEADER_BYTES || messageId(msg) !== id || !sameFirstQuestion(msg, outgoing)) return;
        setMessageId(msg, clientId);
        resolve(msg);
      });
      socket.send(outgoing, ns.port, ns.address, (err) => { if (err) reject(err); });
    });
  } finally {
    outstanding.delete(id);
    release(socket);
  }
}

async function exchangeTcp(query: Buffer, ns: Nameserver, mark: number | undefined, signal: AbortSignal, outstanding: Outstanding): Promise<Buffer> {
  const family = isIPv6(ns.address) ? 6 : 4;
  const socket = mark === undefined ? net.connect(ns.port, ns.address) : markedTcpConnection(family, mark, ns.address, ns.port);
  const outgoing = Buffer.alloc(2 + query.length);
  outgoing.writeUInt16BE(query.length, 0);
  query.copy(outgoing, 2);
  const id = freshId(outstanding);
  setMessageId(outgoing.subarray(2), id);
  const entry: { query: Buffer; loopedBack?: () => void } = { query: outgoing.subarray(2) };
  outstanding.set(id, entry);
  const clientId = messageId(query);
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      if (signal.aborted) { reject(abortError(signal)); return; }
      entry.loopedBack = () => reject(new LoopedBackError());
      signal.addEventListener('abort', () => reject(abortError(signal)), { once: true });
      let received = Buffer.alloc(0);
      socket.on('error', reject);
      socket.on('close', () => reject(new Error('connection closed before a reply')));
      socket.on('data', (chunk) => {
        received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
        while (received.length >= 2) {
          const length = received.readUInt16BE(0);
          if (received.length < 2 + length) return;
          const msg = Buffer.from(received.subarray(2, 2 + length));
          received = received.subarray(2 + length);
          if (msg.length >= DNS_HEADER_BYTES && messageId(msg) === id && sameFirstQuestion(msg, outgoing.subarray(2))) {
            setMessageId(msg, clientId);
            resolve(msg);
            return;
          }
        }
      });
      socket.write(outgoing);
    });
  } finally {
    outstanding.delete(id);
    socket.destroy();
  }
}
