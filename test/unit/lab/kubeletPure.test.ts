import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchCommand, planMounts } from '../../lab/kubelet/containerLaunch';
import { containerArgv, resolveImage } from '../../lab/kubelet/images';
import { podPhase, podStatus, type ContainerReport } from '../../lab/kubelet/podStatus';
import { PodAddresses } from '../../lab/network/podAddresses';

test('images: lab/echo and node:* run, anything else is ErrImagePull', () => {
  assert.equal(resolveImage('lab/echo').kind, 'echo');
  assert.equal(resolveImage('lab/echo:1.0').kind, 'echo');
  for (const i of ['node', 'node:20-alpine', 'docker.io/library/node:20', 'node@sha256:abc']) assert.equal(resolveImage(i).kind, 'node', i);
  const bad = resolveImage('nginx:1.27');
  assert.equal(bad.kind, 'unavailable');
  assert.match(bad.kind === 'unavailable' ? bad.message : '', /Failed to pull image "nginx:1\.27"/);
  assert.deepEqual(containerArgv({ kind: 'node' }, ['node', '/opt/x.js'], ['--a'], '/usr/bin/node', []), ['/usr/bin/node', '/opt/x.js', '--a']);
  assert.deepEqual(containerArgv({ kind: 'node' }, [], ['/opt/x.js'], '/n', []), ['/n', '/opt/x.js']);
  assert.deepEqual(containerArgv({ kind: 'echo' }, [], [], '/n', ['/n', 'lab.js', 'image', 'echo']), ['/n', 'lab.js', 'image', 'echo']);
});

test('mount plan: existing targets bind directly, missing ones under an existing directory go into one overlay, root-level ones are host dirs', () => {
  const existing = new Set(['/', '/opt', '/etc', '/etc/app.conf', '/tmp']);
  const exists = (p: string) => existing.has(p);
  const plan = planMounts([
    { source: '/s/script', target: '/opt/tpv-relay', readOnly: true, sourceIsFile: false },
    { source: '/s/other', target: '/opt/more/deep', readOnly: false, sourceIsFile: false },
    { source: '/s/conf', target: '/etc/app.conf', readOnly: true, sourceIsFile: true },
    { source: '/s/app', target: '/app/data', readOnly: false, sourceIsFile: false },
  ], exists, '/state/ovl');
  assert.deepEqual(plan.hostDirs, ['/app', '/app/data']);
  assert.deepEqual(plan.overlayDirs, ['/state/ovl/1/upper', '/state/ovl/1/work']);
  assert.deepEqual(plan.ops, [
    { op: 'overlay', dir: '/opt', upper: '/state/ovl/1/upper', work: '/state/ovl/1/work' },
    { op: 'mkdir', path: '/opt/tpv-relay' },
    { op: 'mkdir', path: '/opt/more/deep' },
    { op: 'bind', source: '/s/script', target: '/opt/tpv-relay' },
    { op: 'ro', target: '/opt/tpv-relay' },
    { op: 'bind', source: '/s/other', target: '/opt/more/deep' },
    { op: 'bind', source: '/s/conf', target: '/etc/app.conf' },
    { op: 'ro', target: '/etc/app.conf' },
    { op: 'bind', source: '/s/app', target: '/app/data' },
  ]);
  const cmd = launchCommand({ netns: 'lab-p-1', hostname: 'pod-1', ops: plan.ops.slice(0, 2), workingDir: '/opt', argv: ['/usr/bin/node', 'x.js'] });
  assert.equal(cmd.file, 'ip');
  assert.deepEqual(cmd.args.slice(0, 7), ['netns', 'exec', 'lab-p-1', 'unshare', '--uts', '--', '/bin/sh']);
  assert.deepEqual(cmd.args.slice(9), ['lab-container', 'pod-1', 'overlay', '/opt', '/state/ovl/1/upper', '/state/ovl/1/work', 'mkdir', '/opt/tpv-relay', 'cd', '/opt', '--', '/usr/bin/node', 'x.js']);
});

const running = (name: string, ready: boolean): ContainerReport => ({ name, image: 'lab/echo', current: { state: 'running', startedAt: 't0' }, restartCount: 0, ready, everStarted: true });

test('pod status: phase and Ready/ContainersReady conditions, transition times kept while unchanged', () => {
  const waiting: ContainerReport = { name: 'c', image: 'nginx', current: { state: 'waiting', reason: 'ErrImagePull' }, restartCount: 0, ready: false, everStarted: false };
  assert.equal(podPhase({ containers: [waiting], restartPolicy: 'Always' }), 'Pending');
  assert.equal(podPhase({ containers: [running('a', false)], restartPolicy: 'Always' }), 'Running');
  const done = (code: number): ContainerReport => ({ name: 'j', image: 'node', current: { state: 'terminated', exitCode: code, reason: code ? 'Error' : 'Completed', startedAt: 't', finishedAt: 't' }, restartCount: 0, ready: false, everStarted: true });
  assert.equal(podPhase({ containers: [done(0)], restartPolicy: 'Never' }), 'Succeeded');
  assert.equal(podPhase({ containers: [done(1)], restartPolicy: 'Never' }), 'Failed');
  assert.equal(podPhase({ containers: [done(1)], restartPolicy: 'OnFailure' }), 'Running');

  const s1 = podStatus({ podIP: '10.132.0.2', hostIP: '10.132.0.1', startTime: 't0', restartPolicy: 'Always', containers: [running('a', false)], now: 't1' });
  const cond = (s: typeof s1, t: string) => s.conditions.find((c) => c.type === t)!;
  assert.equal(cond(s1, 'Ready').status, 'False');
  assert.match(cond(s1, 'Ready').message ?? '', /containers with unready status: \[a\]/);
  assert.deepEqual(s1.podIPs, [{ ip: '10.132.0.2' }]);
  const s2 = podStatus({ podIP: '10.132.0.2', hostIP: '10.132.0.1', startTime: 't0', restartPolicy: 'Always', containers: [running('a', true)], previous: s1.conditions, now: 't2' });
  assert.equal(cond(s2, 'Ready').status, 'True');
  assert.equal(cond(s2, 'Ready').lastTransitionTime, 't2');
  assert.equal(cond(s2, 'PodScheduled').lastTransitionTime, 't1', 'unchanged conditions keep their time');
  assert.equal(s2.containerStatuses[0]!.ready, true);
  assert.deepEqual(s2.containerStatuses[0]!.state, { running: { startedAt: 't0' } });
});

test('pod addresses: skip network, bridge and broadcast, reuse only after a full round', () => {
  const a = new PodAddresses('10.132.0.0/29');
  const got = [a.allocate(), a.allocate(), a.allocate(), a.allocate(), a.allocate()];
  assert.deepEqual(got, ['10.132.0.2', '10.132.0.3', '10.132.0.4', '10.132.0.5', '10.132.0.6']);
  assert.throws(() => a.allocate(), /pod CIDR is full/);
  a.release('10.132.0.4');
  assert.equal(a.allocate(), '10.132.0.4');
});
