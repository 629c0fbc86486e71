// Malformed and truncated DNS queries against the daemon's resolver, run in
// the workstation namespace (`node --import tsx dnsFuzz.ts JSON`). Prints
// one JSON line: how many were sent, which deserved an answer (at least a
// header, and a query rather than a response), how many got exactly one
// well-formed reply with their id, and what the replies said.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { seededRandom, type Random } from './packetFuzz';

export interface DnsFuzzTask {
  server: string;
  port: number;
  seed: number;
  udpQueries: number;
  tcpConnections: number;
  /** Names the base queries ask for (cluster names, forwarded names...). */
  names: string[];
  /** Outstanding UDP queries at most (the daemon's socket buffer must not overflow). */
  window: number;
  replyTimeoutMs: number;
}

export interface DnsFuzzResult {
  udpSent: number;
  udpExpectingReply: number;
  udpAnswered: number;
  udpUnanswered: number;
  udpUnexpectedReplies: number;
  udpBadReplies: number;
  duplicateReplies: number;
  rcodes: Record<string, number>;
  mutations: Record<string, number>;
  tcpConnections: number;
  tcpFramesSent: number;
  tcpReplies: number;
  tcpBadReplies: number;
  firstProblems: string[];
  /** UDP answers that took a second or more, by rcode: a resolver waiting out its own deadline. */
  slowAnswers: Record<string, number>;
  /** The slowest UDP answers: how long, what they said, and the question (when it decodes). */
  slowest: Array<{ ms: number; rcode: string; how: string; question: string }>;
  ms: number;
}

const int = (r: Random, n: number) => Math.floor(r() * n);
const pick = <T>(r: Random, xs: readonly T[]): T => xs[int(r, xs.length)]!;
const TYPES = ['A', 'AAAA', 'PTR', 'SRV', 'TXT', 'ANY', 'MX', 'CNAME', 'NS', 'SOA'] as const;

function baseQuery(r: Random, names: string[], id: number): Buffer {
  const roll = r();
  const name = roll < 0.6 ? pick(r, names)
    : roll < 0.8 ? `${int(r, 256)}.${int(r, 256)}.246.246.in-addr.arpa`
      : Array.from({ length: 1 + int(r, 5) }, () => Array.from({ length: 1 + int(r, 12) }, () => 'abcdefghijklmnopqrstuvwxyz0123456789-'[int(r, 37)]).join('')).join('.');
  return dnsPacket.encode({
    type: 'query', id, flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: pick(r, TYPES) as dnsPacket.RecordType, class: 'IN', name }],
    additionals: r() < 0.3 ? [{ type: 'OPT', name: '.', udpPayloadSize: pick(r, [0, 512, 1232, 4096, 65535]) } as dnsPacket.Answer] : [],
  });
}

/** One mutation of a valid query; returns the bytes and the mutation's name. */
function mutate(r: Random, q: Buffer, id: number): { bytes: Buffer; how: string } {
  const b = Buffer.from(q);
  const setId = (x: Buffer) => { if (x.length >= 2) x.writeUInt16BE(id, 0); return x; };
  switch (int(r, 18)) {
    case 0: return { bytes: setId(b.subarray(0, int(r, b.length))), how: 'truncated' };
    case 1: { for (let i = 0; i < 1 + int(r, 6); i++) b[2 + int(r, b.length - 2)] = int(r, 256); return { bytes: b, how: 'bytes-flipped' }; }
    case 2: b.writeUInt16BE(pick(r, [0, 2, 3, 65535]), 4); return { bytes: b, how: 'qdcount' };
    case 3: b[2] = (b[2]! & 0x87) | (pick(r, [1, 2, 4, 5, 15]) << 3); return { bytes: b, how: 'opcode' };
    case 4: b[2] = b[2]! | 0x80; return { bytes: b, how: 'response-bit' };
    case 5: b[12] = 64 + int(r, 63); return { bytes: b, how: 'label-over-63' };
    case 6: b[12] = 0xc0; b[13] = 12; return { bytes: b, how: 'pointer-loop-in-question' };
    case 7: {
      // A name longer than 255 bytes: 5 labels of 63.
      const long = Buffer.alloc(12 + 5 * 64 + 1 + 4);
      b.copy(long, 0, 0, 12);
      long.writeUInt16BE(1, 4); long.writeUInt16BE(0, 6); long.writeUInt16BE(0, 8); long.writeUInt16BE(0, 10);
      let o = 12;
      for (let i = 0; i < 5; i++) { long[o++] = 63; long.fill(0x61 + i, o, o + 63); o += 63; }
      long[o++] = 0; long.writeUInt16BE(1, o); long.writeUInt16BE(1, o + 2);
      return { bytes: long, how: 'name-over-255' };
    }
    case 8: b.writeUInt16BE(pick(r, [1, 5, 65535]), 6); b.writeUInt16BE(pick(r, [1, 65535]), 10); return { bytes: b, how: 'counts-lie' };
    case 9: {
      // An additional record whose name is a pointer to itself and whose rdlength runs off the end.
      const extra = Buffer.from([0xc0, b.length & 0xff, 0x00, 0x29, 0x10, 0x00, 0, 0, 0, 0, 0xff, 0xff]);
      const x = Buffer.concat([b, extra]);
      x.writeUInt16BE(1, 10);
      return { bytes: x, how: 'additional-pointer-loop' };
    }
    case 10: { const end = b.length - 4; if (end > 12) b.writeUInt16BE(pick(r, [3, 4, 254, 255, 0x1234]), end + 2); return { bytes: b, how: 'class' }; }
    case 11: { const end = b.length - 4; if (end > 12) b.writeUInt16BE(pick(r, [0, 41, 252, 255, 65535]), end); return { bytes: b, how: 'type' }; }
    case 12: { const g = Buffer.alloc(int(r, 600)); for (let i = 0; i < g.length; i++) g[i] = int(r, 256); if (g.length > 2) g[2]! &= 0x7f; return { bytes: setId(g), how: 'random-bytes' }; }
    case 13: b[12] = 0; return { bytes: b, how: 'empty-first-label' };
    case 14: { for (let i = 13; i < Math.min(b.length - 4, 30); i++) b[i] = 0x80 + int(r, 128); return { bytes: b, how: 'non-ascii-label' }; }
    case 15: case 16: {
      // A "." (or a NUL) inside a label: legal on the wire, but dotted text cannot tell it from two labels.
      const end = b.length - 4;
      if (end > 14) b[13 + int(r, Math.min(end - 14, 20))] = r() < 0.7 ? 0x2e : 0x00;
      return { bytes: b, how: 'dot-or-nul-in-label' };
    }
    default: return { bytes: b, how: 'valid' };
  }
}

/** Whether the daemon owes this query an answer (dnsResolution.ts drops the rest). */
function deservesReply(q: Buffer): boolean {
  return q.length >= 12 && (q[2]! & 0x80) === 0;
}

/** End of the first question when it is made of plain labels, else -1. */
function questionEnd(m: Buffer): number {
  if (m.length < 12 || m.readUInt16BE(4) < 1) return -1;
  let o = 12;
  while (o < m.length && m[o] !== 0) { if (m[o]! & 0xc0) return -1; o += 1 + m[o]!; }
  return o + 5 <= m.length ? o + 5 : -1;
}

function replyProblem(reply: Buffer, id: number, query: Buffer): string | undefined {
  if (reply.length < 12) return `reply of ${reply.length} bytes`;
  if ((reply[2]! & 0x80) === 0) return 'reply without the response bit';
  if (reply.readUInt16BE(0) !== id) return `reply id ${reply.readUInt16BE(0)} for query ${id}`;
  try { dnsPacket.decode(reply); } catch (e) { return `reply does not decode: ${(e as Error).message}`; }
  // A resolver drops a reply whose question is not the one it asked.
  const qEnd = questionEnd(query);
  if (qEnd > 0 && reply.readUInt16BE(4) >= 1 && !reply.subarray(12, qEnd).equals(query.subarray(12, qEnd))) return 'the reply carries another question';
  return undefined;
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

const SLOW_MS = 1000;
const SLOWEST_KEPT = 8;

function noteLatency(res: DnsFuzzResult, ms: number, rcode: string, how: string, query: Buffer): void {
  if (ms >= SLOW_MS) res.slowAnswers[rcode] = (res.slowAnswers[rcode] ?? 0) + 1;
  if (res.slowest.length === SLOWEST_KEPT && ms <= res.slowest[SLOWEST_KEPT - 1]!.ms) return;
  res.slowest.push({ ms, rcode, how, question: describeQuestion(query) });
  res.slowest.sort((a, b) => b.ms - a.ms);
  res.slowest.length = Math.min(res.slowest.length, SLOWEST_KEPT);
}

function describeQuestion(query: Buffer): string {
  try {
    const q = dnsPacket.decode(query).questions?.[0];
    return q ? `${q.name} ${q.type} ${q.class}` : 'no question';
  } catch {
    return `undecodable ${query.subarray(0, 48).toString('hex')}`;
  }
}

async function udpFuzz(task: DnsFuzzTask, r: Random, res: DnsFuzzResult): Promise<void> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((ok) => sock.bind(0, ok));
  // id → what we sent; ids are recycled only after their query settled.
  const outstanding = new Map<number, { expect: boolean; timer: NodeJS.Timeout; answered: number; query: Buffer; how: string; sentAt: number }>();
  const freeIds = Array.from({ length: 65536 }, (_, i) => i);
  let settle: (() => void) | undefined;
  const done = (id: number) => {
    const o = outstanding.get(id);
    if (!o) return;
    clearTimeout(o.timer);
    outstanding.delete(id);
    if (o.expect) { if (o.answered >= 1) res.udpAnswered++; else res.udpUnanswered++; }
    freeIds.push(id);
    settle?.();
  };
  sock.on('message', (m) => {
    if (m.length < 2) { res.udpBadReplies++; return; }
    const id = m.readUInt16BE(0);
    const o = outstanding.get(id);
    if (!o) { res.duplicateReplies++; return; }
    if (!o.expect) { res.udpUnexpectedReplies++; if (res.firstProblems.length < 10) res.firstProblems.push(`a reply to a query that deserved none (id ${id})`); }
    o.answered++;
    const problem = replyProblem(m, id, o.query);
    if (problem) { res.udpBadReplies++; if (res.firstProblems.length < 10) res.firstProblems.push(`${problem}; query (${o.how}) ${o.query.toString('hex')}; reply ${m.toString('hex')}`); }
    else {
      const rc = RCODES[m[3]! & 0x0f] ?? `rcode${m[3]! & 0x0f}`;
      res.rcodes[rc] = (res.rcodes[rc] ?? 0) + 1;
      noteLatency(res, Date.now() - o.sentAt, rc, o.how, o.query);
    }
    done(id);
  });
  for (let i = 0; i < task.udpQueries; i++) {
    while (outstanding.size >= task.window) await new Promise<void>((ok) => { settle = ok; });
    const id = freeIds.shift()!;
    const { bytes, how } = mutate(r, baseQuery(r, task.names, id), id);
    res.mutations[how] = (res.mutations[how] ?? 0) + 1;
    const expect = deservesReply(bytes);
    if (expect) res.udpExpectingReply++;
    // A query that deserves no answer is settled after a short wait (a reply would still be caught as unexpected until then).
    const timer = setTimeout(() => done(id), expect ? task.replyTimeoutMs : 500);
    outstanding.set(id, { expect, timer, answered: 0, query: bytes, how, sentAt: Date.now() });
    sock.send(bytes, task.port, task.server);
    res.udpSent++;
  }
  while (outstanding.size > 0) await new Promise<void>((ok) => { settle = ok; });
  sock.close();
}

async function tcpFuzz(task: DnsFuzzTask, r: Random, res: DnsFuzzResult): Promise<void> {
  let next = 0;
  const worker = async () => { while (next < task.tcpConnections) { next++; await tcpConnection(task, r, res); } };
  await Promise.all(Array.from({ length: 16 }, worker));
}

async function tcpConnection(task: DnsFuzzTask, r: Random, res: DnsFuzzResult): Promise<void> {
  await new Promise<void>((resolve) => {
    const s = net.connect(task.port, task.server);
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => s.destroy(), 3000);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const reply = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + reply.length);
        res.tcpReplies++;
        if (reply.length < 12 || (reply[2]! & 0x80) === 0) { res.tcpBadReplies++; if (res.firstProblems.length < 10) res.firstProblems.push(`TCP reply of ${reply.length} bytes`); }
      }
    });
    s.on('error', () => { /* the server may close on garbage */ });
    s.on('close', () => { clearTimeout(timer); resolve(); });
    s.on('connect', () => {
      const frames: Buffer[] = [];
      for (let f = 0; f < 1 + int(r, 8); f++) {
        const id = int(r, 65536);
        const { bytes } = mutate(r, baseQuery(r, task.names, id), id);
        const len = Buffer.alloc(2);
        const roll = r();
        // Frames whose length prefix says 0, says more than follows, or says the truth.
        len.writeUInt16BE(roll < 0.1 ? 0 : roll < 0.2 ? Math.min(65535, bytes.length + 1 + int(r, 1000)) : bytes.length, 0);
        frames.push(len, bytes);
        res.tcpFramesSent++;
      }
      const all = Buffer.concat(frames);
      // Sometimes split mid-frame, sometimes end with a lone byte of a length prefix.
      const cut = r() < 0.3 ? int(r, all.length) : all.length;
      s.write(all.subarray(0, cut));
      const lone = r() < 0.5;
      setTimeout(() => (lone ? s.end(Buffer.from([0x01])) : s.end()), 50 + int(r, 200));
    });
  });
  res.tcpConnections++;
}

async function main(task: DnsFuzzTask): Promise<DnsFuzzResult> {
  const r = seededRandom(task.seed);
  const res: DnsFuzzResult = {
    udpSent: 0, udpExpectingReply: 0, udpAnswered: 0, udpUnanswered: 0, udpUnexpectedReplies: 0, udpBadReplies: 0, duplicateReplies: 0,
    rcodes: {}, mutations: {}, tcpConnections: 0, tcpFramesSent: 0, tcpReplies: 0, tcpBadReplies: 0, firstProblems: [], slowAnswers: {}, slowest: [], ms: 0,
  };
  const t0 = Date.now();
  await Promise.all([udpFuzz(task, r, res), tcpFuzz(task, seededRandom(task.seed + 1), res)]);
  res.ms = Date.now() - t0;
  return res;
}

main(JSON.parse(process.argv[2]!) as DnsFuzzTask).then(
  (res) => { process.stdout.write(`${JSON.stringify(res)}\n`); process.exit(0); },
  (e: Error) => { process.stdout.write(`${JSON.stringify({ error: e.stack ?? e.message })}\n`); process.exit(1); },
);
