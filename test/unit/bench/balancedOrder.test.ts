// The lab benchmark's path order: every path measured once per round, and over
// a full cycle each path directly follows each other path exactly once, so a
// path's figures do not always carry the same neighbour's after-effects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { balancedOrder } from '../../../test/bench/labPaths';

test('each round is a permutation, and each ordered pair of neighbours occurs once per cycle', () => {
  for (const n of [2, 4, 6]) {
    const items = Array.from({ length: n }, (_, i) => `p${i}`);
    const pairs = new Map<string, number>();
    for (let round = 0; round < n; round++) {
      const order = balancedOrder(items, round);
      assert.deepEqual([...order].sort(), [...items].sort(), `round ${round} of ${n} measures every path once`);
      for (let i = 1; i < n; i++) pairs.set(`${order[i - 1]}>${order[i]}`, (pairs.get(`${order[i - 1]}>${order[i]}`) ?? 0) + 1);
    }
    assert.equal(pairs.size, n * (n - 1), `all ${n * (n - 1)} ordered neighbour pairs occur for ${n} paths`);
    assert.ok([...pairs.values()].every((c) => c === 1), 'each exactly once');
  }
});

test('the lab paths: port-forward does not always come right before the daemon', () => {
  const paths = ['direct', 'port-forward', 'daemon', 'sshuttle'];
  const before = new Set<string>();
  for (let round = 0; round < 5; round++) {
    const order = balancedOrder(paths, round);
    const i = order.indexOf('daemon');
    if (i > 0) before.add(order[i - 1]!);
  }
  assert.ok(before.size >= 2, `the daemon follows different paths across rounds (${[...before].join(', ')})`);
});
