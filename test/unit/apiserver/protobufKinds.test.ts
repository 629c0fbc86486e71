// The protobuf bodies kubectl's typed `create` commands send, encoded here
// the way Go's generated marshallers do (every non-pointer field present,
// zero or not), decoded to the JSON the server stores.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { decodeProtobufBody } from '../../lab/apiserver/protobufBody';

const varint = (n: number | bigint): Buffer => {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
};
const bytes = (n: number, value: Buffer | string): Buffer => {
  const b = Buffer.isBuffer(value) ? value : Buffer.from(value);
  return Buffer.concat([varint((n << 3) | 2), varint(b.length), b]);
};
const num = (n: number, value: number | boolean): Buffer => Buffer.concat([varint(n << 3), varint(typeof value === 'boolean' ? Number(value) : value)]);
const msg = (...parts: Buffer[]) => Buffer.concat(parts);
const entry = (n: number, k: string, v: Buffer | string) => bytes(n, msg(bytes(1, k), bytes(2, v)));
const envelope = (apiVersion: string, kind: string, raw: Buffer) =>
  Buffer.concat([Buffer.from('k8s\0', 'latin1'), bytes(1, msg(bytes(1, apiVersion), bytes(2, kind))), bytes(2, raw), bytes(3, ''), bytes(4, '')]);
/** ObjectMeta as Go writes it: empty strings, a zero generation and an empty creationTimestamp included. */
const meta = (name: string, labels: Record<string, string> = {}) => msg(
  bytes(1, name), bytes(2, ''), bytes(3, ''), bytes(4, ''), bytes(5, ''), bytes(6, ''), num(7, 0), bytes(8, ''),
  ...Object.entries(labels).map(([k, v]) => entry(11, k, v)),
);

test('kubectl create service clusterip x --clusterip=192.168.0.9 --tcp=80:8080', () => {
  const port = msg(bytes(1, '80-8080'), bytes(2, 'TCP'), num(3, 80), bytes(4, msg(num(1, 0), num(2, 8080), bytes(3, ''))), num(5, 0));
  const spec = msg(bytes(1, port), entry(2, 'app', 'x'), bytes(3, '192.168.0.9'), bytes(4, 'ClusterIP'), bytes(7, ''), bytes(8, ''), bytes(10, ''), bytes(11, ''), num(12, 0), num(13, false));
  const body = envelope('v1', 'Service', msg(bytes(1, meta('x', { app: 'x' })), bytes(2, spec), bytes(3, msg(bytes(1, '')))));
  assert.deepEqual(decodeProtobufBody(body), {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'x', labels: { app: 'x' } },
    spec: { ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }], selector: { app: 'x' }, clusterIP: '192.168.0.9', type: 'ClusterIP' },
  });
});

test('a named targetPort is a string (IntOrString type 1)', () => {
  const port = msg(bytes(1, 'http'), num(3, 80), bytes(4, msg(num(1, 1), num(2, 0), bytes(3, 'web'))));
  const body = envelope('v1', 'Service', msg(bytes(1, meta('n')), bytes(2, msg(bytes(1, port)))));
  assert.deepEqual((decodeProtobufBody(body).spec as { ports: unknown[] }).ports, [{ name: 'http', port: 80, targetPort: 'web' }]);
});

test('kubectl create secret generic: data bytes become base64, stringData stays text, an empty value is kept', () => {
  const raw = msg(bytes(1, meta('s1')), entry(2, 'k', Buffer.from([0xff, 0x00, 0x41])), entry(2, 'empty', ''), entry(4, 'password', 'hunter2'), bytes(3, 'Opaque'));
  assert.deepEqual(decodeProtobufBody(envelope('v1', 'Secret', raw)), {
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1' },
    data: { k: Buffer.from([0xff, 0x00, 0x41]).toString('base64'), empty: '' }, stringData: { password: 'hunter2' }, type: 'Opaque',
  });
});

test('kubectl create deployment: pointer fields keep their zero (replicas: 0), repeated fields stay lists', () => {
  const container = msg(bytes(1, 'nginx'), bytes(2, 'nginx:1.25'), bytes(3, 'sh'), bytes(3, '-c'), bytes(3, 'sleep 1'),
    bytes(6, msg(bytes(1, ''), num(2, 0), num(3, 80), bytes(4, 'TCP'), bytes(5, ''))), bytes(7, msg(bytes(1, 'A'), bytes(2, '1'))),
    bytes(8, msg(bytes(1, msg(bytes(1, 'cpu'), bytes(2, msg(bytes(1, '500m'))))))), bytes(5, ''), num(16, false));
  const template = msg(bytes(1, meta('', { app: 'd1' })), bytes(2, msg(bytes(2, container), bytes(3, ''), bytes(6, ''))));
  const spec = msg(num(1, 0), bytes(2, msg(entry(1, 'app', 'd1'))), bytes(3, template), bytes(4, msg(bytes(1, ''))), num(5, 0), num(7, false));
  assert.deepEqual(decodeProtobufBody(envelope('apps/v1', 'Deployment', msg(bytes(1, meta('d1', { app: 'd1' })), bytes(2, spec)))), {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd1', labels: { app: 'd1' } },
    spec: {
      replicas: 0, selector: { matchLabels: { app: 'd1' } }, strategy: {},
      template: {
        metadata: { labels: { app: 'd1' } },
        spec: { containers: [{ name: 'nginx', image: 'nginx:1.25', command: ['sh', '-c', 'sleep 1'], ports: [{ containerPort: 80, protocol: 'TCP' }], env: [{ name: 'A', value: '1' }], resources: { limits: { cpu: '500m' } } }] },
      },
    },
  });
});

test('namespaces, configmaps and service accounts decode; negative int64 values survive', () => {
  assert.deepEqual(decodeProtobufBody(envelope('v1', 'Namespace', msg(bytes(1, meta('team-a')), bytes(2, msg())))), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' }, spec: {} });
  assert.deepEqual(decodeProtobufBody(envelope('v1', 'ConfigMap', msg(bytes(1, meta('c')), entry(2, 'a', 'b'), entry(3, 'bin', Buffer.from([1, 2]))))), {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' }, binaryData: { bin: 'AQI=' },
  });
  assert.deepEqual(decodeProtobufBody(envelope('v1', 'ServiceAccount', msg(bytes(1, meta('bot')), num(4, false)))), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'bot' }, automountServiceAccountToken: false });
  const pod = msg(bytes(2, msg(bytes(1, 'c'), bytes(2, 'i'))), num(4, -1));
  const d = decodeProtobufBody(envelope('apps/v1', 'Deployment', msg(bytes(1, meta('neg')), bytes(2, msg(bytes(3, msg(bytes(2, pod))))))));
  assert.equal((d.spec as { template: { spec: { terminationGracePeriodSeconds: number } } }).template.spec.terminationGracePeriodSeconds, -1);
});

test('a kind without a schema is refused with what to do', () => {
  assert.throws(() => decodeProtobufBody(envelope('v1', 'Pod', msg(bytes(1, meta('p'))))), /Pod in protobuf is not supported by the lab: send application\/json/);
});
