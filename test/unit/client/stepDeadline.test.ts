import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StepTimedOut, withinDeadline } from '../../../client/daemon/stepDeadline';

test('a step that answers in time gives its value', async () => {
  assert.equal(await withinDeadline('version', 1000, new Promise((r) => setTimeout(() => r(42), 5))), 42);
});

test('a step that fails in time gives its own error, not a timeout', async () => {
  await assert.rejects(withinDeadline('status', 1000, Promise.reject(new Error('boom'))), /boom/);
});

test('a step that never answers fails after the deadline, naming the step', async () => {
  const t0 = Date.now();
  const never = new Promise<never>(() => undefined);
  await assert.rejects(withinDeadline('vnat.subscribe', 50, never), (e: unknown) => {
    assert.ok(e instanceof StepTimedOut);
    assert.equal(e.step, 'vnat.subscribe');
    assert.match(e.message, /vnat\.subscribe got no answer from the daemon within 50 ms/);
    return true;
  });
  assert.ok(Date.now() - t0 >= 45, 'failed before the deadline');
});

test('the deadline timer does not keep the process alive after the step answered', async () => {
  const handles = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  await withinDeadline('version', 60_000, Promise.resolve(1));
  const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  assert.equal(after, handles);
});
