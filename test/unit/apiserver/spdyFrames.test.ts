import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  ControlType, FLAG_FIN, MAX_FRAME, RstStatus, decodeHeaderBlock, encodeControl, encodeData, encodeGoAway, encodeHeaderBlock, encodeRstStream,
  encodeSynReply, parseSynStream, splitFrames, streamIdOf, type SpdyFrame,
} from '../../lab/apiserver/streaming/spdy/frames';

test('control frames: version 3, type, flags and length in the 8-byte header', () => {
  assert.equal(encodeRstStream(5, RstStatus.Cancel).toString('hex'), '80030003' + '00000008' + '00000005' + '00000005');
  assert.equal(encodeGoAway(7, 0).toString('hex'), '80030007' + '00000008' + '00000007' + '00000000');
  assert.equal(encodeControl(ControlType.Ping, 0, Buffer.from('00000001', 'hex')).toString('hex'), '80030006' + '00000004' + '00000001');
  const reply = encodeSynReply(0x80000003, FLAG_FIN, Buffer.from('abcd'));
  assert.equal(reply.toString('hex'), '80030002' + '01000008' + '00000003' + Buffer.from('abcd').toString('hex'), 'the stream id loses its high bit; FIN is the top flags byte');
});

test('data frames: stream id without the control bit, flags, length', () => {
  assert.equal(encodeData(1, FLAG_FIN, Buffer.from('hi')).toString('hex'), '00000001' + '01000002' + '6869');
  assert.equal(encodeData(3, 0, Buffer.alloc(0)).toString('hex'), '00000003' + '00000000');
});

test('splitFrames decodes whole frames and keeps a partial one for later, at every split point', () => {
  const wire = Buffer.concat([
    encodeData(1, 0, Buffer.from('hello')),
    encodeControl(ControlType.Ping, 0, Buffer.from('00000003', 'hex')),
    encodeData(1, FLAG_FIN, Buffer.alloc(0)),
    encodeRstStream(3, RstStatus.RefusedStream),
  ]);
  const expected: SpdyFrame[] = [
    { kind: 'data', streamId: 1, flags: 0, data: Buffer.from('hello') },
    { kind: 'control', type: ControlType.Ping, flags: 0, payload: Buffer.from('00000003', 'hex') },
    { kind: 'data', streamId: 1, flags: FLAG_FIN, data: Buffer.alloc(0) },
    { kind: 'control', type: ControlType.RstStream, flags: 0, payload: Buffer.from('0000000300000003', 'hex') },
  ];
  for (let cut = 0; cut <= wire.length; cut++) {
    const first = splitFrames(wire.subarray(0, cut));
    const second = splitFrames(Buffer.concat([first.rest, wire.subarray(cut)]));
    assert.deepEqual([...first.frames, ...second.frames], expected, `split at ${cut}`);
    assert.equal(second.rest.length, 0);
  }
  // Byte by byte, as a slow socket delivers it.
  let pending = Buffer.alloc(0);
  const frames: SpdyFrame[] = [];
  for (const byte of wire) {
    const r = splitFrames(Buffer.concat([pending, Buffer.from([byte])]));
    frames.push(...r.frames);
    pending = Buffer.from(r.rest);
  }
  assert.deepEqual(frames, expected);
});

test('splitFrames refuses other SPDY versions and impossible lengths', () => {
  const v2 = Buffer.from('80020001' + '00000000', 'hex');
  assert.throws(() => splitFrames(v2), /SPDY version 2 is not supported/);
  // Refused from its header alone, before a byte of the body is buffered.
  const huge = Buffer.from('00000001' + '00ffffff', 'hex');
  assert.throws(() => splitFrames(huge), /too large/);
  const justOver = Buffer.alloc(8);
  justOver.writeUInt32BE(1, 0);
  justOver.writeUInt32BE(MAX_FRAME + 1, 4);
  assert.throws(() => splitFrames(justOver), /too large/);
  const atLimit = Buffer.concat([encodeData(1, 0, Buffer.alloc(MAX_FRAME))]);
  assert.equal(splitFrames(atLimit).frames.length, 1);
});

test('header blocks round trip; names are lower-cased and multi-valued headers keep the first value', () => {
  const headers = { streamtype: 'data', port: '8080', requestid: '0', 'x-empty': '', ':unicode': 'grüße' };
  assert.deepEqual(decodeHeaderBlock(encodeHeaderBlock(headers)), headers);
  assert.deepEqual(decodeHeaderBlock(encodeHeaderBlock({ StreamType: 'error' })), { streamtype: 'error' });
  assert.deepEqual(decodeHeaderBlock(encodeHeaderBlock({ v: 'a\0b' })), { v: 'a' });
  assert.deepEqual(decodeHeaderBlock(encodeHeaderBlock({})), {});
  assert.equal(encodeHeaderBlock({ a: 'bc' }).toString('hex'), '00000001' + '00000001' + '61' + '00000002' + '6263');
});

test('truncated header blocks are errors, not garbage headers', () => {
  const block = encodeHeaderBlock({ port: '8080' });
  for (let n = 0; n < block.length; n++) assert.throws(() => decodeHeaderBlock(block.subarray(0, n)), /truncated SPDY header block/, `length ${n}`);
});

test('SYN_STREAM fixed fields and stream ids of other control frames', () => {
  const payload = Buffer.concat([Buffer.from('80000005' + '00000000' + '0000', 'hex'), Buffer.from('zz')]);
  const { streamId, compressedHeaders } = parseSynStream(payload);
  assert.equal(streamId, 5);
  assert.equal(compressedHeaders.toString(), 'zz');
  assert.throws(() => parseSynStream(Buffer.alloc(9)), /shorter than its fixed fields/);
  assert.equal(streamIdOf(Buffer.from('8000000b', 'hex')), 11);
  assert.throws(() => streamIdOf(Buffer.alloc(3)), /shorter than its stream id/);
});
