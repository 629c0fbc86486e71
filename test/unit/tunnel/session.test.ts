import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { FrameDecoder } from '../../../daemon/tunnel/frameDecoder';
import { FrameType, MAX_FRAME_PAYLOAD, decodeError, encodeFrame, encodeJson, type FrameTypeValue } from '../../../daemon/tunnel/frames';
import { TunnelError } from '../../../daemon/tunnel/tunnelErrors';
import { TunnelSession, type IncomingOpen } from '../../../daemon/tunnel/tunnelSession';
import type { TunnelStream } from '../../../daemon/tunnel/tunnelStream';
import { memoryPipe } from './memoryPipe';
import { TEST_SECRET, onceAlive, patterned, readAll, sessionPair, sleep, until } from './sessionPair';

/** Relay-side behaviour for tests: port 7 echoes, port 9 discards, everything else is refused. */
function echoOrRefuse(req: IncomingOpen): void {
  if (req.kind === 'udp') {
    const d = req.acceptDatagrams();
    d.on('message', (m) => d.send(Buffer.concat([Buffer.from('echo:'), m])));
    return;
  }
  if (req.port === 7) { const s = req.acceptStream(); s.on('error', () => { /* the session closing is asserted on the daemon side */ }); s.pipe(s); return; }
  req.reject('ECONNREFUSED', `connect ECONNREFUSED ${req.host}:${req.port}`);
}

test('a TCP stream carries bytes both ways intact and half-closes cleanly', async () => {
  const { daemon, relay } = await sessionPair({}, { handleOpen: echoOrRefuse });
  const s = await daemon.openTcp({ host: 'echo.default', port: 7 });
  const data = patterned(3 * 1024 * 1024 + 17);
  const back = readAll(s);
  s.end(data);
  assert.ok((await back).equals(data));
  await until(() => daemon.stats().streams === 0 && relay.stats().streams === 0, 2000, 'both sides to forget the stream');
  daemon.close();
});

test('a refused dial rejects the open with ECONNREFUSED, fast', async () => {
  const { daemon } = await sessionPair({}, { handleOpen: echoOrRefuse });
  const t0 = performance.now();
  await assert.rejects(daemon.openTcp({ host: '10.130.0.5', port: 81 }), (e: unknown) => {
    assert.ok(e instanceof TunnelError);
    assert.equal(e.code, 'ECONNREFUSED');
    assert.match(e.message, /10\.130\.0\.5:81/);
    return true;
  });
  assert.ok(performance.now() - t0 < 100);
  assert.equal(daemon.stats().streams, 0);
  daemon.close();
});

test('an open the peer never answers times out with ETIMEDOUT', async () => {
  const { daemon, relay } = await sessionPair({ openTimeoutMs: 50 }, { handleOpen: () => { /* never answers */ } });
  await assert.rejects(daemon.openTcp({ host: 'slow', port: 1 }), (e: unknown) => e instanceof TunnelError && e.code === 'ETIMEDOUT');
  assert.equal(daemon.stats().streams, 0);
  daemon.close();
  relay.close();
});

test('close() fails every open stream and pending open with a clear error, and both sides see close', async () => {
  let parked: IncomingOpen | undefined;
  const { daemon, relay } = await sessionPair({}, {
    handleOpen: (req) => { if (req.port === 7) echoOrRefuse(req); else parked = req; },
  });
  const s = await daemon.openTcp({ host: 'echo', port: 7 });
  const pending = daemon.openTcp({ host: 'never', port: 8 });
  await until(() => parked !== undefined);
  const streamError = once(s, 'error');
  const relayClosed = once(relay, 'close');
  daemon.close('the user disconnected');
  const [err] = (await streamError) as [TunnelError];
  assert.equal(err.code, 'ETUNNELCLOSED');
  assert.match(err.message, /the user disconnected/);
  await assert.rejects(pending, (e: unknown) => e instanceof TunnelError && e.code === 'ETUNNELCLOSED' && /never:8/.test(e.message));
  const [relayReason] = (await relayClosed) as [TunnelError];
  assert.match(relayReason.message, /the daemon closed the tunnel: the user disconnected/);
  await assert.rejects(daemon.openTcp({ host: 'echo', port: 7 }), (e: unknown) => e instanceof TunnelError && e.code === 'ETUNNELCLOSED');
  assert.equal(parked!.cancelled, true);
});

test('the transport dropping fails streams with ETUNNELCLOSED', async () => {
  const { daemon, daemonEnd } = await sessionPair({}, { handleOpen: echoOrRefuse });
  const s = await daemon.openTcp({ host: 'echo', port: 7 });
  const errP = once(s, 'error');
  daemonEnd.destroy();
  const [err] = (await errP) as [TunnelError];
  assert.equal(err.code, 'ETUNNELCLOSED');
  assert.ok(daemon.isClosed);
});

test('a wrong secret is refused with EAUTH on both sides', async () => {
  const [a, b] = memoryPipe();
  const relayP = TunnelSession.accept(b, { expectedSecret: TEST_SECRET, hello: { software: 'r', softwareVersion: '1', mode: 'relay' } });
  const daemonP = TunnelSession.connect(a, { secret: 'not-the-secret', software: 'd' });
  await assert.rejects(daemonP, (e: unknown) => e instanceof TunnelError && e.code === 'EAUTH' && /secret/.test(e.message));
  await assert.rejects(relayP, (e: unknown) => e instanceof TunnelError && e.code === 'EAUTH');
});

test('an empty expected secret never matches (a relay without a secret accepts nobody)', async () => {
  const [a, b] = memoryPipe();
  const relayP = TunnelSession.accept(b, { expectedSecret: '', hello: { software: 'r', softwareVersion: '1', mode: 'relay' } });
  const daemonP = TunnelSession.connect(a, { secret: '', software: 'd' });
  await assert.rejects(daemonP, (e: unknown) => e instanceof TunnelError && e.code === 'EAUTH');
  await assert.rejects(relayP);
});

/** Speaks raw frames to a relay-side session, for protocol-violation tests. */
function rawPeer() {
  const [a, b] = memoryPipe();
  const frames: Array<{ type: FrameTypeValue; id: number; payload: Buffer }> = [];
  const d = new FrameDecoder((type, id, payload) => frames.push({ type, id, payload: Buffer.from(payload) }));
  a.on('data', (c: Buffer) => d.push(c));
  return { raw: a, relayEnd: b, frames, send: (type: FrameTypeValue, id: number, payload?: Buffer) => a.write(encodeFrame(type, id, payload)) };
}

test('a HELLO asking for protocol versions the relay lacks is refused with EVERSION', async () => {
  const p = rawPeer();
  const relayP = TunnelSession.accept(p.relayEnd, { expectedSecret: TEST_SECRET, hello: { software: 'r', softwareVersion: '1', mode: 'relay' } });
  p.send(FrameType.HELLO, 0, encodeJson({ min: 90, max: 99, secret: TEST_SECRET, software: 'future-daemon' }));
  await assert.rejects(relayP, (e: unknown) => e instanceof TunnelError && e.code === 'EVERSION');
  await until(() => p.frames.length > 0);
  assert.equal(p.frames[0]!.type, FrameType.HELLO_REJECT);
  assert.equal(decodeError(p.frames[0]!.payload).code, 'EVERSION');
});

test('anything but HELLO first (e.g. an HTTP request) is closed without an answer', async () => {
  const p = rawPeer();
  const relayP = TunnelSession.accept(p.relayEnd, { expectedSecret: TEST_SECRET, hello: { software: 'r', softwareVersion: '1', mode: 'relay' } });
  p.raw.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await assert.rejects(relayP, (e: unknown) => e instanceof TunnelError && e.code === 'EPROTO');
  assert.equal(p.frames.length, 0);
});

test('a silent client is dropped after the handshake timeout', async () => {
  const p = rawPeer();
  await assert.rejects(
    TunnelSession.accept(p.relayEnd, { expectedSecret: TEST_SECRET, hello: { software: 'r', softwareVersion: '1', mode: 'relay' }, handshakeTimeoutMs: 30 }),
    (e: unknown) => e instanceof TunnelError && e.code === 'ETIMEDOUT',
  );
});

test('a peer that overruns the window gets the stream reset with EPROTO', async () => {
  const p = rawPeer();
  let relayStream: TunnelStream | undefined;
  const relayP = TunnelSession.accept(p.relayEnd, {
    expectedSecret: TEST_SECRET, hello: { software: 'r', softwareVersion: '1', mode: 'relay' }, streamWindow: 1000,
    handleOpen: (req) => { relayStream = req.acceptStream(); relayStream.on('error', () => {}); relayStream.pause(); },
  });
  p.send(FrameType.HELLO, 0, encodeJson({ min: 1, max: 1, secret: TEST_SECRET, software: 'raw' }));
  await relayP;
  const { encodeOpen } = await import('../../../daemon/tunnel/frames');
  p.send(FrameType.OPEN, 1, encodeOpen({ kind: 'tcp', window: 5000, host: 'x', port: 7 }));
  await until(() => p.frames.some((f) => f.type === FrameType.OPEN_OK));
  p.send(FrameType.DATA, 1, Buffer.alloc(800));
  p.send(FrameType.DATA, 1, Buffer.alloc(800));
  await until(() => p.frames.some((f) => f.type === FrameType.RST));
  const rst = p.frames.find((f) => f.type === FrameType.RST)!;
  assert.equal(rst.id, 1);
  assert.equal(decodeError(rst.payload).code, 'EIO');
  assert.match(decodeError(rst.payload).message, /overran the 1000-byte window/);
  assert.ok(relayStream!.destroyed);
});

test('the relay side can open streams towards the daemon (agent hook): inbound event with meta', async () => {
  const { daemon, relay } = await sessionPair();
  const got = new Promise<{ data: Buffer; meta: unknown }>((resolve) => {
    daemon.on('inbound', (stream, meta) => {
      readAll(stream).then((data) => { resolve({ data, meta }); stream.end('reply'); });
    });
  });
  const s = await relay.openTcp({ host: '127.0.0.1', port: 8080, meta: { intercept: 'echo-server', client: '10.132.0.7:41234' } });
  const reply = readAll(s);
  s.end('hello from the pod');
  const { data, meta } = await got;
  assert.equal(data.toString(), 'hello from the pod');
  assert.deepEqual(meta, { host: '127.0.0.1', port: 8080, meta: { intercept: 'echo-server', client: '10.132.0.7:41234' } });
  assert.equal((await reply).toString(), 'reply');
  // Stream ids: the daemon opens odd, the relay even.
  assert.equal(s.id % 2, 0);
  daemon.close();
});

test('inbound streams are refused when nobody on the daemon listens', async () => {
  const { daemon, relay } = await sessionPair();
  await assert.rejects(relay.openTcp({ host: '127.0.0.1', port: 8080 }), (e: unknown) => e instanceof TunnelError && e.code === 'ECONNREFUSED');
  daemon.close();
});

test('DNS queries travel as wire messages and errors come back typed', async () => {
  const { daemon } = await sessionPair({}, {
    handleDns: async (q) => {
      if (q[0] === 0xff) throw Object.assign(new Error('no nameserver answered'), { code: 'ETIMEDOUT' });
      return Buffer.concat([q, Buffer.from('-answer')]);
    },
  });
  const reply = await daemon.dnsExchange(Buffer.from('query'));
  assert.equal(reply.toString(), 'query-answer');
  await assert.rejects(daemon.dnsExchange(Buffer.from([0xff, 1])), (e: unknown) => e instanceof TunnelError && e.code === 'ETIMEDOUT' && /no nameserver/.test(e.message));
  const many = await Promise.all(Array.from({ length: 50 }, (_, i) => daemon.dnsExchange(Buffer.from(`q${i}`))));
  many.forEach((r, i) => assert.equal(r.toString(), `q${i}-answer`));
  daemon.close();
});

test('DNS to a side without a resolver fails with ENOTSUP', async () => {
  const { daemon } = await sessionPair();
  await assert.rejects(daemon.dnsExchange(Buffer.from('q')), (e: unknown) => e instanceof TunnelError && e.code === 'ENOTSUP');
  daemon.close();
});

test('UDP associations carry datagrams with their boundaries and expire when idle', async () => {
  let relaySide: { isClosed: boolean } | undefined;
  const { daemon } = await sessionPair({ udpIdleMs: 80 }, {
    udpIdleMs: 10_000,
    handleOpen: (req) => {
      const d = req.acceptDatagrams();
      relaySide = d;
      d.on('message', (m) => d.send(Buffer.concat([Buffer.from('echo:'), m])));
    },
  });
  const u = await daemon.openUdp({ host: '10.130.0.10', port: 53 });
  const got: string[] = [];
  u.on('message', (m) => got.push(m.toString()));
  for (const m of ['a', 'bb', 'ccc']) assert.equal(u.send(Buffer.from(m)), true);
  await until(() => got.length === 3);
  assert.deepEqual(got, ['echo:a', 'echo:bb', 'echo:ccc']);
  const [reason] = await onceAlive<[TunnelError | undefined]>(u, 'close');
  assert.equal(reason, undefined, 'idle expiry is a normal close');
  assert.equal(u.send(Buffer.from('late')), false);
  await until(() => relaySide!.isClosed, 1000, 'the relay side to close too');
  daemon.close();
});

test('ping measures a round trip and keepalive declares a silent peer dead', async () => {
  const { daemon } = await sessionPair();
  const rtt = await daemon.ping();
  assert.ok(rtt >= 0 && rtt < 1000);
  daemon.close();

  // A peer that finishes the handshake and then never sends anything again.
  const p = rawPeer();
  const sessionP = TunnelSession.connect(p.relayEnd, { secret: 's', software: 'd', keepaliveIntervalMs: 20, keepaliveTimeoutMs: 80 });
  await until(() => p.frames.length > 0);
  p.send(FrameType.HELLO_ACK, 0, encodeJson({ version: 1, software: 'r', softwareVersion: '1', mode: 'relay' }));
  const session = await sessionP;
  const [reason] = await onceAlive<[TunnelError]>(session, 'close');
  assert.equal(reason.code, 'ETIMEDOUT');
  assert.match(reason.message, /connection is dead/);
});

test('writes are split into frames of at most 64 KiB', async () => {
  const { daemon, relayEnd } = await sessionPair({}, { handleOpen: echoOrRefuse, streamWindow: 1024 * 1024 });
  const sizes: number[] = [];
  const tap = new FrameDecoder((type, _id, payload) => { if (type === FrameType.DATA) sizes.push(payload.length); });
  relayEnd.on('data', (c: Buffer) => tap.push(c));
  const s = await daemon.openTcp({ host: 'echo', port: 7 });
  const back = readAll(s);
  s.end(Buffer.alloc(5 * MAX_FRAME_PAYLOAD + 3));
  await back;
  assert.ok(sizes.length >= 6);
  assert.ok(sizes.every((n) => n <= MAX_FRAME_PAYLOAD), `sizes ${sizes.join(',')}`);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 5 * MAX_FRAME_PAYLOAD + 3);
  daemon.close();
});

test('a stream reset by its user reaches the other side as an error', async () => {
  let relayStream: TunnelStream | undefined;
  const { daemon } = await sessionPair({}, { handleOpen: (req) => { relayStream = req.acceptStream(); } });
  const s = await daemon.openTcp({ host: 'x', port: 1 });
  s.on('error', () => { /* the error we raise ourselves */ });
  await until(() => relayStream !== undefined);
  const err = once(relayStream!, 'error');
  s.destroy(Object.assign(new Error('local socket reset'), { code: 'ECONNRESET' }));
  const [e] = (await err) as [TunnelError];
  assert.equal(e.code, 'ECONNRESET');
  assert.match(e.message, /local socket reset/);
  await sleep(5);
  assert.equal(daemon.stats().streams, 0);
  daemon.close();
});
