import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { test } from 'node:test';
import type { Writable } from 'node:stream';
import type { IncomingOpen } from '../../../daemon/tunnel/tunnelSession';
import type { TunnelStream } from '../../../daemon/tunnel/tunnelStream';
import { patterned, readAll, sessionPair, sleep, until } from './sessionPair';

const WINDOW = 256 * 1024;
const CHUNK = 64 * 1024;
// Whatever may sit between a producer and a stalled consumer: the receive
// window, the consumer's readable buffer, the sender's writable buffer and
// one chunk in flight in each.
const BOUND = WINDOW + 64 * 1024 + 64 * 1024 + 2 * CHUNK;

/** Streams still open when a test closes its session fail with ETUNNELCLOSED, by design. */
function expectClose<T extends NodeJS.EventEmitter>(s: T): T {
  s.on('error', () => {});
  return s;
}

/** Writes `total` bytes honouring back-pressure; stops early when no 'drain' comes within `stallMs`. */
async function writeUntilStalled(w: Writable, data: Buffer, stallMs: number): Promise<{ accepted: number; stalled: boolean }> {
  let off = 0;
  while (off < data.length) {
    const ok = w.write(data.subarray(off, off + CHUNK));
    off += Math.min(CHUNK, data.length - off);
    if (!ok) {
      const drained = await Promise.race([once(w, 'drain').then(() => true), sleep(stallMs).then(() => false)]);
      if (!drained) return { accepted: off, stalled: true };
    }
  }
  return { accepted: off, stalled: false };
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

test('a consumer that stops reading stops the sender after one window; other streams keep flowing', async () => {
  let slow: TunnelStream | undefined;
  const { daemon, relay } = await sessionPair({}, {
    handleOpen: (req: IncomingOpen) => {
      const s = expectClose(req.acceptStream());
      if (req.port === 1) { slow = s; s.pause(); } else s.pipe(s);
    },
  });
  const s = expectClose(await daemon.openTcp({ host: 'slow', port: 1 }));
  const data = patterned(8 * 1024 * 1024, 7);
  const first = await writeUntilStalled(s, data, 150);
  assert.equal(first.stalled, true, 'the sender must be stopped by the missing credit');
  assert.ok(first.accepted <= BOUND, `sender accepted ${first.accepted} bytes, more than the bound ${BOUND}`);
  assert.ok(slow!.queuedReceiveBytes <= WINDOW, `receiver queued ${slow!.queuedReceiveBytes}`);
  assert.ok(relay.stats().receiveQueuedBytes <= WINDOW);
  assert.ok(daemon.stats().sendQueuedBytes <= 64 * 1024 + CHUNK);

  // Head-of-line: a second stream on the same tunnel is unaffected.
  const echo = await daemon.openTcp({ host: 'echo', port: 2 });
  const probe = patterned(1024 * 1024, 9);
  const back = readAll(echo);
  echo.end(probe);
  assert.equal(sha(await back), sha(probe));

  // The slow consumer starts reading (slowly): everything arrives, intact.
  const received: Buffer[] = [];
  slow!.on('data', (c: Buffer) => { received.push(c); slow!.pause(); setTimeout(() => slow!.resume(), 1); });
  slow!.resume();
  const rest = (async () => {
    let off = first.accepted;
    while (off < data.length) {
      if (!s.write(data.subarray(off, off + CHUNK))) await once(s, 'drain');
      off += CHUNK;
      // The receiver's queue never exceeds the window while it drains slowly.
      assert.ok(slow!.queuedReceiveBytes <= WINDOW);
    }
    s.end();
  })();
  await rest;
  await until(() => slow!.readableEnded, 20_000, 'the slow consumer to read everything');
  assert.equal(sha(Buffer.concat(received)), sha(data));
  daemon.close();
});

test('the daemon not reading stops the relay side the same way (bounded on the daemon)', async () => {
  let relayStream: TunnelStream | undefined;
  const { daemon } = await sessionPair({}, { handleOpen: (req) => { relayStream = expectClose(req.acceptStream()); } });
  const s = expectClose(await daemon.openTcp({ host: 'server-push', port: 5 }));
  s.pause();
  await until(() => relayStream !== undefined);
  const data = patterned(4 * 1024 * 1024, 3);
  const r = await writeUntilStalled(relayStream!, data, 150);
  assert.equal(r.stalled, true);
  assert.ok(r.accepted <= BOUND, `relay side accepted ${r.accepted}`);
  assert.ok(daemon.stats().receiveQueuedBytes <= WINDOW, `daemon queued ${daemon.stats().receiveQueuedBytes}`);
  s.resume();
  daemon.close();
});

test('a congested transport serves streams in turn, not one after the other', async () => {
  const order: string[] = [];
  const { daemon } = await sessionPair({}, {
    streamWindow: 4 * 1024 * 1024,
    handleOpen: (req) => {
      const s = expectClose(req.acceptStream());
      s.on('data', (c: Buffer) => order.push(`${req.port}:${c.length}`));
    },
  }, 16 * 1024);
  const a = expectClose(await daemon.openTcp({ host: 'a', port: 1 }));
  const b = expectClose(await daemon.openTcp({ host: 'b', port: 2 }));
  const big = patterned(2 * 1024 * 1024, 5);
  a.write(big);
  b.write(big);
  await until(() => order.reduce((n, e) => n + Number(e.split(':')[1]), 0) >= 4 * 1024 * 1024, 10_000, 'all bytes');
  const firstHalf = order.slice(0, Math.floor(order.length / 2));
  assert.ok(firstHalf.some((e) => e.startsWith('1:')) && firstHalf.some((e) => e.startsWith('2:')), 'both streams progress during the first half');
  daemon.close();
});

/** Seconds to send `data` over a fresh stream of a session pair joined by a link with `latencyMs` one-way delay. */
async function transferOverLatency(data: Buffer, latencyMs: number, maxStreamWindow: number): Promise<{ seconds: number; window: number }> {
  let relayStream: TunnelStream | undefined;
  const { daemon } = await sessionPair({ maxStreamWindow }, {
    maxStreamWindow,
    handleOpen: (req: IncomingOpen) => { relayStream = expectClose(req.acceptStream()); },
  }, undefined, latencyMs);
  const s = expectClose(await daemon.openTcp({ host: 'sink', port: 3 }));
  await until(() => relayStream !== undefined);
  const got = readAll(relayStream!);
  const t0 = performance.now();
  s.end(data);
  assert.equal(sha(await got), sha(data), 'the bytes arrive intact');
  const seconds = (performance.now() - t0) / 1000;
  const window = relayStream!.currentReceiveWindow;
  daemon.close();
  return { seconds, window };
}

test('auto-tuning: over a link with a 10 ms delay the window grows to the maximum (and no further) and the transfer is several times faster', async () => {
  const data = patterned(12 * 1024 * 1024, 11);
  const fixed = await transferOverLatency(data, 10, WINDOW);
  const tuned = await transferOverLatency(data, 10, 4 * 1024 * 1024);
  assert.equal(fixed.window, WINDOW, 'a maximum equal to the initial window never grows');
  assert.equal(tuned.window, 4 * 1024 * 1024, 'the window grew to the maximum');
  console.log(`# 12 MiB over a 10 ms link: fixed 256 KiB window ${fixed.seconds.toFixed(2)} s, auto-tuned ${tuned.seconds.toFixed(2)} s`);
  assert.ok(tuned.seconds * 3 < fixed.seconds, `auto-tuned ${tuned.seconds.toFixed(2)} s is not 3× faster than fixed ${fixed.seconds.toFixed(2)} s`);
});

test('auto-tuning: a consumer that never keeps up never grows the window (the slow-reader bound stays one initial window)', async () => {
  let slow: TunnelStream | undefined;
  const { daemon } = await sessionPair({}, { handleOpen: (req: IncomingOpen) => { slow = expectClose(req.acceptStream()); slow.pause(); } });
  const s = expectClose(await daemon.openTcp({ host: 'slow', port: 1 }));
  const first = await writeUntilStalled(s, patterned(4 * 1024 * 1024, 2), 150);
  assert.equal(first.stalled, true);
  assert.equal(slow!.currentReceiveWindow, WINDOW);
  assert.ok(slow!.queuedReceiveBytes <= WINDOW);
  daemon.close();
});

test('auto-tuning: a grown window shrinks back to the initial one once the consumer falls behind', async () => {
  let relayStream: TunnelStream | undefined;
  const { daemon } = await sessionPair({}, {
    handleOpen: (req: IncomingOpen) => { relayStream = expectClose(req.acceptStream()); },
  }, undefined, 5);
  const s = expectClose(await daemon.openTcp({ host: 'sink', port: 3 }));
  await until(() => relayStream !== undefined);
  const r = relayStream!;
  let received = 0;
  let slow = false;
  r.on('data', (c: Buffer) => {
    received += c.length;
    if (slow) { r.pause(); setTimeout(() => r.resume(), 2); }
  });
  const data = patterned(64 * 1024 * 1024, 13);
  const writing = (async () => {
    for (let off = 0; off < data.length; off += CHUNK) {
      if (!s.write(data.subarray(off, off + CHUNK))) await once(s, 'drain');
    }
    s.end();
  })();
  await until(() => r.currentReceiveWindow > WINDOW, 5000, 'the window to grow while the consumer keeps up');
  const grown = r.currentReceiveWindow;
  slow = true;
  await until(() => r.currentReceiveWindow === WINDOW, 20_000, 'the window to shrink back while the consumer lags');
  console.log(`# window grew to ${grown / 1024} KiB, shrank back to ${WINDOW / 1024} KiB after ${(received / 1048576).toFixed(1)} MiB`);
  assert.ok(r.queuedReceiveBytes <= grown);
  slow = false;
  await writing;
  await until(() => received === data.length, 20_000, 'every byte to arrive');
  daemon.close();
});
