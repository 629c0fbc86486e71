// The server side of a SPDY/3.1 connection as moby/spdystream's clients
// (kubectl) expect it: streams opened by the client with SYN_STREAM are
// answered with SYN_REPLY, PINGs are echoed, DATA flows until FIN or RST.
// spdystream implements no SPDY flow control (WINDOW_UPDATE), so neither do
// we; back-pressure comes from the transport underneath.
import { EventEmitter } from 'node:events';
import {
  ControlType, FLAG_FIN, RstStatus, decodeHeaderBlock, encodeControl, encodeData, encodeGoAway, encodeHeaderBlock,
  encodeRstStream, encodeSynReply, parseSynStream, splitFrames, streamIdOf, type SpdyFrame,
} from './frames';
import { ZlibContext } from './zlibContext';

/** A byte pipe: a raw upgraded socket, or a WebSocket whose binary messages carry the SPDY bytes. */
export interface ByteChannel {
  /** False when the peer is not keeping up; 'drain' is then announced through onDrain. */
  write(chunk: Buffer): boolean;
  onData(listener: (chunk: Buffer) => void): void;
  onDrain(listener: () => void): void;
  onClose(listener: () => void): void;
  pause(): void;
  resume(): void;
  close(): void;
}

/** Largest DATA frame we send; spdystream reads any size, this keeps latency fair across streams. */
const MAX_DATA_FRAME = 32 * 1024;

export class SpdyStream extends EventEmitter<{ data: [Buffer]; end: []; reset: [] }> {
  private localClosed = false;
  remoteClosed = false;

  constructor(private readonly session: SpdySession, readonly id: number, readonly headers: Record<string, string>) {
    super();
  }

  /** False when the transport is congested: wait for the session's 'drain'. */
  write(data: Buffer): boolean {
    if (this.localClosed) return true;
    let ok = true;
    for (let off = 0; off < data.length; off += MAX_DATA_FRAME) {
      ok = this.session.send(encodeData(this.id, 0, data.subarray(off, off + MAX_DATA_FRAME)));
    }
    return ok;
  }

  /** Half-closes our side (DATA with FIN). */
  end(): void {
    if (this.localClosed) return;
    this.localClosed = true;
    this.session.send(encodeData(this.id, FLAG_FIN, Buffer.alloc(0)));
    this.session.forgetIfDone(this);
  }

  reset(status: RstStatus = RstStatus.Cancel): void {
    if (this.localClosed && this.remoteClosed) return;
    this.localClosed = this.remoteClosed = true;
    this.session.send(encodeRstStream(this.id, status));
    this.session.forgetIfDone(this);
  }

  get done(): boolean {
    return this.localClosed && this.remoteClosed;
  }

  markReset(): void {
    this.localClosed = this.remoteClosed = true;
  }
}

export class SpdySession extends EventEmitter<{ stream: [SpdyStream]; close: []; error: [Error]; drain: [] }> {
  private readonly inflater = new ZlibContext('inflate');
  private readonly deflater = new ZlibContext('deflate');
  private readonly streams = new Map<number, SpdyStream>();
  private pending = Buffer.alloc(0);
  /** Frames are handled strictly in order: a SYN_STREAM's headers decompress asynchronously. */
  private handling: Promise<void> = Promise.resolve();
  /** Output is ordered too: a SYN_REPLY waits for its compressed headers, later frames wait for it. */
  private sending: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private lastStreamId = 0;
  private closed = false;

  constructor(private readonly channel: ByteChannel) {
    super();
    channel.onData((chunk) => this.receive(chunk));
    channel.onDrain(() => this.emit('drain'));
    channel.onClose(() => this.shutdown());
  }

  /** Accepts a client stream: SYN_REPLY with empty headers. */
  async reply(stream: SpdyStream): Promise<void> {
    const block = this.deflater.process(encodeHeaderBlock({}));
    await this.enqueue(async () => this.channel.write(encodeSynReply(stream.id, 0, await block)));
  }

  send(frame: Buffer): boolean {
    if (this.closed) return true;
    if (this.queued === 0) return this.channel.write(frame);
    void this.enqueue(() => this.channel.write(frame));
    return true;
  }

  /** Runs `write` after every write queued before it; frames never overtake a pending SYN_REPLY. */
  private enqueue(write: () => unknown): Promise<void> {
    this.queued++;
    const run = this.sending.then(() => (this.closed ? undefined : write())).finally(() => { this.queued--; });
    this.sending = run.catch(() => undefined);
    return run.then(() => undefined);
  }

  forgetIfDone(stream: SpdyStream): void {
    if (stream.done) this.streams.delete(stream.id);
  }

  close(): void {
    if (this.closed) return;
    this.send(encodeGoAway(this.lastStreamId, 0));
    this.channel.close();
    this.shutdown();
  }

  pauseInput(): void { this.channel.pause(); }
  resumeInput(): void { this.channel.resume(); }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) { s.markReset(); s.emit('reset'); }
    this.streams.clear();
    this.inflater.close();
    this.deflater.close();
    this.emit('close');
  }

  private receive(chunk: Buffer): void {
    let frames: SpdyFrame[];
    try {
      const split = splitFrames(this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk);
      frames = split.frames;
      this.pending = Buffer.from(split.rest);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    for (const frame of frames) {
      this.handling = this.handling.then(() => this.handle(frame)).catch((err: Error) => this.fail(err));
    }
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.emit('error', err);
    this.close();
  }

  private async handle(frame: SpdyFrame): Promise<void> {
    if (this.closed) return;
    if (frame.kind === 'data') {
      const stream = this.streams.get(frame.streamId);
      if (!stream) return; // data racing a reset: spdystream drops it as well
      if (frame.data.length) stream.emit('data', frame.data);
      if (frame.flags & FLAG_FIN) {
        stream.remoteClosed = true;
        stream.emit('end');
        this.forgetIfDone(stream);
      }
      return;
    }
    switch (frame.type) {
      case ControlType.SynStream: {
        const { streamId, compressedHeaders } = parseSynStream(frame.payload);
        const headers = decodeHeaderBlock(await this.inflater.process(compressedHeaders));
        if (streamId <= this.lastStreamId || streamId % 2 === 0) {
          this.send(encodeRstStream(streamId, RstStatus.ProtocolError));
          return;
        }
        this.lastStreamId = streamId;
        const stream = new SpdyStream(this, streamId, headers);
        this.streams.set(streamId, stream);
        if (frame.flags & FLAG_FIN) stream.remoteClosed = true;
        this.emit('stream', stream);
        if (stream.remoteClosed) stream.emit('end');
        return;
      }
      case ControlType.RstStream: {
        const stream = this.streams.get(streamIdOf(frame.payload));
        if (!stream) return;
        stream.markReset();
        this.streams.delete(stream.id);
        stream.emit('reset');
        return;
      }
      case ControlType.Headers:
        // Keep the shared zlib context in step even though the lab needs no trailing headers.
        await this.inflater.process(frame.payload.subarray(4));
        return;
      case ControlType.Ping:
        this.send(encodeControl(ControlType.Ping, 0, frame.payload));
        return;
      case ControlType.GoAway:
        this.channel.close();
        this.shutdown();
        return;
      default:
        return; // SETTINGS, WINDOW_UPDATE and unknown types carry nothing the lab acts on
    }
  }
}
