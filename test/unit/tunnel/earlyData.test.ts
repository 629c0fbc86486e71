// Tunnel protocol 2: a TCP open may carry its first bytes before the peer has
// dialled (early data). What must hold: the bytes arrive once, in order and
// ahead of later ones; a failed dial fails the stream with the dial's error;
// the window stays honest afterwards; limits and version rules are enforced.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameDecoder } from '../../../daemon/tunnel/frameDecoder';
import { EARLY_DATA_LIMIT, FrameType, OPEN_FLAG_EARLY_DATA, decodeError, decodeJson, encodeFrame, encodeJson, encodeOpen, type FrameTypeValue } from '../../../daemon/tunnel/frames';
import { TunnelError } from '../../../daemon/tunnel/tunnelErrors';
import { TunnelSession, type IncomingOpen } from '../../../daemon/tunnel/tunnelSession';
import { memoryPipe } from './memoryPipe';
import { TEST_SECRET, patterned, readAll, sessionPair, sleep, until } from './sessionPair';

/** Accepts port 7 as an echo after `delayMs` (a slow dial), refuses the rest. */
function slowEcho(delayMs: number, seen: IncomingOpen[] = []) {
  return (req: IncomingOpen) => {
    seen.push(req);
    setTimeout(() => {
      if (req.port !== 7) { req.reject('ECONNREFUSED', `connect ECONNREFUSED ${req.host}:${req.port}`); return; }
      if (req.cancelled) return;
      const s = req.acceptStream();
      s.on('error', () => undefined);
      s.pipe(s);
    }, delayMs);
  };
}

test('bytes and FIN written before the dial finishes arrive in order, ahead of later ones, and the echo comes back', async () => {
  const { daemon, relay } = await sessionPair({}, { handleOpen: slowEcho(30) });
  assert.equal(daemon.version, 2);
  const early = daemon.openTcpEarly({ host: 'echo.default', port: 7 });
  assert.ok(early, 'a protocol-2 session opens early');
  const first = patterned(20_000, 3);
  const back = readAll(early.stream);
  early.stream.write(first); // leaves at once, before OPEN_OK
  await sleep(5);
  assert.equal(relay.stats().streams, 0, 'the relay has not accepted yet while the bytes are on their way');
  const rest = patterned(300_000, 4);
  early.stream.end(rest);
  await early.opened;
  assert.ok((await back).equals(Buffer.concat([first, rest])));
  await until(() => daemon.stats().streams === 0 && relay.stats().streams === 0, 2000, 'both sides to forget the stream');
  daemon.close();
});

test('a whole request with FIN before the dial: the FIN waits for the bytes', async () => {
  const { daemon } = await sessionPair({}, { handleOpen: slowEcho(20) });
  const early = daemon.openTcpEarly({ host: 'echo.default', port: 7 })!;
  const back = readAll(early.stream);
  early.stream.end(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  assert.equal((await back).toString(), 'GET / HTTP/1.1\r\n\r\n');
  daemon.close();
});

test('early bytes beyond a small window are accepted once; later bytes wait for credit and the window is never overrun', async () => {
  const { daemon, relay } = await sessionPair({}, { handleOpen: slowEcho(20), streamWindow: 1000 });
  const early = daemon.openTcpEarly({ host: 'echo.default', port: 7 })!;
  const data = patterned(EARLY_DATA_LIMIT + 250_000, 5);
  const back = readAll(early.stream);
  early.stream.end(data);
  assert.ok((await back).equals(data), 'no EPROTO: the early bytes did not count as an overrun');
  daemon.close();
  relay.close();
});

test('a refused dial fails the stream with ECONNREFUSED after the user already wrote, and `opened` rejects with it', async () => {
  const { daemon } = await sessionPair({}, { handleOpen: slowEcho(5) });
  const early = daemon.openTcpEarly({ host: '10.130.0.5', port: 81 })!;
  early.stream.write('GET / HTTP/1.1\r\n\r\n');
  const streamError = new Promise<Error>((r) => early.stream.once('error', r));
  await assert.rejects(early.opened, (e: unknown) => e instanceof TunnelError && e.code === 'ECONNREFUSED' && /10\.130\.0\.5:81/.test(e.message));
  const err = await streamError;
  assert.ok(err instanceof TunnelError && err.code === 'ECONNREFUSED');
  await until(() => daemon.stats().streams === 0, 1000, 'the stream to be forgotten');
  daemon.close();
});

test('a stream destroyed before the dial answers: the relay sees the open cancelled and nothing leaks on either side', async () => {
  const seen: IncomingOpen[] = [];
  const { daemon, relay } = await sessionPair({}, { handleOpen: slowEcho(40, seen) });
  const early = daemon.openTcpEarly({ host: 'echo.default', port: 7 })!;
  early.stream.write('partial');
  early.stream.on('error', () => undefined);
  await until(() => seen.length === 1);
  early.stream.destroy();
  await until(() => seen[0]!.cancelled, 1000, 'the relay to see the cancel');
  await sleep(80);
  assert.equal(daemon.stats().streams, 0);
  assert.equal(relay.stats().streams, 0);
  daemon.close();
});

test('the open timing out fails an early stream with ETIMEDOUT', async () => {
  const { daemon, relay } = await sessionPair({ openTimeoutMs: 40 }, { handleOpen: () => { /* never answers */ } });
  const early = daemon.openTcpEarly({ host: 'slow', port: 7 })!;
  const streamError = new Promise<Error>((r) => early.stream.once('error', r));
  await assert.rejects(early.opened, (e: unknown) => e instanceof TunnelError && e.code === 'ETIMEDOUT');
  assert.equal(((await streamError) as TunnelError).code, 'ETIMEDOUT');
  assert.equal(daemon.stats().streams, 0);
  daemon.close();
  relay.close();
});

test('the tunnel closing fails an early stream and its `opened` with ETUNNELCLOSED', async () => {
  const { daemon } = await sessionPair({}, { handleOpen: () => { /* never answers */ } });
  const early = daemon.openTcpEarly({ host: 'x', port: 7 })!;
  early.stream.on('error', () => undefined);
  daemon.close('test over');
  await assert.rejects(early.opened, (e: unknown) => e instanceof TunnelError && e.code === 'ETUNNELCLOSED');
});

/** A relay that speaks raw frames: answers HELLO with protocol `version`, records the rest. */
async function rawRelay(version: number) {
  const [daemonEnd, relayEnd] = memoryPipe();
  const frames: Array<{ type: FrameTypeValue; id: number; payload: Buffer; flags: number }> = [];
  const d = new FrameDecoder((type, id, payload, flags) => {
    frames.push({ type, id, payload: Buffer.from(payload), flags });
    if (type === FrameType.HELLO) {
      assert.equal((decodeJson(payload, 'HELLO') as { max: number }).max, 2, 'the daemon offers protocol 2');
      relayEnd.write(encodeFrame(FrameType.HELLO_ACK, 0, encodeJson({ version, software: 'old-relay', softwareVersion: '0.2.1', mode: 'relay' })));
    }
  });
  relayEnd.on('data', (c: Buffer) => d.push(c));
  const daemon = await TunnelSession.connect(daemonEnd, { secret: TEST_SECRET, software: 'tpv-daemon/test', keepaliveIntervalMs: 0 });
  return { daemon, frames };
}

test('with a protocol-1 relay there is no early open (the caller waits for the dial), so an old relay never sees early data', async () => {
  const { daemon, frames } = await rawRelay(1);
  assert.equal(daemon.version, 1);
  assert.equal(daemon.openTcpEarly({ host: 'x', port: 7 }), undefined);
  void daemon.openTcp({ host: 'x', port: 7 }).catch(() => undefined);
  await until(() => frames.some((f) => f.type === FrameType.OPEN));
  assert.equal(frames.find((f) => f.type === FrameType.OPEN)!.flags & OPEN_FLAG_EARLY_DATA, 0);
  daemon.close();
});

/** A daemon that speaks raw frames to a real relay-side session negotiating `max`. */
async function rawDaemon(max: number, handleOpen: (req: IncomingOpen) => void) {
  const [a, b] = memoryPipe();
  const frames: Array<{ type: FrameTypeValue; id: number; payload: Buffer }> = [];
  const d = new FrameDecoder((type, id, payload) => frames.push({ type, id, payload: Buffer.from(payload) }));
  a.on('data', (c: Buffer) => d.push(c));
  const relayP = TunnelSession.accept(b, { expectedSecret: TEST_SECRET, hello: { software: 'r', softwareVersion: '1', mode: 'relay' }, keepaliveIntervalMs: 0, handleOpen });
  a.write(encodeFrame(FrameType.HELLO, 0, encodeJson({ min: 1, max, secret: TEST_SECRET, software: 'raw' })));
  const relay = await relayP;
  return { relay, frames, send: (type: FrameTypeValue, id: number, payload?: Buffer, flags = 0) => a.write(encodeFrame(type, id, payload, flags)) };
}

test('a relay refuses early data from a peer that negotiated protocol 1 (EPROTO, the session closes)', async () => {
  const p = await rawDaemon(1, () => { /* never answers */ });
  assert.equal(p.relay.version, 1);
  const closed = new Promise<TunnelError>((r) => p.relay.once('close', r));
  p.send(FrameType.OPEN, 1, encodeOpen({ kind: 'tcp', window: 65536, host: 'x', port: 7 }), OPEN_FLAG_EARLY_DATA);
  const reason = await closed;
  assert.equal(reason.code, 'EPROTO');
  assert.match(reason.message, /early data/);
});

test('more than the early-data limit before OPEN_OK is a protocol error; data without the flag is too', async () => {
  const over = await rawDaemon(2, () => { /* never answers */ });
  const closed = new Promise<TunnelError>((r) => over.relay.once('close', r));
  over.send(FrameType.OPEN, 1, encodeOpen({ kind: 'tcp', window: 65536, host: 'x', port: 7 }), OPEN_FLAG_EARLY_DATA);
  over.send(FrameType.DATA, 1, Buffer.alloc(EARLY_DATA_LIMIT));
  over.send(FrameType.DATA, 1, Buffer.alloc(1));
  assert.match((await closed).message, /more than 65536 bytes of early data/);

  const plain = await rawDaemon(2, () => { /* never answers */ });
  const closed2 = new Promise<TunnelError>((r) => plain.relay.once('close', r));
  plain.send(FrameType.OPEN, 1, encodeOpen({ kind: 'tcp', window: 65536, host: 'x', port: 7 }));
  plain.send(FrameType.DATA, 1, Buffer.alloc(10));
  assert.match((await closed2).message, /not open yet, without early data/);
});

test('early data on a UDP open is a protocol error', async () => {
  const p = await rawDaemon(2, () => { /* never answers */ });
  const closed = new Promise<TunnelError>((r) => p.relay.once('close', r));
  p.send(FrameType.OPEN, 1, encodeOpen({ kind: 'udp', window: 65536, host: 'x', port: 53 }), OPEN_FLAG_EARLY_DATA);
  assert.equal((await closed).code, 'EPROTO');
});

test('a refused early open answers OPEN_FAIL and drops the held bytes', async () => {
  const p = await rawDaemon(2, (req) => setTimeout(() => req.reject('ECONNREFUSED', 'refused'), 10));
  p.send(FrameType.OPEN, 1, encodeOpen({ kind: 'tcp', window: 65536, host: 'x', port: 9 }), OPEN_FLAG_EARLY_DATA);
  p.send(FrameType.DATA, 1, Buffer.from('hello'));
  p.send(FrameType.FIN, 1);
  await until(() => p.frames.some((f) => f.type === FrameType.OPEN_FAIL));
  assert.equal(decodeError(p.frames.find((f) => f.type === FrameType.OPEN_FAIL)!.payload).code, 'ECONNREFUSED');
  assert.equal(p.relay.stats().streams, 0);
  assert.equal(p.relay.isClosed, false, 'a refused open is no protocol error');
  p.relay.close();
});

test('BLOCKED (window auto-tuning) from a peer that negotiated protocol 1 is a protocol error', async () => {
  const p = await rawDaemon(1, () => { /* never answers */ });
  const closed = new Promise<TunnelError>((r) => p.relay.once('close', r));
  p.send(FrameType.BLOCKED, 1);
  assert.match((await closed).message, /BLOCKED under protocol 1/);
});
