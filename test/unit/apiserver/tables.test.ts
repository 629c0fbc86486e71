import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import type { KubeObject } from '../../lab/apiserver/objects';
import { humanDuration, podStatusText, toTable, wantsTable } from '../../lab/apiserver/tables';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const meta = (name: string, ageSeconds: number, extra: Record<string, unknown> = {}) => ({
  name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '7', creationTimestamp: new Date(NOW - ageSeconds * 1000).toISOString(), ...extra,
});
const o = (kind: string, rest: Record<string, unknown>) => ({ apiVersion: 'v1', kind, ...rest }) as KubeObject;
const columns = (kind: string) => toTable(kind, [], { now: NOW }).columnDefinitions.map((c) => `${c.name}:${c.priority}`);

describe('Table columns as kubectl prints them', () => {
  test('pods: NAME READY STATUS RESTARTS AGE, wide adds IP NODE NOMINATED NODE READINESS GATES', () => {
    assert.deepEqual(columns('Pod'), ['Name:0', 'Ready:0', 'Status:0', 'Restarts:0', 'Age:0', 'IP:1', 'Node:1', 'Nominated Node:1', 'Readiness Gates:1']);
    const running = o('Pod', {
      metadata: meta('web-1', 90),
      spec: { nodeName: 'node-1', containers: [{ name: 'a' }, { name: 'b' }] },
      status: { phase: 'Running', podIP: '10.244.0.10', containerStatuses: [{ name: 'a', ready: true, restartCount: 0 }, { name: 'b', ready: false, restartCount: 2, lastState: { terminated: { finishedAt: new Date(NOW - 300_000).toISOString() } } }] },
    });
    const pending = o('Pod', { metadata: meta('web-2', 4000), spec: { containers: [{ name: 'a' }] }, status: { phase: 'Pending' } });
    const t = toTable('Pod', [running, pending], { now: NOW, resourceVersion: '42' });
    assert.equal(t.kind, 'Table');
    assert.equal(t.apiVersion, 'meta.k8s.io/v1');
    assert.deepEqual(t.metadata, { resourceVersion: '42' });
    assert.deepEqual(t.rows[0]!.cells, ['web-1', '1/2', 'Running', '2 (5m ago)', '90s', '10.244.0.10', 'node-1', '<none>', '<none>']);
    assert.deepEqual(t.rows[1]!.cells, ['web-2', '0/1', 'Pending', '0', '66m', '<none>', '<none>', '<none>', '<none>']);
    // The row's object is the metadata kubectl needs for -A (namespace) and names.
    assert.deepEqual(t.rows[0]!.object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: running.metadata });
  });

  test('pod status text: waiting reasons, terminated, init containers, deletion', () => {
    const pod = (status: unknown, extra: Record<string, unknown> = {}) => o('Pod', { metadata: meta('p', 1, extra), spec: {}, status });
    assert.equal(podStatusText(pod({ phase: 'Pending', containerStatuses: [{ state: { waiting: { reason: 'ContainerCreating' } } }] })), 'ContainerCreating');
    assert.equal(podStatusText(pod({ phase: 'Running', containerStatuses: [{ state: { waiting: { reason: 'CrashLoopBackOff' } } }] })), 'CrashLoopBackOff');
    assert.equal(podStatusText(pod({ phase: 'Failed', containerStatuses: [{ state: { terminated: { exitCode: 2 } } }] })), 'ExitCode:2');
    assert.equal(podStatusText(pod({ phase: 'Succeeded', containerStatuses: [{ state: { terminated: { exitCode: 0, reason: 'Completed' } } }] })), 'Completed');
    assert.equal(podStatusText(pod({ phase: 'Pending', initContainerStatuses: [{ state: { waiting: { reason: 'ImagePullBackOff' } } }] })), 'Init:ImagePullBackOff');
    assert.equal(podStatusText(pod({ phase: 'Running' }, { deletionTimestamp: new Date(NOW).toISOString() })), 'Terminating');
  });

  test('services: NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE, wide adds SELECTOR', () => {
    assert.deepEqual(columns('Service'), ['Name:0', 'Type:0', 'Cluster-IP:0', 'External-IP:0', 'Port(s):0', 'Age:0', 'Selector:1']);
    const cluster = o('Service', { metadata: meta('echo', 3 * 3600), spec: { type: 'ClusterIP', clusterIP: '10.130.1.2', ports: [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }], selector: { app: 'echo', tier: 'a' } } });
    const nodePort = o('Service', { metadata: meta('np', 10), spec: { type: 'NodePort', clusterIP: '10.130.1.3', ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }] } });
    const lb = o('Service', { metadata: meta('lb', 10), spec: { type: 'LoadBalancer', clusterIP: '10.130.1.4', ports: [{ port: 443, nodePort: 30443 }] } });
    const headless = o('Service', { metadata: meta('db', 10), spec: { type: 'ClusterIP', clusterIP: 'None', ports: [{ port: 5432, protocol: 'TCP' }] } });
    const rows = toTable('Service', [cluster, nodePort, lb, headless], { now: NOW }).rows.map((r) => r.cells);
    assert.deepEqual(rows, [
      ['echo', 'ClusterIP', '10.130.1.2', '<none>', '80/TCP,53/UDP', '3h', 'app=echo,tier=a'],
      ['np', 'NodePort', '10.130.1.3', '<none>', '80:30080/TCP', '10s', '<none>'],
      ['lb', 'LoadBalancer', '10.130.1.4', '<pending>', '443:30443/TCP', '10s', '<none>'],
      ['db', 'ClusterIP', 'None', '<none>', '5432/TCP', '10s', '<none>'],
    ]);
  });

  test('deployments: NAME READY UP-TO-DATE AVAILABLE AGE, wide adds CONTAINERS IMAGES SELECTOR', () => {
    assert.deepEqual(columns('Deployment'), ['Name:0', 'Ready:0', 'Up-to-date:0', 'Available:0', 'Age:0', 'Containers:1', 'Images:1', 'Selector:1']);
    const d = o('Deployment', {
      metadata: meta('web', 26 * 3600),
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [{ name: 'web', image: 'nginx:1' }, { name: 'side', image: 'busybox' }] } } },
      status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
    });
    const fresh = o('Deployment', { metadata: meta('new', 0), spec: { replicas: 2, selector: { matchLabels: { app: 'new' } }, template: { spec: { containers: [{ name: 'n', image: 'n:1' }] } } } });
    const rows = toTable('Deployment', [d, fresh], { now: NOW }).rows.map((r) => r.cells);
    assert.deepEqual(rows, [
      ['web', '2/3', 3, 2, '26h', 'web,side', 'nginx:1,busybox', 'app=web'],
      ['new', '0/2', 0, 0, '0s', 'n', 'n:1', 'app=new'],
    ]);
  });

  test('kinds without columns get NAME and AGE; watch rows after the first carry no column definitions', () => {
    assert.deepEqual(columns('Event'), ['Name:0', 'Age:0']);
    const cm = o('ConfigMap', { metadata: meta('c', 5), data: { a: '1', b: '2' } });
    assert.deepEqual(toTable('ConfigMap', [cm], { now: NOW }).rows[0]!.cells, ['c', 2, '5s']);
    assert.deepEqual(toTable('ConfigMap', [cm], { now: NOW, noHeaders: true }).columnDefinitions, []);
    assert.equal(toTable('ConfigMap', [cm], { now: NOW, includeObject: 'None' }).rows[0]!.object, undefined);
    assert.equal(toTable('ConfigMap', [cm], { now: NOW, includeObject: 'Object' }).rows[0]!.object, cm);
  });
});

test('humanDuration matches kubectl', () => {
  const cases: Array<[number, string]> = [
    [-5_000, '<invalid>'], [-1_500, '0s'], [-500, '0s'], [0, '0s'], [59_000, '59s'], [119_000, '119s'], [120_000, '2m'], [125_000, '2m5s'],
    [600_000, '10m'], [179 * 60_000, '179m'], [3 * 3600_000, '3h'], [3 * 3600_000 + 5 * 60_000, '3h5m'], [8 * 3600_000, '8h'],
    [47 * 3600_000, '47h'], [48 * 3600_000, '2d'], [50 * 3600_000, '2d2h'], [8 * 86400_000, '8d'], [800 * 86400_000, '2y70d'], [9 * 365 * 86400_000, '9y'],
  ];
  for (const [ms, text] of cases) assert.equal(humanDuration(ms), text, `${ms} ms`);
});

test('wantsTable recognizes the Accept header kubectl sends', () => {
  assert.equal(wantsTable('application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'), true);
  assert.equal(wantsTable('application/json'), false);
  assert.equal(wantsTable(undefined), false);
});
