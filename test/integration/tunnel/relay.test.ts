// The built relay as a child process on loopback, driven by a daemon-side
// session over TCP: what the pod does, minus Kubernetes.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { dnsQuery } from '../../../daemon/tunnel/dnsOverTunnel';
import { TunnelError } from '../../../daemon/tunnel/tunnelErrors';
import { DEFAULT_MAX_STREAM_WINDOW, type TunnelSession } from '../../../daemon/tunnel/tunnelSession';
import type { TunnelStream } from '../../../daemon/tunnel/tunnelStream';
import { RELAY_VERSION } from '../../../daemon/relay/relayConstants';
import { onceAlive, readAll, sleep, until } from '../../unit/tunnel/sessionPair';
import { closedPort, connectSession, echoServer, relayHealth, startRelayProcess, type RelayProcess } from './relayProcess';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let relay: RelayProcess;
let echo: Awaited<ReturnType<typeof echoServer>>;
let dns: { port: number; close: () => void; queries: string[] };

/** A tiny authoritative server for `*.cluster.test`, on UDP and TCP, that truncates TXT over UDP. */
async function startDnsServer(): Promise<typeof dns> {
  const queries: string[] = [];
  const answer = (q: dnsPacket.DecodedPacket): Buffer => {
    const question = q.questions![0]!;
    queries.push(`${question.type} ${question.name}`);
    const known = question.name === 'redis.default.svc.cluster.test';
    const answers: dnsPacket.Answer[] = !known ? [] :
      question.type === 'A' ? [{ type: 'A', name: question.name, ttl: 17, data: '10.130.0.42' }] :
      question.type === 'SRV' ? [{ type: 'SRV', name: question.name, ttl: 30, data: { port: 6379, target: 'redis.default.svc.cluster.test', priority: 0, weight: 100 } }] :
      question.type === 'TXT' ? [{ type: 'TXT', name: question.name, ttl: 5, data: 'x'.repeat(200) }, { type: 'TXT', name: question.name, ttl: 5, data: 'y'.repeat(200) }, { type: 'TXT', name: question.name, ttl: 5, data: 'z'.repeat(200) }] : [];
    return dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.AUTHORITATIVE_ANSWER | (known ? 0 : 3), questions: q.questions, answers });
  };
  const udp = createSocket('udp4');
  udp.on('message', (m, rinfo) => {
    const q = dnsPacket.decode(m);
    let reply = answer(q);
    if (q.questions![0]!.type === 'TXT') {
      // Pretend the answer does not fit: header only, TC set.
      reply = dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.TRUNCATED_RESPONSE, questions: q.questions });
    }
    udp.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  const port = udp.address().port;
  const tcp = createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const reply = answer(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        const len = Buffer.alloc(2);
        len.writeUInt16BE(reply.length);
        s.end(Buffer.concat([len, reply]));
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', r));
  return { port, queries, close: () => { udp.close(); tcp.close(); } };
}

before(async () => {
  echo = await echoServer();
  dns = await startDnsServer();
  relay = await startRelayProcess({ TPV_RELAY_DNS_SERVER: `127.0.0.1:${dns.port}`, TPV_RELAY_LOG_LEVEL: 'debug' });
});

after(async () => {
  relay?.kill();
  await echo?.close();
  dns?.close();
});

test('the relay reports its version on /healthz and in the handshake', async () => {
  const h = await relayHealth(relay.healthPort);
  assert.equal(h.status, 'ok');
  assert.equal(h.version, RELAY_VERSION);
  const s = await connectSession(relay.port);
  assert.equal(s.peerAccept?.softwareVersion, RELAY_VERSION);
  assert.equal(s.peerAccept?.mode, 'relay');
  assert.deepEqual(s.peerAccept?.dns?.nameservers, [`127.0.0.1:${dns.port}`]);
  s.close();
});

test('a wrong secret is refused by the relay with EAUTH', async () => {
  await assert.rejects(connectSession(relay.port, { secret: 'wrong' }), (e: unknown) => e instanceof TunnelError && e.code === 'EAUTH');
  await until(() => /rejected a tunnel from .*secret is wrong/.test(relay.output()), 2000, 'the relay to log the refusal');
});

test('TCP through the relay: 16 MiB intact, then 200 concurrent streams intact', async () => {
  const s = await connectSession(relay.port);
  const big = randomBytes(16 * 1024 * 1024);
  const stream = await s.openTcp({ host: '127.0.0.1', port: echo.port });
  const back = readAll(stream);
  stream.end(big);
  assert.equal(sha(await back), sha(big));

  const results = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
    const data = randomBytes(32 * 1024 + i * 97);
    const st = await s.openTcp({ host: '127.0.0.1', port: echo.port });
    const got = readAll(st);
    st.end(data);
    return sha(await got) === sha(data);
  }));
  assert.equal(results.filter(Boolean).length, 200);
  await until(() => s.stats().streams === 0, 3000, 'streams to be released');
  s.close();
});

test('a refused cluster port rejects with ECONNREFUSED in under 100 ms', async () => {
  const s = await connectSession(relay.port);
  const port = await closedPort();
  const t0 = performance.now();
  await assert.rejects(s.openTcp({ host: '127.0.0.1', port }), (e: unknown) => {
    assert.ok(e instanceof TunnelError);
    assert.equal(e.code, 'ECONNREFUSED');
    return true;
  });
  const ms = performance.now() - t0;
  assert.ok(ms < 100, `took ${ms.toFixed(1)} ms`);
  s.close();
});

test('UDP round trip through the relay, with datagram boundaries', async () => {
  const server = createSocket('udp4');
  server.on('message', (m, r) => server.send(Buffer.concat([Buffer.from('pong:'), m]), r.port, r.address));
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
  const s = await connectSession(relay.port);
  const u = await s.openUdp({ host: '127.0.0.1', port: server.address().port });
  const got: string[] = [];
  u.on('message', (m) => got.push(m.toString()));
  u.send(Buffer.from('one'));
  u.send(Buffer.from('two'));
  await until(() => got.length === 2, 2000, 'two replies');
  assert.deepEqual(got.sort(), ['pong:one', 'pong:two']);
  u.close();
  server.close();
  s.close();
});

test('DNS goes to the relay\'s resolver as wire messages: A with TTL, SRV, NXDOMAIN, and TCP after truncation', async () => {
  const s = await connectSession(relay.port);
  const exchange = (q: Buffer, t?: number) => s.dnsExchange(q, t);
  const a = await dnsQuery(exchange, 'redis.default.svc.cluster.test', 'A');
  assert.equal(a.rcode, 'NOERROR');
  assert.deepEqual(a.answers.map((x) => [x.type, (x as { data: unknown }).data, (x as { ttl?: number }).ttl]), [['A', '10.130.0.42', 17]]);
  const srv = await dnsQuery(exchange, 'redis.default.svc.cluster.test', 'SRV');
  assert.equal((srv.answers[0] as { data: { port: number } }).data.port, 6379);
  const nx = await dnsQuery(exchange, 'nope.default.svc.cluster.test', 'A');
  assert.equal(nx.rcode, 'NXDOMAIN');
  const txt = await dnsQuery(exchange, 'redis.default.svc.cluster.test', 'TXT');
  assert.equal(txt.answers.length, 3, 'the full answer came over TCP');
  assert.ok(dns.queries.filter((q) => q.startsWith('TXT')).length >= 2, 'asked over UDP, then TCP');
  s.close();
});

test('a slow consumer on either side keeps the relay and the session buffers bounded', async () => {
  // Bound: one 256 KiB window per direction plus stream/socket buffers and frames in flight.
  const BOUND = 1024 * 1024;
  // A cluster server that stops reading only after its socket buffer filled looked like a
  // fast consumer until then, so its stream may have auto-tuned its window up to the maximum
  // (as a kernel socket autotunes its buffer): that window is what the relay may hold for it.
  const GROWN_BOUND = DEFAULT_MAX_STREAM_WINDOW + BOUND;
  // 1) Daemon → cluster, where the cluster server does not read.
  const stalled: Socket[] = [];
  const sink = createServer((sock) => { sock.pause(); stalled.push(sock); });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const s = await connectSession(relay.port);
  const up = await s.openTcp({ host: '127.0.0.1', port: (sink.address() as AddressInfo).port });
  up.on('error', () => {});
  const chunk = Buffer.alloc(64 * 1024, 1);
  let written = 0;
  let stalledWriter = false;
  while (written < 64 * 1024 * 1024) {
    written += chunk.length;
    if (!up.write(chunk)) {
      const drained = await Promise.race([once(up, 'drain').then(() => true), sleep(400).then(() => false)]);
      if (!drained) { stalledWriter = true; break; }
    }
  }
  assert.ok(stalledWriter, `the writer never stalled after ${written} bytes`);
  const h1 = await relayHealth(relay.healthPort);
  assert.ok(h1.bufferedBytes < GROWN_BOUND, `relay buffers ${h1.bufferedBytes} bytes`);
  const st1 = s.stats();
  assert.ok(st1.sendQueuedBytes + st1.transportBacklog < BOUND, `session buffers ${JSON.stringify(st1)}`);

  // 2) Cluster → daemon, where the daemon's consumer does not read.
  const pusher = createServer((sock) => {
    sock.on('error', () => {});
    const push = () => { while (sock.write(chunk)) { /* until the socket is full */ } };
    sock.on('drain', push);
    push();
  });
  await new Promise<void>((r) => pusher.listen(0, '127.0.0.1', r));
  const down: TunnelStream = await s.openTcp({ host: '127.0.0.1', port: (pusher.address() as AddressInfo).port });
  down.on('error', () => {});
  down.pause();
  await sleep(500);
  const st2 = s.stats();
  assert.ok(st2.receiveQueuedBytes <= 256 * 1024, `daemon queued ${st2.receiveQueuedBytes}`);
  const h2 = await relayHealth(relay.healthPort);
  assert.ok(h2.bufferedBytes < GROWN_BOUND + BOUND, `relay buffers ${h2.bufferedBytes} bytes with two stalled streams`);
  // Reading resumes: data flows again.
  let more = 0;
  down.on('data', (c: Buffer) => { more += c.length; });
  down.resume();
  await until(() => more > 4 * 1024 * 1024, 5000, 'the pushed data to flow once the consumer reads');
  s.close();
  for (const x of stalled) x.destroy();
  sink.close();
  pusher.close();
});

test('SIGTERM: the relay says goodbye to its sessions and exits 0', async () => {
  const r = await startRelayProcess();
  const s: TunnelSession = await connectSession(r.port);
  const closed = onceAlive<[TunnelError]>(s, 'close');
  r.kill('SIGTERM');
  const [reason] = await closed;
  assert.match(reason.message, /the relay pod is stopping \(SIGTERM\)/);
  const exit = await r.exited;
  assert.equal(exit.code, 0);
});
