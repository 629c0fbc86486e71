// The server side of a SPDY/3.1 session against a client written here: the
// client compresses its SYN_STREAM headers with its own zlib context (as
// spdystream does) and decompresses the SYN_REPLY headers with another.
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { afterEach, describe, test } from 'node:test';
import {
  ControlType, FLAG_FIN, RstStatus, decodeHeaderBlock, encodeControl, encodeData, encodeHeaderBlock, encodeRstStream,
  splitFrames, streamIdOf, type SpdyFrame,
} from '../../lab/apiserver/streaming/spdy/frames';
import { SpdySession, type ByteChannel, type SpdyStream } from '../../lab/apiserver/streaming/spdy/spdySession';
import { ZlibContext } from '../../lab/apiserver/streaming/spdy/zlibContext';

/** An in-memory carrier: what the server writes is parsed into frames for the test to read. */
class MemoryChannel implements ByteChannel {
  private dataListener: (chunk: Buffer) => void = () => undefined;
  private closeListener: () => void = () => undefined;
  private pending = Buffer.alloc(0);
  readonly frames: SpdyFrame[] = [];
  private waiters: Array<() => void> = [];
  closed = false;

  write(chunk: Buffer): boolean {
    const r = splitFrames(Buffer.concat([this.pending, chunk]));
    this.pending = Buffer.from(r.rest);
    this.frames.push(...r.frames);
    for (const w of this.waiters.splice(0)) w();
    return true;
  }
  onData(listener: (chunk: Buffer) => void): void { this.dataListener = listener; }
  onDrain(): void { /* never congested */ }
  onClose(listener: () => void): void { this.closeListener = listener; }
  pause(): void { /* in memory */ }
  resume(): void { /* in memory */ }
  close(): void { if (!this.closed) { this.closed = true; this.closeListener(); } }

  /** The client sends bytes to the server. */
  deliver(bytes: Buffer): void { this.dataListener(bytes); }

  /** Resolves with the frame at `index` once the server has written it. */
  async frame(index: number, timeoutMs = 2000): Promise<SpdyFrame> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length <= index) {
      if (Date.now() > deadline) throw new Error(`no frame #${index} from the server (got ${this.frames.length})`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 50); });
    }
    return this.frames[index]!;
  }
}

/** The client's half: its own compression contexts. */
class TestClient {
  readonly deflater = new ZlibContext('deflate');
  readonly inflater = new ZlibContext('inflate');

  async synStream(id: number, headers: Record<string, string>, flags = 0): Promise<Buffer> {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt32BE(id, 0);
    const block = await this.deflater.process(encodeHeaderBlock(headers));
    return encodeControl(ControlType.SynStream, flags, Buffer.concat([fixed, block]));
  }

  async replyHeaders(frame: SpdyFrame): Promise<{ streamId: number; headers: Record<string, string> }> {
    assert.equal(frame.kind, 'control');
    if (frame.kind !== 'control') throw new Error('unreachable');
    assert.equal(frame.type, ControlType.SynReply);
    return { streamId: streamIdOf(frame.payload), headers: decodeHeaderBlock(await this.inflater.process(frame.payload.subarray(4))) };
  }

  close(): void { this.deflater.close(); this.inflater.close(); }
}

const nextStream = (session: SpdySession) => once(session, 'stream').then(([s]) => s as SpdyStream);
/** Not events.once: that one rejects on the 'error' these tests expect before 'close'. */
const closeOf = (session: SpdySession) => new Promise<void>((r) => session.once('close', () => r()));

describe('SpdySession', () => {
  let channel: MemoryChannel;
  let session: SpdySession;
  let client: TestClient;
  const setup = () => {
    channel = new MemoryChannel();
    session = new SpdySession(channel);
    client = new TestClient();
  };
  afterEach(() => { session.close(); client.close(); });

  test('SYN_STREAM → stream with the decoded headers; SYN_REPLY decompresses on the client; DATA and FIN both ways', async () => {
    setup();
    const streamP = nextStream(session);
    const syn = await client.synStream(1, { streamtype: 'data', port: '8080', requestid: '0' });
    // Split inside the frame: the session must reassemble it.
    channel.deliver(syn.subarray(0, 5));
    channel.deliver(syn.subarray(5));
    const stream = await streamP;
    assert.equal(stream.id, 1);
    assert.deepEqual(stream.headers, { streamtype: 'data', port: '8080', requestid: '0' });

    void session.reply(stream);
    stream.write(Buffer.from('from server')); // queued behind the SYN_REPLY, never before it
    stream.end();
    const reply = await client.replyHeaders(await channel.frame(0));
    assert.deepEqual(reply, { streamId: 1, headers: {} });
    assert.deepEqual(await channel.frame(1), { kind: 'data', streamId: 1, flags: 0, data: Buffer.from('from server') });
    assert.deepEqual(await channel.frame(2), { kind: 'data', streamId: 1, flags: FLAG_FIN, data: Buffer.alloc(0) });

    const got: Buffer[] = [];
    stream.on('data', (d) => got.push(d));
    const ended = once(stream, 'end');
    channel.deliver(Buffer.concat([encodeData(1, 0, Buffer.from('from ')), encodeData(1, 0, Buffer.from('client')), encodeData(1, FLAG_FIN, Buffer.alloc(0))]));
    await ended;
    assert.equal(Buffer.concat(got).toString(), 'from client');
    assert.equal(stream.done, true);
  });

  test('the zlib contexts carry across streams: a second SYN_STREAM and SYN_REPLY decode too', async () => {
    setup();
    const headersSeen: Array<Record<string, string>> = [];
    session.on('stream', (s) => { headersSeen.push(s.headers); void session.reply(s); });
    channel.deliver(await client.synStream(1, { streamtype: 'error', port: '80', requestid: '7' }));
    channel.deliver(await client.synStream(3, { streamtype: 'data', port: '80', requestid: '7' }));
    assert.deepEqual(await client.replyHeaders(await channel.frame(0)), { streamId: 1, headers: {} });
    assert.deepEqual(await client.replyHeaders(await channel.frame(1)), { streamId: 3, headers: {} });
    assert.deepEqual(headersSeen, [{ streamtype: 'error', port: '80', requestid: '7' }, { streamtype: 'data', port: '80', requestid: '7' }]);
  });

  test('PING is echoed with the same id', async () => {
    setup();
    channel.deliver(encodeControl(ControlType.Ping, 0, Buffer.from('00000001', 'hex')));
    assert.deepEqual(await channel.frame(0), { kind: 'control', type: ControlType.Ping, flags: 0, payload: Buffer.from('00000001', 'hex') });
    channel.deliver(encodeControl(ControlType.Ping, 0, Buffer.from('00000003', 'hex')));
    assert.deepEqual(await channel.frame(1), { kind: 'control', type: ControlType.Ping, flags: 0, payload: Buffer.from('00000003', 'hex') });
  });

  test('writes larger than 32 KiB go out as several DATA frames carrying every byte in order', async () => {
    setup();
    const streamP = nextStream(session);
    channel.deliver(await client.synStream(1, { streamtype: 'data' }));
    const stream = await streamP;
    await session.reply(stream);
    const big = Buffer.alloc(100_000);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    stream.write(big);
    const data = channel.frames.slice(1);
    assert.equal(data.length, 4);
    assert.ok(data.every((f) => f.kind === 'data' && f.streamId === 1 && f.data.length <= 32 * 1024));
    assert.ok(Buffer.concat(data.map((f) => (f.kind === 'data' ? f.data : Buffer.alloc(0)))).equals(big));
  });

  test('a client RST_STREAM resets the stream; a SYN_STREAM with an even or reused id is refused', async () => {
    setup();
    const streamP = nextStream(session);
    channel.deliver(await client.synStream(1, { streamtype: 'data' }));
    const stream = await streamP;
    const reset = once(stream, 'reset');
    channel.deliver(encodeRstStream(1, RstStatus.Cancel));
    await reset;
    assert.equal(stream.done, true);

    let streams = 0;
    session.on('stream', () => streams++);
    channel.deliver(await client.synStream(2, { streamtype: 'data' }));
    assert.deepEqual(await channel.frame(0), { kind: 'control', type: ControlType.RstStream, flags: 0, payload: Buffer.from('0000000200000001', 'hex') });
    channel.deliver(await client.synStream(1, { streamtype: 'data' }));
    assert.deepEqual(await channel.frame(1), { kind: 'control', type: ControlType.RstStream, flags: 0, payload: Buffer.from('0000000100000001', 'hex') });
    // The refused streams' header blocks were still inflated: a later valid stream decodes.
    const later = nextStream(session);
    channel.deliver(await client.synStream(5, { port: '9' }));
    assert.deepEqual((await later).headers, { port: '9' });
    assert.equal(streams, 1);
  });

  test('a SYN_STREAM with FIN opens a stream already half-closed by the client', async () => {
    setup();
    const events: string[] = [];
    session.on('stream', (s) => { events.push(`stream ${s.id}`); s.on('end', () => events.push(`end ${s.id}`)); });
    channel.deliver(await client.synStream(1, { streamtype: 'error' }, FLAG_FIN));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(events, ['stream 1', 'end 1']);
  });

  test('GOAWAY closes the session and resets open streams', async () => {
    setup();
    const streamP = nextStream(session);
    channel.deliver(await client.synStream(1, { streamtype: 'data' }));
    const stream = await streamP;
    const reset = once(stream, 'reset');
    const closed = once(session, 'close');
    channel.deliver(encodeControl(ControlType.GoAway, 0, Buffer.from('0000000100000000', 'hex')));
    await Promise.all([reset, closed]);
    assert.equal(channel.closed, true);
  });

  test('garbage on the wire is an error that closes the session with a GOAWAY', async () => {
    setup();
    const errors: Error[] = [];
    session.on('error', (e) => errors.push(e));
    const closed = closeOf(session);
    channel.deliver(Buffer.from('80020001' + '00000000', 'hex'));
    await closed;
    assert.match(errors[0]?.message ?? '', /SPDY version 2 is not supported/);
    assert.deepEqual(channel.frames.at(-1), { kind: 'control', type: ControlType.GoAway, flags: 0, payload: Buffer.from('0000000000000000', 'hex') });
  });

  test('a header block that does not inflate is an error, not a hang', async () => {
    setup();
    const errors: Error[] = [];
    session.on('error', (e) => errors.push(e));
    const closed = closeOf(session);
    const fixed = Buffer.alloc(10);
    fixed.writeUInt32BE(1, 0);
    channel.deliver(encodeControl(ControlType.SynStream, 0, Buffer.concat([fixed, Buffer.from('not zlib at all')])));
    await closed;
    assert.match(errors[0]?.message ?? '', /SPDY header block/);
  });
});
