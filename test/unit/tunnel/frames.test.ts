import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameDecoder } from '../../../daemon/tunnel/frameDecoder';
import {
  FRAME_HEADER_BYTES, FrameFormatError, FrameType, MAX_FRAME_PAYLOAD,
  decodeError, decodeOpen, decodeU32, encodeError, encodeFrame, encodeHeader, encodeOpen, encodeU32, type FrameTypeValue,
} from '../../../daemon/tunnel/frames';

interface Seen { type: FrameTypeValue; id: number; payload: Buffer; flags: number }

function collect(): { decoder: FrameDecoder; seen: Seen[] } {
  const seen: Seen[] = [];
  // Copy: payloads may be slices of chunks the test reuses.
  const decoder = new FrameDecoder((type, id, payload, flags) => seen.push({ type, id, payload: Buffer.from(payload), flags }));
  return { decoder, seen };
}

function sampleFrames(): Array<{ type: FrameTypeValue; id: number; payload: Buffer }> {
  const big = Buffer.alloc(MAX_FRAME_PAYLOAD);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
  return [
    { type: FrameType.HELLO, id: 0, payload: Buffer.from('{"min":1,"max":1}') },
    { type: FrameType.OPEN, id: 1, payload: encodeOpen({ kind: 'tcp', window: 262144, host: 'redis.default', port: 6379 }) },
    { type: FrameType.FIN, id: 3, payload: Buffer.alloc(0) },
    { type: FrameType.DATA, id: 0xfffffffd, payload: Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) },
    { type: FrameType.WINDOW, id: 5, payload: encodeU32(65536) },
    { type: FrameType.DATA, id: 7, payload: big },
    { type: FrameType.RST, id: 9, payload: encodeError('ECONNRESET', 'peer reset') },
    { type: FrameType.PING, id: 0, payload: Buffer.alloc(8, 0xab) },
  ];
}

function encodeAll(frames: ReturnType<typeof sampleFrames>): Buffer {
  return Buffer.concat(frames.map((f) => encodeFrame(f.type, f.id, f.payload)));
}

function assertSame(seen: Seen[], frames: ReturnType<typeof sampleFrames>): void {
  assert.equal(seen.length, frames.length);
  for (let i = 0; i < frames.length; i++) {
    assert.equal(seen[i]!.type, frames[i]!.type, `frame ${i} type`);
    assert.equal(seen[i]!.id, frames[i]!.id, `frame ${i} id`);
    assert.ok(seen[i]!.payload.equals(frames[i]!.payload), `frame ${i} payload`);
  }
}

test('many frames in one chunk decode in order with their payloads', () => {
  const frames = sampleFrames();
  const { decoder, seen } = collect();
  decoder.push(encodeAll(frames));
  assertSame(seen, frames);
  assert.equal(decoder.bufferedBytes, 0);
});

test('a stream split in two at every byte boundary decodes identically', () => {
  // Small frames keep this exhaustive loop quick; the big frame is covered below.
  const frames = sampleFrames().filter((f) => f.payload.length < 1000);
  const wire = encodeAll(frames);
  for (let cut = 0; cut <= wire.length; cut++) {
    const { decoder, seen } = collect();
    decoder.push(wire.subarray(0, cut));
    decoder.push(wire.subarray(cut));
    assertSame(seen, frames);
  }
});

test('one byte at a time decodes identically, including a maximal frame', () => {
  const frames = sampleFrames();
  const wire = encodeAll(frames);
  const { decoder, seen } = collect();
  for (let i = 0; i < wire.length; i++) decoder.push(wire.subarray(i, i + 1));
  assertSame(seen, frames);
});

test('random chunkings of the whole stream decode identically', () => {
  const frames = sampleFrames();
  const wire = encodeAll(frames);
  let seed = 12345;
  const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
  for (let round = 0; round < 50; round++) {
    const { decoder, seen } = collect();
    let off = 0;
    while (off < wire.length) {
      const n = 1 + (rnd() % 20000);
      decoder.push(wire.subarray(off, off + n));
      off += n;
    }
    assertSame(seen, frames);
  }
});

test('a payload inside one chunk is handed out without copying', () => {
  const wire = encodeFrame(FrameType.DATA, 1, Buffer.from('hello'));
  let payload: Buffer | undefined;
  new FrameDecoder((_t, _i, p) => { payload = p; }).push(wire);
  assert.equal(payload!.buffer, wire.buffer, 'payload shares memory with the chunk');
  assert.equal(payload!.toString(), 'hello');
});

test('an unknown frame type or an oversized length is a format error', () => {
  const bad = Buffer.alloc(FRAME_HEADER_BYTES);
  bad[0] = 0x7e;
  assert.throws(() => new FrameDecoder(() => {}).push(bad), FrameFormatError);
  const huge = encodeHeader(FrameType.DATA, 1, 16);
  huge.writeUInt32BE(MAX_FRAME_PAYLOAD + 1, 6);
  assert.throws(() => new FrameDecoder(() => {}).push(huge), /more than the 65536 allowed/);
  assert.throws(() => encodeHeader(FrameType.DATA, 1, MAX_FRAME_PAYLOAD + 1), FrameFormatError);
});

test('a decoder stopped inside a handler delivers nothing more', () => {
  const wire = encodeAll(sampleFrames());
  let n = 0;
  const d: FrameDecoder = new FrameDecoder(() => { n++; if (n === 2) d.stop(); });
  d.push(wire);
  assert.equal(n, 2);
});

test('OPEN payload round trips with and without meta, and rejects bad input', () => {
  const plain = { kind: 'udp' as const, window: 1234, host: '10.130.0.10', port: 53 };
  assert.deepEqual(decodeOpen(encodeOpen(plain)), plain);
  const withMeta = { kind: 'tcp' as const, window: 262144, host: 'ħost.example', port: 65535, meta: { intercept: 'echo', from: '10.0.0.1:4000' } };
  assert.deepEqual(decodeOpen(encodeOpen(withMeta)), withMeta);
  assert.throws(() => encodeOpen({ ...plain, host: '' }), FrameFormatError);
  assert.throws(() => encodeOpen({ ...plain, host: 'x'.repeat(256) }), FrameFormatError);
  assert.throws(() => encodeOpen({ ...plain, port: 70000 }), FrameFormatError);
  const badKind = encodeOpen(plain);
  badKind[0] = 9;
  assert.throws(() => decodeOpen(badKind), /unknown stream kind/);
  assert.throws(() => decodeOpen(Buffer.concat([encodeOpen(plain), Buffer.from('[1]')])), /object of strings/);
});

test('error and u32 payloads round trip; long messages are cut to fit one frame', () => {
  assert.deepEqual(decodeError(encodeError('ECONNREFUSED', 'connect ECONNREFUSED 10.1.2.3:80 — nothing listens')), { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 10.1.2.3:80 — nothing listens' });
  const long = encodeError('EIO', 'x'.repeat(MAX_FRAME_PAYLOAD * 2));
  assert.ok(long.length <= MAX_FRAME_PAYLOAD);
  assert.throws(() => decodeError(Buffer.from([5, 65])), FrameFormatError);
  assert.equal(decodeU32(encodeU32(0xfffffffe), 'WINDOW'), 0xfffffffe);
  assert.throws(() => decodeU32(Buffer.alloc(3), 'WINDOW'), /4 bytes/);
});
