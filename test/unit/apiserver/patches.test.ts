import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { ApiStatusError } from '../../lab/apiserver/apiStatus';
import { applyPatch, jsonPatch, mergePatch, strategicMergePatch, type Json, type JsonPatchOp } from '../../lab/apiserver/patches';

const deployment = (): Json => ({
  metadata: { name: 'web', labels: { app: 'web', tier: 'front' } },
  spec: {
    replicas: 1,
    template: {
      spec: {
        containers: [
          { name: 'web', image: 'nginx:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], ports: [{ containerPort: 80, name: 'http' }] },
          { name: 'sidecar', image: 'busybox', args: ['sleep', '1'] },
        ],
      },
    },
  },
});

type Obj = { [k: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any -- test reads nested results

describe('JSON merge patch (RFC 7386)', () => {
  test('merges objects, null deletes, lists and scalars replace', () => {
    const out = mergePatch(deployment(), { metadata: { labels: { tier: null, x: 'y' } }, spec: { replicas: 3, template: { spec: { containers: [{ name: 'only', image: 'i' }] } } } }) as Obj;
    assert.deepEqual(out.metadata.labels, { app: 'web', x: 'y' });
    assert.equal(out.spec.replicas, 3);
    assert.deepEqual(out.spec.template.spec.containers, [{ name: 'only', image: 'i' }]);
  });

  test('never touches its inputs', () => {
    const target = deployment();
    const patch: Json = { metadata: { labels: { app: null } } };
    const before = JSON.stringify([target, patch]);
    mergePatch(target, patch);
    assert.equal(JSON.stringify([target, patch]), before);
  });

  test('a non-object patch replaces the whole document', () => {
    assert.deepEqual(mergePatch({ a: 1 }, [1, 2]), [1, 2]);
    assert.deepEqual(mergePatch({ a: 1 }, { a: { b: 2 } }), { a: { b: 2 } });
  });
});

describe('strategic merge patch', () => {
  test('containers merge by name: the named one changes, the others stay', () => {
    const out = strategicMergePatch(deployment(), { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:2' }] } } } }) as Obj;
    const cs = out.spec.template.spec.containers;
    assert.equal(cs.length, 2);
    assert.equal(cs[0].image, 'nginx:2');
    assert.deepEqual(cs[0].env, [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], 'fields not in the patch stay');
    assert.deepEqual(cs[1], { name: 'sidecar', image: 'busybox', args: ['sleep', '1'] });
  });

  test('a new name is appended; env merges by name; container ports by containerPort', () => {
    const out = strategicMergePatch(deployment(), {
      spec: { template: { spec: { containers: [
        { name: 'web', env: [{ name: 'B', value: 'changed' }, { name: 'C', value: '3' }], ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 9090 }] },
        { name: 'third', image: 'x' },
      ] } } },
    }) as Obj;
    const cs = out.spec.template.spec.containers;
    assert.deepEqual(cs.map((c: Obj) => c.name), ['web', 'sidecar', 'third']);
    assert.deepEqual(cs[0].env, [{ name: 'A', value: '1' }, { name: 'B', value: 'changed' }, { name: 'C', value: '3' }]);
    assert.deepEqual(cs[0].ports, [{ containerPort: 80, name: 'http', protocol: 'TCP' }, { containerPort: 9090 }]);
  });

  test('service ports merge by port', () => {
    const svc: Json = { spec: { ports: [{ port: 80, targetPort: 8080, name: 'http' }] } };
    const out = strategicMergePatch(svc, { spec: { ports: [{ port: 80, targetPort: 9090 }, { port: 443, name: 'https' }] } }) as Obj;
    assert.deepEqual(out.spec.ports, [{ port: 80, targetPort: 9090, name: 'http' }, { port: 443, name: 'https' }]);
  });

  test('$patch: delete removes the item with that key', () => {
    const out = strategicMergePatch(deployment(), { spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }, { name: 'web', env: [{ name: 'A', $patch: 'delete' }] }] } } } }) as Obj;
    const cs = out.spec.template.spec.containers;
    assert.deepEqual(cs.map((c: Obj) => c.name), ['web']);
    assert.deepEqual(cs[0].env, [{ name: 'B', value: '2' }]);
  });

  test('$patch: replace replaces a map, or (as a list item) the whole list', () => {
    const out = strategicMergePatch(deployment(), { metadata: { labels: { $patch: 'replace', only: 'this' } } }) as Obj;
    assert.deepEqual(out.metadata.labels, { only: 'this' });
    const list = strategicMergePatch(deployment(), { spec: { template: { spec: { containers: [{ $patch: 'replace' }, { name: 'new', image: 'n' }] } } } }) as Obj;
    assert.deepEqual(list.spec.template.spec.containers, [{ name: 'new', image: 'n' }]);
  });

  test('lists without a merge key (args) are replaced; null deletes; kubectl directives are ignored', () => {
    const out = strategicMergePatch(deployment(), {
      metadata: { labels: { tier: null } },
      spec: { template: { spec: { containers: [{ name: 'sidecar', args: ['sleep', '2'] }], '$setElementOrder/containers': [{ name: 'web' }, { name: 'sidecar' }] } } },
    }) as Obj;
    assert.deepEqual(out.metadata.labels, { app: 'web' });
    assert.deepEqual(out.spec.template.spec.containers[1].args, ['sleep', '2']);
    assert.equal('$setElementOrder/containers' in out.spec.template.spec, false);
  });

  test('an annotation added by `kubectl rollout restart` keeps the containers', () => {
    const out = strategicMergePatch(deployment(), { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': 'now' } } } } }) as Obj;
    assert.equal(out.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt'], 'now');
    assert.equal(out.spec.template.spec.containers.length, 2);
  });
});

describe('JSON patch (RFC 6902)', () => {
  const doc = (): Json => ({ metadata: { name: 'x', labels: { a: '1' } }, spec: { list: ['a', 'b'], nested: { k: 1, j: 2 } } });
  const apply = (ops: JsonPatchOp[]) => jsonPatch(doc(), ops) as Obj;

  test('add to a map, into a list at an index and at the end', () => {
    const out = apply([
      { op: 'add', path: '/metadata/labels/b', value: '2' },
      { op: 'add', path: '/spec/list/1', value: 'x' },
      { op: 'add', path: '/spec/list/-', value: 'z' },
      { op: 'add', path: '/metadata/annotations', value: { 'a/b': 'c' } },
      { op: 'add', path: '/metadata/annotations/x~1y', value: 'slash' },
    ]);
    assert.deepEqual(out.metadata.labels, { a: '1', b: '2' });
    assert.deepEqual(out.spec.list, ['a', 'x', 'b', 'z']);
    assert.deepEqual(out.metadata.annotations, { 'a/b': 'c', 'x/y': 'slash' });
  });

  test('remove and replace', () => {
    const out = apply([{ op: 'remove', path: '/metadata/labels/a' }, { op: 'remove', path: '/spec/list/0' }, { op: 'replace', path: '/spec/nested/k', value: 9 }, { op: 'replace', path: '/spec/list/0', value: 'B' }]);
    assert.deepEqual(out.metadata.labels, {});
    assert.deepEqual(out.spec.list, ['B']);
    assert.equal(out.spec.nested.k, 9);
  });

  test('test passes on equal values whatever their key order, and fails the whole patch otherwise', () => {
    const out = apply([{ op: 'test', path: '/spec/nested', value: { j: 2, k: 1 } }, { op: 'replace', path: '/metadata/name', value: 'y' }]);
    assert.equal(out.metadata.name, 'y');
    assert.throws(() => apply([{ op: 'test', path: '/metadata/name', value: 'other' }, { op: 'replace', path: '/metadata/name', value: 'y' }]), (err: unknown) => {
      assert.ok(err instanceof ApiStatusError);
      assert.equal(err.code, 422);
      assert.match(err.message, /testing value \/metadata\/name failed/);
      return true;
    });
  });

  test('missing paths and bad indexes are 422, never a silent edit elsewhere', () => {
    const fails = (ops: JsonPatchOp[], re: RegExp) => assert.throws(() => apply(ops), (err: unknown) => err instanceof ApiStatusError && err.code === 422 && re.test(err.message));
    fails([{ op: 'remove', path: '/metadata/labels/nope' }], /unable to remove nonexistent key/);
    fails([{ op: 'replace', path: '/metadata/nope', value: 1 }], /missing/);
    fails([{ op: 'add', path: '/nope/deeper', value: 1 }], /doc is missing path/);
    fails([{ op: 'add', path: '/spec/list/5', value: 'x' }], /out of bounds/);
    fails([{ op: 'replace', path: '/spec/list/2', value: 'x' }], /out of bounds/);
    fails([{ op: 'remove', path: '/spec/list/-' }], /array index/);
    fails([{ op: 'add', path: '/spec/list/', value: 'x' }], /array index/);
    fails([{ op: 'replace', path: '/spec/list/01', value: 'x' }], /array index/);
  });

  test('the input document is never modified, even when an operation fails', () => {
    const target = doc();
    const before = JSON.stringify(target);
    jsonPatch(target, [{ op: 'add', path: '/spec/list/-', value: 'c' }]);
    assert.throws(() => jsonPatch(target, [{ op: 'remove', path: '/spec/list/0' }, { op: 'test', path: '/spec/list/0', value: 'zzz' }]));
    assert.equal(JSON.stringify(target), before);
  });

  test('move and copy', () => {
    const out = apply([{ op: 'copy', from: '/metadata/labels', path: '/metadata/annotations' }, { op: 'move', from: '/spec/nested/k', path: '/spec/moved' }]);
    assert.deepEqual(out.metadata.annotations, { a: '1' });
    assert.equal(out.spec.moved, 1);
    assert.equal('k' in out.spec.nested, false);
  });
});

describe('applyPatch by content type', () => {
  test('dispatches on the media type and refuses unknown ones with 415', () => {
    assert.deepEqual(applyPatch('application/merge-patch+json', { l: [1, 2] }, { l: [3] }), { l: [3] });
    assert.deepEqual(applyPatch('application/json-patch+json', { a: 1 }, [{ op: 'replace', path: '/a', value: 2 }] as unknown as Json), { a: 2 });
    const smp = applyPatch('application/strategic-merge-patch+json', { env: [{ name: 'A', value: '1' }] }, { env: [{ name: 'B', value: '2' }] }) as Obj;
    assert.deepEqual(smp.env.map((e: Obj) => e.name), ['A', 'B']);
    assert.throws(() => applyPatch('text/plain', {}, {}), (err: unknown) => err instanceof ApiStatusError && err.code === 415);
  });
});
