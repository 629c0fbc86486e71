// The server and forwarder over real loopback sockets (no privileges needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { RecordType } from 'dns-packet';
import { startLocalDns, type LocalDns } from '../../../daemon/dns/localDns';
import { DnsResolution } from '../../../daemon/dns/dnsResolution';
import { startDnsServer } from '../../../daemon/dns/dnsServer';
import type { Nameserver } from '../../../daemon/dns/upstreamForwarder';
import { createUpstreamForwarder } from '../../../daemon/dns/upstreamForwarder';

/** A fake "corporate" nameserver on loopback answering every A query with 192.0.2.44, over UDP and TCP. */
async function fakeCorporateDns(): Promise<{ port: number; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const reply = (q: Buffer): Buffer => {
    const p = dnsPacket.decode(q);
    const name = p.questions![0]!.name;
    seen.push(name);
    return dnsPacket.encode({ type: 'response', id: p.id, flags: 0x8180, questions: p.questions, answers: [{ type: 'A', name, ttl: 3600, data: '192.0.2.44' }] });
  };
  const udp = dgram.createSocket('udp4');
  udp.on('message', (m, r) => udp.send(reply(m), r.port, r.address));
  await new Promise<void>((res) => udp.bind(0, '127.0.0.1', () => res()));
  const port = udp.address().port;
  const tcp = net.createServer((s) => {
    s.on('data', (d) => {
      const out = reply(d.subarray(2));
      const framed = Buffer.alloc(2 + out.length);
      framed.writeUInt16BE(out.length, 0);
      out.copy(framed, 2);
      s.end(framed);
    });
  });
  await new Promise<void>((res) => tcp.listen(port, '127.0.0.1', () => res()));
  return { port, seen, close: async () => { udp.close(); await new Promise((res) => tcp.close(res)); } };
}

async function startDns(upstreamPort: number, extra: { clusterDelayMs?: number } = {}): Promise<LocalDns> {
  return startLocalDns({
    listen: { address: '127.0.0.1', port: 0 },
    namespace: 'default',
    namespaces: ['default'],
    originalNameservers: [{ address: '127.0.0.1', port: upstreamPort }],
    clusterResolver: async (name) => {
      if (extra.clusterDelayMs) await new Promise((r) => setTimeout(r, extra.clusterDelayMs));
      return name === 'echo.default.svc.cluster.local'
        ? { rcode: 'NOERROR', answers: [{ type: 'A', name, ttl: 30, data: '10.130.0.20' }] }
        : { rcode: 'NXDOMAIN' };
    },
    toVirtual: (ip) => (ip === '10.130.0.20' ? '246.246.0.1' : undefined),
    clusterTimeoutMs: 300,
  });
}

function udpAsk(port: number, name: string, type: RecordType = 'A'): Promise<dnsPacket.DecodedPacket & { rcode?: string }> {
  const s = dgram.createSocket('udp4');
  const id = Math.floor(Math.random() * 65536);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { s.close(); reject(new Error(`no UDP answer for ${name}`)); }, 3000);
    s.on('message', (m) => { clearTimeout(t); s.close(); const r = dnsPacket.decode(m); assert.equal(r.id, id); resolve(r); });
    s.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }] }), port, '127.0.0.1');
  });
}

function tcpAskMany(port: number, names: string[]): Promise<Array<dnsPacket.DecodedPacket>> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const out: dnsPacket.DecodedPacket[] = [];
    let buf = Buffer.alloc(0);
    s.on('error', reject);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length === names.length) { s.end(); resolve(out); }
    });
    // All queries pipelined in one write.
    s.write(Buffer.concat(names.map((name, i) => dnsPacket.streamEncode({ type: 'query', id: i, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A' }] }))));
  });
}

test('UDP: cluster names get virtual IPs, other names are relayed from the original nameserver', async (t) => {
  const corp = await fakeCorporateDns();
  const dns = await startDns(corp.port);
  t.after(async () => { await dns.close(); await corp.close(); });
  const echo = await udpAsk(dns.port, 'echo');
  assert.deepEqual(echo.answers!.map((a) => (a as { data: string }).data), ['246.246.0.1']);
  const intranet = await udpAsk(dns.port, 'intranet.corp');
  assert.deepEqual(intranet.answers!.map((a) => [(a as { data: string }).data, (a as { ttl: number }).ttl]), [['192.0.2.44', 3600]]);
  assert.deepEqual(corp.seen, ['intranet.corp']);
});

test('TCP: pipelined queries on one connection are all answered', async (t) => {
  const corp = await fakeCorporateDns();
  const dns = await startDns(corp.port);
  t.after(async () => { await dns.close(); await corp.close(); });
  const names = ['echo', 'intranet.corp', 'echo.default', 'nope.default.svc.cluster.local'];
  const replies = await tcpAskMany(dns.port, names);
  const byId = new Map(replies.map((r) => [r.id, r as dnsPacket.DecodedPacket & { rcode: string }]));
  assert.equal((byId.get(0)!.answers![0] as { data: string }).data, '246.246.0.1');
  assert.equal((byId.get(1)!.answers![0] as { data: string }).data, '192.0.2.44');
  assert.equal((byId.get(2)!.answers![0] as { data: string }).data, '246.246.0.1');
  assert.equal(byId.get(3)!.rcode, 'NXDOMAIN');
  assert.ok(corp.seen.includes('intranet.corp'), 'forwarded over TCP upstream');
});

test('a slow cluster gives SERVFAIL in time while other clients are served', async (t) => {
  const corp = await fakeCorporateDns();
  const dns = await startDns(corp.port, { clusterDelayMs: 2000 });
  t.after(async () => { await dns.close(); await corp.close(); });
  const started = Date.now();
  const [slow, fast] = await Promise.all([udpAsk(dns.port, 'echo.default.svc.cluster.local'), udpAsk(dns.port, 'example.com')]);
  assert.equal((slow as { rcode?: string }).rcode, 'SERVFAIL');
  assert.equal((fast.answers![0] as { data: string }).data, '192.0.2.44');
  assert.ok(Date.now() - started < 1500);
});

test('the forwarder ignores replies from the wrong source or with the wrong id, and fails over', async () => {
  // A "nameserver" that answers with a wrong id first, then never properly.
  const liar = dgram.createSocket('udp4');
  liar.on('message', (m, r) => {
    const p = dnsPacket.decode(m);
    liar.send(dnsPacket.encode({ type: 'response', id: (p.id! + 1) & 0xffff, questions: p.questions, answers: [{ type: 'A', name: p.questions![0]!.name, data: '6.6.6.6' }] }), r.port, r.address);
  });
  await new Promise<void>((res) => liar.bind(0, '127.0.0.1', () => res()));
  const corp = await fakeCorporateDns();
  try {
    const { forward } = createUpstreamForwarder({
      nameservers: [{ address: '127.0.0.1', port: liar.address().port }, { address: '127.0.0.1', port: corp.port }],
      attemptTimeoutMs: 200,
    });
    const q = dnsPacket.encode({ type: 'query', id: 4242, questions: [{ name: 'x.example', type: 'A' }] });
    const reply = dnsPacket.decode(await forward(q, 'udp', new AbortController().signal));
    assert.equal(reply.id, 4242);
    assert.equal((reply.answers![0] as { data: string }).data, '192.0.2.44');
    await assert.rejects(
      createUpstreamForwarder({ nameservers: [], attemptTimeoutMs: 50 }).forward(q, 'udp', new AbortController().signal),
      /no original nameserver/,
    );
  } finally {
    liar.close();
    await corp.close();
  }
});

test('the server refuses to forward to itself instead of looping', async (t) => {
  const probe = dgram.createSocket('udp4');
  await new Promise<void>((res) => probe.bind(0, '127.0.0.1', () => res()));
  const port = probe.address().port;
  probe.close();
  const dns = await startLocalDns({
    listen: { address: '127.0.0.1', port },
    namespace: 'default',
    originalNameservers: [{ address: '127.0.0.1', port }],
    clusterResolver: async () => ({ rcode: 'NXDOMAIN' }),
    toVirtual: () => undefined,
  });
  t.after(() => dns.close());
  const started = Date.now();
  const r = await udpAsk(dns.port, 'example.com');
  assert.equal((r as { rcode?: string }).rcode, 'SERVFAIL');
  assert.ok(Date.now() - started < 1000, 'answered at once, not after a loop ran into the deadline');
  assert.equal(dns.resolution.stats.queries, 1);
});

test('a query of our own forwarder that comes back to us (a redirect loop) is recognized at once, sent again from other sockets a few times, then answered SERVFAIL', async (t) => {
  // The forwarder points at the server itself, as an unmarked forwarder behind the DNAT redirect would.
  const nameservers: Nameserver[] = [];
  const upstream = createUpstreamForwarder({ nameservers, attemptTimeoutMs: 1000 });
  const resolution = new DnsResolution({
    namespace: 'default', clusterResolver: async () => ({ rcode: 'NXDOMAIN' }), toVirtual: () => undefined,
    forward: upstream.forward, isOwnQuery: upstream.isOwnQuery,
  });
  const server = await startDnsServer({ address: '127.0.0.1', port: 0, resolution });
  t.after(() => server.close());
  nameservers.push({ address: '127.0.0.1', port: server.port });
  const started = Date.now();
  const r = await udpAsk(server.port, 'example.com');
  assert.equal((r as { rcode?: string }).rcode, 'SERVFAIL');
  assert.ok(Date.now() - started < 500, 'no waiting for a deadline');
  // A port whose conntrack entry belongs to a program's redirected query loops once; one that always loops is a setup error.
  assert.equal(resolution.stats.loops, 5, 'each of the five tries came back and was recognized');
  assert.equal(resolution.stats.forwarded, 1, 'the client\'s query was forwarded once; the loops were not forwarded again');
});
