// The intercept manager's life cycle against an in-memory API server: an
// intercept stays listed as `leaving` while its leave runs (service and
// template restored, pods without the agent rolling out) and goes when the
// leave ends; a second leave joins the first; an intercept of a workload
// being left waits for that leave; disconnect's leaveAll cuts a rollout wait
// short; a failed leave takes the intercept out of the list and throws; the
// --proxy-via agent's swap back shows `leaving` too.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '../../../daemon/log/logger';
import { InterceptManager } from '../../../daemon/intercept/interceptManager';
import { AGENT_CONTAINER } from '../../../daemon/intercept/agentInjection';
import type { InterceptInfo } from '../../../daemon/protocol/rpc';
import { until } from '../tunnel/sessionPair';
import { FakeCluster } from './fakeCluster';

interface Setup { cluster: FakeCluster; manager: InterceptManager; changes: InterceptInfo[][] }

const open: Setup[] = [];

function setup(): Setup {
  const cluster = new FakeCluster();
  cluster.addWorkload('echo');
  const changes: InterceptInfo[][] = [];
  const manager: InterceptManager = new InterceptManager({
    api: cluster,
    access: () => ({ server: 'https://fake.invalid' }),
    agentTransport: cluster.agentTransport,
    script: '// relay',
    image: 'lab/relay',
    readyTimeoutMs: 5_000,
    pollMs: 5,
    reconcileMs: 20,
    log: new Logger(undefined).scoped('intercept'),
    // What a client watching the status sees at each notification.
    changed: () => changes.push(manager.list().map((i) => ({ ...i }))),
  });
  const s = { cluster, manager, changes };
  open.push(s);
  return s;
}

afterEach(async () => {
  for (const s of open.splice(0)) {
    s.cluster.holdPods = false;
    await s.manager.leaveAll();
    s.cluster.close();
  }
});

const carriesAgent = (c: FakeCluster) => c.template('echo').spec!.containers.some((x) => x.name === AGENT_CONTAINER);
const states = (m: InterceptManager) => m.list().map((i) => `${i.workload}:${i.state}`);
const settled = (p: Promise<unknown>) => { let done = false; void p.then(() => { done = true; }, () => { done = true; }); return () => done; };

async function intercepted(s: Setup): Promise<void> {
  const started = await s.manager.start({ workload: 'echo', port: '18080:80', mode: 'intercept' }, 'default');
  assert.equal(started.info.state, 'active');
  assert.ok(carriesAgent(s.cluster));
  assert.deepEqual(states(s.manager), ['echo:active']);
}

test('leave: listed as leaving (and pushed) until the pods without the agent have rolled out, then gone', async () => {
  const s = setup();
  await intercepted(s);
  s.cluster.holdPods = true; // the pods with the agent keep running for now
  s.changes.length = 0;
  const leave = s.manager.leave('default', 'echo');
  const done = settled(leave);
  await until(() => !carriesAgent(s.cluster), 2000, 'the template restored');
  // Restored, but the rollout has not happened: the intercept is still there, as leaving.
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(done(), false, 'leave waits for the rollout');
  assert.deepEqual(states(s.manager), ['echo:leaving']);
  assert.deepEqual(s.changes.map((l) => l.map((i) => i.state)), [['leaving']], 'one notification, saying leaving');
  assert.equal(s.manager.leaving('default', 'echo') !== undefined, true);
  s.cluster.holdPods = false; // the rollout finishes
  assert.equal(await leave, true);
  assert.deepEqual(s.manager.list(), []);
  assert.deepEqual(s.changes.map((l) => l.map((i) => i.state)), [['leaving'], []], 'then one saying gone');
  assert.equal(s.manager.leaving('default', 'echo'), undefined);
});

test('a second leave while leaving starts no second teardown and shares the outcome', async () => {
  const s = setup();
  await intercepted(s);
  s.cluster.holdPods = true;
  const first = s.manager.leave('default', 'echo');
  await until(() => states(s.manager)[0] === 'echo:leaving');
  const second = s.manager.leave('default', 'echo');
  assert.equal(second, first, 'the same leave');
  s.cluster.holdPods = false;
  assert.deepEqual(await Promise.all([first, second]), [true, true]);
  const restores = s.cluster.requests.filter((r) => r.method === 'PATCH' && r.path === s.cluster.deploymentPath('echo'));
  assert.equal(restores.length, 2, 'one patch to inject, one to restore');
});

test('an intercept of a workload being left waits for the leave, then starts from the restored workload', async () => {
  const s = setup();
  await intercepted(s);
  s.cluster.holdPods = true;
  const leave = s.manager.leave('default', 'echo');
  await until(() => states(s.manager)[0] === 'echo:leaving');
  const again = s.manager.start({ workload: 'echo', port: '18081:80', mode: 'intercept' }, 'default');
  const done = settled(again);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(done(), false, 'the intercept waits');
  assert.deepEqual(states(s.manager), ['echo:leaving']);
  s.cluster.holdPods = false;
  assert.equal(await leave, true);
  const started = await again;
  assert.equal(started.info.localPort, 18081);
  assert.deepEqual(states(s.manager), ['echo:active']);
  // Inject, restore, inject: the second agent went into the restored template, after the leave.
  const patches = s.cluster.requests.filter((r) => r.method === 'PATCH' && r.path === s.cluster.deploymentPath('echo'));
  assert.equal(patches.length, 3);
});

test('leaveAll (disconnect) during a leave stops its rollout wait and ends with no intercepts', async () => {
  const s = setup();
  await intercepted(s);
  s.cluster.holdPods = true; // and they never roll: only leaveAll can end the wait
  const leave = s.manager.leave('default', 'echo');
  await until(() => states(s.manager)[0] === 'echo:leaving');
  const t0 = Date.now();
  await s.manager.leaveAll();
  assert.ok(Date.now() - t0 < 2_000, `leaveAll took ${Date.now() - t0} ms`);
  assert.equal(await leave, true);
  assert.deepEqual(s.manager.list(), []);
  assert.equal(carriesAgent(s.cluster), false);
});

test('leaveAll without a leave under way removes every intercept without waiting for rollouts', async () => {
  const s = setup();
  await intercepted(s);
  s.cluster.holdPods = true;
  await s.manager.leaveAll();
  assert.deepEqual(s.manager.list(), []);
  assert.equal(carriesAgent(s.cluster), false);
  assert.ok(s.changes.some((l) => l[0]?.state === 'leaving'), 'leaving was shown on the way');
});

test('a failed leave: the error is thrown as before and the intercept is out of the list (not stuck leaving)', async () => {
  const s = setup();
  await intercepted(s);
  s.cluster.failPatch.add(s.cluster.deploymentPath('echo'));
  await assert.rejects(s.manager.leave('default', 'echo'), /^Error: leaving default\/echo was incomplete: could not restore the pod template of deployment default\/echo: .*etcd is on fire/);
  assert.deepEqual(s.manager.list(), []);
  assert.deepEqual(s.changes.at(-1), []);
  assert.equal(s.manager.leaving('default', 'echo'), undefined);
  // What is left is found again through the template annotation by a later leave.
  s.cluster.failPatch.clear();
  assert.equal(await s.manager.leave('default', 'echo'), true);
  assert.equal(carriesAgent(s.cluster), false);
});

test('--proxy-via workload: leaving its intercept shows leaving during the swap back; the agent stays', async () => {
  const s = setup();
  await s.manager.startProxy('default', 'echo');
  assert.deepEqual(s.manager.list(), [], 'the --proxy-via agent alone is no intercept');
  await intercepted(s);
  s.cluster.holdPods = true; // the pods with the intercept's agent keep running for now
  s.changes.length = 0;
  const leave = s.manager.leave('default', 'echo');
  await until(() => states(s.manager)[0] === 'echo:leaving');
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(states(s.manager), ['echo:leaving'], 'still leaving while the --proxy-via agent rolls out');
  s.cluster.holdPods = false;
  assert.equal(await leave, true);
  assert.deepEqual(s.manager.list(), []);
  assert.equal(s.manager.isProxyVia('default', 'echo'), true);
  assert.ok(carriesAgent(s.cluster), 'the --proxy-via agent stays');
  assert.deepEqual(s.changes.map((l) => l.map((i) => i.state)), [['leaving'], []]);
});
