import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Duplex } from 'node:stream';
import { backoffDelay } from '../../../daemon/tunnel/backoff';
import { TunnelError } from '../../../daemon/tunnel/tunnelErrors';
import { TunnelSession } from '../../../daemon/tunnel/tunnelSession';
import { TunnelSupervisor, type TunnelDown } from '../../../daemon/tunnel/tunnelSupervisor';
import { memoryPipe } from './memoryPipe';
import { TEST_SECRET, until } from './sessionPair';

test('backoff grows exponentially, is capped, and jitter stays within its fraction', () => {
  const noJitter = { initialMs: 100, maxMs: 1000, jitter: 0 };
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, noJitter)), [100, 200, 400, 800, 1000, 1000]);
  for (const r of [0, 0.5, 0.999]) {
    const d = backoffDelay(3, { initialMs: 100, maxMs: 1000, jitter: 0.5 }, () => r);
    assert.ok(d >= 200 && d <= 400, `delay ${d} for random ${r}`);
  }
  assert.equal(backoffDelay(50, { initialMs: 250, maxMs: 30_000, jitter: 1 }, () => 0), 0);
  assert.equal(backoffDelay(50, { initialMs: 250, maxMs: 30_000, jitter: 1 }, () => 0.999999), 30_000);
});

/** A fake relay reachable through memory pipes; `refuse` makes the next transports fail. */
function fakeRelay() {
  const relays: TunnelSession[] = [];
  const state = { refuse: false, opened: 0 };
  const openTransport = async (): Promise<Duplex> => {
    state.opened++;
    if (state.refuse) throw new Error('pods "tpv-relay" not found');
    const [a, b] = memoryPipe();
    void TunnelSession.accept(b, {
      expectedSecret: TEST_SECRET, hello: { software: 'r', softwareVersion: 't', mode: 'relay' }, keepaliveIntervalMs: 0,
      handleOpen: (req) => { const s = req.acceptStream(); s.on('error', () => {}); s.pipe(s); },
    }).then((s) => relays.push(s), () => {});
    return a;
  };
  return { relays, state, openTransport };
}

test('the supervisor comes up, fails fast while down, backs off, and reconnects', async () => {
  const fake = fakeRelay();
  const sup = new TunnelSupervisor({ openTransport: fake.openTransport, secret: TEST_SECRET, software: 'd', backoff: { initialMs: 20, maxMs: 80, jitter: 0 }, session: { keepaliveIntervalMs: 0 } });
  const downs: TunnelDown[] = [];
  sup.on('down', (d) => downs.push(d));
  sup.start();
  await sup.waitUntilUp(1000);
  const s = await sup.openTcp({ host: 'x', port: 7 });
  const err = new Promise<TunnelError>((r) => s.once('error', (e) => r(e as TunnelError)));
  fake.state.refuse = true;
  fake.relays.at(-1)!.close('relay pod deleted');
  assert.equal((await err).code, 'ETUNNELCLOSED');
  await assert.rejects(sup.openTcp({ host: 'x', port: 7 }), (e: unknown) => e instanceof TunnelError && e.code === 'ETUNNELDOWN' && /reconnecting/.test(e.message));
  await assert.rejects(sup.dnsExchange(Buffer.alloc(12)), (e: unknown) => e instanceof TunnelError && e.code === 'ETUNNELDOWN');
  await until(() => downs.length >= 4, 2000, 'several failed attempts');
  assert.match(downs[0]!.reason.message, /relay pod deleted/);
  assert.match(downs[1]!.reason.message, /pods "tpv-relay" not found/);
  assert.deepEqual(downs.slice(0, 4).map((d) => d.retryInMs), [20, 40, 80, 80]);
  fake.state.refuse = false;
  await sup.waitUntilUp(1000);
  assert.equal(sup.state, 'up');
  await sup.stop();
  assert.equal(sup.state, 'stopped');
  await assert.rejects(sup.openTcp({ host: 'x', port: 7 }), (e: unknown) => e instanceof TunnelError && /stopped/.test(e.message));
});

test('waitUntilUp times out with the last failure in the message', async () => {
  const fake = fakeRelay();
  fake.state.refuse = true;
  const sup = new TunnelSupervisor({ openTransport: fake.openTransport, secret: TEST_SECRET, software: 'd', backoff: { initialMs: 10, maxMs: 10 } });
  sup.start();
  await assert.rejects(sup.waitUntilUp(100), (e: unknown) => e instanceof TunnelError && e.code === 'ETIMEDOUT' && /not found/.test(e.message));
  await sup.stop();
});

test('a wrong secret keeps the supervisor down with EAUTH as the reason', async () => {
  const fake = fakeRelay();
  const sup = new TunnelSupervisor({ openTransport: fake.openTransport, secret: 'stale', software: 'd', backoff: { initialMs: 10, maxMs: 10 } });
  const down = new Promise<TunnelDown>((r) => sup.once('down', r));
  sup.start();
  assert.equal((await down).reason.code, 'EAUTH');
  await sup.stop();
});

test('a transport that never opens is abandoned after connectTimeoutMs', async () => {
  const sup = new TunnelSupervisor({ openTransport: () => new Promise<Duplex>(() => {}), secret: 's', software: 'd', connectTimeoutMs: 50, backoff: { initialMs: 1000 } });
  const down = new Promise<TunnelDown>((r) => sup.once('down', r));
  sup.start();
  const d = await down;
  assert.equal(d.reason.code, 'ETIMEDOUT');
  await sup.stop();
});
