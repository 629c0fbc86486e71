import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { ApiStatusError } from '../../lab/apiserver/apiStatus';
import { ClusterIpAllocator } from '../../lab/apiserver/clusterIpAllocator';
import type { KubeObject } from '../../lab/apiserver/objects';
import { Registry } from '../../lab/apiserver/registry';
import { seedCluster } from '../../lab/apiserver/seed';
import { prepareForStorage, type StrategyContext } from '../../lab/apiserver/strategies';

const ctx = (): StrategyContext => ({ allocator: new ClusterIpAllocator('10.130.0.0/16'), takenClusterIps: () => new Set(), takenNodePorts: () => new Set() });
const obj = (o: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', metadata: { name: 'x', uid: 'u', resourceVersion: '', creationTimestamp: '' }, ...o }) as KubeObject;

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('Secret strategy', () => {
  test('stringData becomes base64 data, wins over data for the same key, and is not stored', () => {
    const s = obj({ kind: 'Secret', data: { keep: b64('old'), both: b64('from-data') }, stringData: { both: 'from-stringData', pass: 'hunter2 ✓' } });
    prepareForStorage(s, ctx());
    assert.deepEqual(s.data, { keep: b64('old'), both: b64('from-stringData'), pass: b64('hunter2 ✓') });
    assert.equal('stringData' in s, false);
    assert.equal(s.type, 'Opaque');
  });

  test('data that is not base64 is a 400', () => {
    const s = obj({ kind: 'Secret', data: { k: 'not base64!' } });
    assert.throws(() => prepareForStorage(s, ctx()), (err: unknown) => err instanceof ApiStatusError && err.code === 400 && /illegal base64 data/.test(err.message));
  });
});

describe('Deployment strategy', () => {
  const deployment = (strategy?: unknown) => obj({
    kind: 'Deployment', apiVersion: 'apps/v1',
    spec: { selector: { matchLabels: { app: 'd' } }, ...(strategy !== undefined ? { strategy } : {}), template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
  });

  test('defaults replicas, history, and a RollingUpdate of 25%/25% also when kubectl sends strategy: {}', () => {
    for (const strategy of [undefined, {}]) {
      const d = deployment(strategy);
      prepareForStorage(d, ctx());
      assert.equal(d.spec.replicas, 1);
      assert.equal(d.spec.revisionHistoryLimit, 10);
      assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } }, JSON.stringify(strategy));
      assert.equal(d.spec.template.spec.containers[0].imagePullPolicy, 'Always');
      assert.equal(d.spec.template.spec.restartPolicy, 'Always');
    }
    const recreate = deployment({ type: 'Recreate' });
    prepareForStorage(recreate, ctx());
    assert.deepEqual(recreate.spec.strategy, { type: 'Recreate' });
  });

  test('a selector that does not match the template labels is a 422', () => {
    const d = deployment();
    d.spec.selector = { matchLabels: { app: 'other' } };
    assert.throws(() => prepareForStorage(d, ctx()), (err: unknown) => err instanceof ApiStatusError && err.code === 422 && /`selector` does not match template `labels`/.test(err.message));
  });
});

describe('Service strategy', () => {
  test('defaults type, ports and allocates a ClusterIP; an update keeps it and may not change it', () => {
    const s = obj({ kind: 'Service', spec: { ports: [{ port: 80 }] } });
    prepareForStorage(s, ctx());
    assert.equal(s.spec.type, 'ClusterIP');
    assert.deepEqual(s.spec.ports, [{ port: 80, protocol: 'TCP', targetPort: 80 }]);
    assert.match(s.spec.clusterIP, /^10\.130\./);
    assert.deepEqual(s.spec.clusterIPs, [s.spec.clusterIP]);
    const update = obj({ kind: 'Service', spec: { ports: [{ port: 81 }] } });
    prepareForStorage(update, ctx(), s);
    assert.equal(update.spec.clusterIP, s.spec.clusterIP);
    const change = obj({ kind: 'Service', spec: { ports: [{ port: 81 }], clusterIP: '10.130.9.9' } });
    assert.throws(() => prepareForStorage(change, ctx(), s), /may not change once set/);
  });

  test('no ports is a 422; headless services keep None', () => {
    assert.throws(() => prepareForStorage(obj({ kind: 'Service', spec: {} }), ctx()), /spec\.ports: Required value/);
    const headless = obj({ kind: 'Service', spec: { clusterIP: 'None', ports: [{ port: 5432 }] } });
    prepareForStorage(headless, ctx());
    assert.deepEqual(headless.spec.clusterIPs, ['None']);
  });
});

describe('generation (through the registry)', () => {
  const registry = () => {
    const r = new Registry('10.130.0.0/16');
    seedCluster(r, []);
    return r;
  };
  const spec = { replicas: 1, selector: { matchLabels: { app: 'g' } }, template: { metadata: { labels: { app: 'g' } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } } };

  test('starts at 1 and grows on a spec change only', () => {
    const r = registry();
    const type = r.type('apps', 'deployments');
    const created = r.create(type, 'default', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'g' }, spec });
    assert.equal(created.metadata.generation, 1);
    const labelled = r.patch(type, 'default', 'g', 'application/merge-patch+json', { metadata: { labels: { x: 'y' } } });
    assert.equal(labelled.metadata.generation, 1, 'a metadata change keeps the generation');
    const status = r.patch(type, 'default', 'g', 'application/merge-patch+json', { status: { replicas: 1 } }, { subresource: 'status' });
    assert.equal(status.metadata.generation, 1, 'a status change keeps the generation');
    const scaled = r.patch(type, 'default', 'g', 'application/merge-patch+json', { spec: { replicas: 3 } });
    assert.equal(scaled.metadata.generation, 2);
    const image = r.patch(type, 'default', 'g', 'application/strategic-merge-patch+json', { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } } } });
    assert.equal(image.metadata.generation, 3);
  });

  test('a PUT of the same spec with its keys in another order (kubectl replace) keeps the generation', () => {
    const r = registry();
    const type = r.type('apps', 'deployments');
    const created = r.create(type, 'default', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'g' }, spec });
    const reorder = (v: unknown): unknown => (Array.isArray(v) ? v.map(reorder)
      : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reorder(x)])) : v);
    const replaced = r.update(type, 'default', 'g', { ...created, spec: reorder(created.spec) });
    assert.notEqual(JSON.stringify(replaced.spec), JSON.stringify(created.spec), 'the test must really reorder keys');
    assert.equal(replaced.metadata.generation, 1);
    assert.notEqual(replaced.metadata.resourceVersion, created.metadata.resourceVersion);
  });

  test('kinds without generation tracking (ConfigMap) have none', () => {
    const r = registry();
    const cm = r.create(r.type('', 'configmaps'), 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } });
    assert.equal(cm.metadata.generation, undefined);
  });
});
