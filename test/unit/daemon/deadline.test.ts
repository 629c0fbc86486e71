import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withDeadline } from '../../../daemon/deadline';

test('work that ignores its signal is still cut at the deadline, with the caller\'s error, and its signal is aborted', async () => {
  let seen: AbortSignal | undefined;
  await assert.rejects(
    withDeadline(30, (signal) => { seen = signal; return new Promise<never>(() => undefined); }, () => new Error('too slow')),
    /too slow/,
  );
  assert.equal(seen?.aborted, true);
});

test('work that answers in time keeps its value and its signal is never aborted', async () => {
  let seen: AbortSignal | undefined;
  assert.equal(await withDeadline(1000, async (signal) => { seen = signal; return 7; }, () => new Error('unused')), 7);
  assert.equal(seen?.aborted, false);
});
