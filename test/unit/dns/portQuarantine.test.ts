import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PortQuarantine } from '../../../daemon/dns/portQuarantine';
import { conntrackUdpHoldMs } from '../../../daemon/dns/localDns';

/** A clock and a timer queue the test advances by hand. */
function fakeTime() {
  let now = 0;
  let timer: { at: number; fire: () => void } | undefined;
  return {
    now: () => now,
    schedule: (fire: () => void, ms: number) => {
      assert.equal(timer, undefined, 'one timer at a time');
      const mine = { at: now + ms, fire };
      timer = mine;
      return () => { if (timer === mine) timer = undefined; };
    },
    advance(ms: number) {
      now += ms;
      while (timer && timer.at <= now) { const t = timer; timer = undefined; t.fire(); }
    },
    get armed() { return timer !== undefined; },
  };
}

function socket(name: string, closed: string[]) {
  return { close: () => closed.push(name) };
}

test('a held socket is closed once its hold time has passed, in the order they were released', () => {
  const time = fakeTime();
  const closed: string[] = [];
  const q = new PortQuarantine({ holdMs: 30_000, maxHeld: 10, now: time.now, schedule: time.schedule });
  q.hold(socket('a', closed));
  time.advance(10_000);
  q.hold(socket('b', closed));
  time.advance(19_999);
  assert.deepEqual(closed, [], 'nothing closes before its 30 s');
  time.advance(1);
  assert.deepEqual(closed, ['a']);
  assert.equal(q.size, 1);
  time.advance(10_000);
  assert.deepEqual(closed, ['a', 'b']);
  assert.equal(q.size, 0);
  assert.equal(time.armed, false, 'no timer left when nothing is held');
});

test('past the cap the oldest is closed early, and counted', () => {
  const time = fakeTime();
  const closed: string[] = [];
  const q = new PortQuarantine({ holdMs: 30_000, maxHeld: 2, now: time.now, schedule: time.schedule });
  for (const name of ['a', 'b', 'c']) q.hold(socket(name, closed));
  assert.deepEqual(closed, ['a']);
  assert.equal(q.closedEarly, 1);
  assert.equal(q.size, 2);
  time.advance(30_000);
  assert.deepEqual(closed, ['a', 'b', 'c']);
});

test('closeAll closes everything at once and disarms the timer; a socket that throws on close does not stop the rest', () => {
  const time = fakeTime();
  const closed: string[] = [];
  const q = new PortQuarantine({ holdMs: 30_000, maxHeld: 10, now: time.now, schedule: time.schedule });
  q.hold({ close: () => { throw new Error('already closed'); } });
  q.hold(socket('b', closed));
  q.closeAll();
  assert.deepEqual(closed, ['b']);
  assert.equal(q.size, 0);
  assert.equal(time.armed, false);
});

test('many sockets through the quarantine: each closed exactly once, after its hold time', () => {
  const time = fakeTime();
  const closedAt = new Map<number, number>();
  const q = new PortQuarantine({ holdMs: 1000, maxHeld: 100_000, now: time.now, schedule: time.schedule });
  for (let i = 0; i < 5000; i++) {
    const heldAt = time.now();
    q.hold({ close: () => { assert.ok(!closedAt.has(i), `socket ${i} closed twice`); closedAt.set(i, time.now() - heldAt); } });
    time.advance(1);
  }
  time.advance(1000);
  assert.equal(closedAt.size, 5000);
  assert.ok([...closedAt.values()].every((held) => held >= 1000), 'none closed early');
});

test('the hold time follows the kernel\'s UDP conntrack timeout, with a margin; 30 s when it cannot be read', () => {
  assert.equal(conntrackUdpHoldMs(() => '60\n'), 62_000);
  assert.equal(conntrackUdpHoldMs(() => { throw new Error('ENOENT'); }), 32_000);
  assert.equal(conntrackUdpHoldMs(() => 'garbage'), 32_000);
  assert.equal(conntrackUdpHoldMs(() => '0'), 32_000);
});
