import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { MessageSizeGuard, MessageTooLargeError } from '../../../daemon/server/messageSizeGuard';
import { connectParams, interceptParams, logLevel } from '../../../daemon/server/validate';
import { isPeerAllowed } from '../../../daemon/server/peerCredentials';

function frame(body: string): Buffer {
  return Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

async function through(guard: MessageSizeGuard, chunks: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  guard.on('data', (c: Buffer) => out.push(c));
  await new Promise<void>((resolve, reject) => {
    guard.on('end', resolve);
    guard.on('error', reject);
    Readable.from(chunks).pipe(guard);
  });
  return Buffer.concat(out);
}

test('size guard passes messages through unchanged, however they are split', async () => {
  const data = Buffer.concat([frame('{"a":1}'), frame('{"jsonrpc":"2.0","id":1,"method":"status"}'), frame('x'.repeat(5000))]);
  for (const step of [1, 3, 7, 64, data.length]) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < data.length; i += step) chunks.push(data.subarray(i, i + step));
    const out = await through(new MessageSizeGuard(10_000), chunks);
    assert.ok(out.equals(data), `split every ${step} bytes`);
  }
});

test('size guard refuses an announced length over the limit before the body arrives', async () => {
  await assert.rejects(through(new MessageSizeGuard(1000), [Buffer.from('Content-Length: 1001\r\n\r\n')]), MessageTooLargeError);
});

test('size guard refuses endless headers and headers without a length', async () => {
  await assert.rejects(through(new MessageSizeGuard(), [Buffer.from('X'.repeat(2000))]), /header longer/);
  await assert.rejects(through(new MessageSizeGuard(), [Buffer.from('Content-Type: x\r\n\r\n')]), /without Content-Length/);
});

const goodConnect = { kubeconfig: 'apiVersion: v1', context: 'lab', namespace: 'default', flags: { vnat: ['all'] }, routing: { autoResolveConflicts: true } };

test('connect params: a good request is accepted and normalised', () => {
  const p = connectParams(goodConnect);
  assert.deepEqual(p.flags, { vnat: ['all'], proxyVia: [], alsoProxy: [], neverProxy: [], allowConflictingSubnets: [] });
  assert.equal(p.routing.autoResolveConflicts, true);
});

test('connect params: wrong types, bad names and oversize values are rejected with the field named', () => {
  assert.throws(() => connectParams(null), /params: expected an object/);
  assert.throws(() => connectParams({ ...goodConnect, kubeconfig: 42 }), /params\.kubeconfig: expected a string/);
  assert.throws(() => connectParams({ ...goodConnect, namespace: 'Bad_NS' }), /params\.namespace: "Bad_NS" is not a valid name/);
  assert.throws(() => connectParams({ ...goodConnect, flags: { vnat: [1] } }), /params\.flags\.vnat\[0\]: expected a string/);
  assert.throws(() => connectParams({ ...goodConnect, flags: { vnat: Array(300).fill('all') } }), /more than 256 entries/);
  assert.throws(() => connectParams({ ...goodConnect, routing: { autoResolveConflicts: 'yes' } }), /autoResolveConflicts: expected true or false/);
  assert.throws(() => connectParams({ ...goodConnect, context: 'x'.repeat(300) }), /longer than 253/);
  assert.throws(() => connectParams({ ...goodConnect, context: 'a\0b' }), /NUL/);
});

test('intercept params and log levels are validated', () => {
  assert.equal(interceptParams({ workload: 'echo', port: '8080:80', mode: 'intercept' }).workload, 'echo');
  assert.throws(() => interceptParams({ workload: 'echo', port: '80', mode: 'steal' }), /params\.mode/);
  assert.throws(() => interceptParams({ workload: '-echo', port: '80', mode: 'ingest' }), /params\.workload/);
  assert.equal(logLevel({ level: 'debug' }), 'debug');
  assert.throws(() => logLevel({ level: 'loud' }), /params\.level/);
});

test('only the owner and root are allowed peers', () => {
  assert.equal(isPeerAllowed({ pid: 1, uid: 0, gid: 0 }, 1000), true);
  assert.equal(isPeerAllowed({ pid: 1, uid: 1000, gid: 1000 }, 1000), true);
  assert.equal(isPeerAllowed({ pid: 1, uid: 1001, gid: 1000 }, 1000), false);
});
