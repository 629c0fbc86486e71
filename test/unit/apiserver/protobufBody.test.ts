import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { decodeProtobufBody } from '../../../test/lab/apiserver/protobufBody';

// Length-delimited protobuf field (lengths < 128 here).
const field = (n: number, value: Buffer | string): Buffer => {
  const b = Buffer.isBuffer(value) ? value : Buffer.from(value);
  return Buffer.concat([Buffer.from([(n << 3) | 2, b.length]), b]);
};
const magic = Buffer.from('k8s\0', 'latin1');

test("kubectl auth can-i's protobuf SelfSubjectAccessReview decodes to the JSON the server handles", () => {
  const attrs = Buffer.concat([field(1, 'default'), field(2, 'create'), field(3, 'apps'), field(5, 'deployments')]);
  const review = Buffer.concat([field(1, Buffer.alloc(0)), field(2, field(1, attrs))]);
  const body = Buffer.concat([magic, field(1, Buffer.concat([field(1, 'authorization.k8s.io/v1'), field(2, 'SelfSubjectAccessReview')])), field(2, review)]);
  assert.deepEqual(decodeProtobufBody(body), {
    apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', metadata: {},
    spec: { resourceAttributes: { namespace: 'default', verb: 'create', group: 'apps', resource: 'deployments' } },
  });
});

test('other kinds, a missing magic and truncated fields are refused with what to do', () => {
  const pod = Buffer.concat([magic, field(1, field(2, 'Pod')), field(2, Buffer.from([0x0a, 0x00]))]);
  assert.throws(() => decodeProtobufBody(pod), /Pod in protobuf is not supported by the lab: send application\/json/);
  assert.throws(() => decodeProtobufBody(Buffer.from('{"kind":"x"}')), /does not start with the k8s magic/);
  assert.throws(() => decodeProtobufBody(Buffer.concat([magic, Buffer.from([0x0a, 0x20, 0x01])])), /truncated/);
});
