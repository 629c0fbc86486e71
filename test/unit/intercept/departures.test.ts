// The bookkeeping of leaves under way: one teardown per workload, joined by
// later leaves, hurried by disconnect, forgotten when it ends (even failed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Departures } from '../../../daemon/intercept/departures';

function gate<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

test('a second leave of the same workload runs nothing and shares the first outcome', async () => {
  const d = new Departures();
  const g = gate<boolean>();
  let runs = 0;
  const first = d.run('default/echo', () => { runs++; return g.promise; });
  const second = d.run('default/echo', () => { runs++; return Promise.resolve(false); });
  assert.equal(second, first);
  assert.equal(d.pending('default/echo'), first);
  assert.equal(d.pending('default/other'), undefined);
  g.resolve(true);
  assert.deepEqual(await Promise.all([first, second]), [true, true]);
  assert.equal(runs, 1);
  assert.equal(d.pending('default/echo'), undefined, 'forgotten once ended');
  assert.equal(d.size, 0);
});

test('a failed leave is forgotten too, and the next leave runs afresh', async () => {
  const d = new Departures();
  await assert.rejects(d.run('default/echo', async () => { throw new Error('could not restore'); }), /could not restore/);
  assert.equal(d.pending('default/echo'), undefined);
  assert.equal(await d.run('default/echo', async () => true), true);
});

test('leaves of different workloads run side by side', async () => {
  const d = new Departures();
  const a = gate<boolean>();
  const b = gate<boolean>();
  const pa = d.run('default/a', () => a.promise);
  const pb = d.run('default/b', () => b.promise);
  assert.equal(d.size, 2);
  b.resolve(true);
  assert.equal(await pb, true);
  assert.equal(d.pending('default/a'), pa);
  a.resolve(true);
  await pa;
});

test('hurry aborts one leave\'s signal; hurryAll aborts all and waits for them, failures included', async () => {
  const d = new Departures();
  const signals: AbortSignal[] = [];
  const waitForAbort = (s: AbortSignal) => new Promise<void>((r) => s.addEventListener('abort', () => r()));
  const one = d.run('default/a', async (s) => { signals.push(s); await waitForAbort(s); return true; });
  const two = d.run('default/b', async (s) => { signals.push(s); await waitForAbort(s); throw new Error('incomplete'); });
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(signals.length, 2);
  d.hurry('default/a');
  assert.equal(signals[0]!.aborted, true);
  assert.equal(signals[1]!.aborted, false);
  assert.equal(await one, true);
  const outcome = two.catch((e: Error) => e.message);
  await d.hurryAll();
  assert.equal(signals[1]!.aborted, true);
  assert.equal(await outcome, 'incomplete');
  assert.equal(d.size, 0);
  await d.hurryAll(); // nothing under way: returns at once
});
