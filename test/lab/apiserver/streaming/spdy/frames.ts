// SPDY/3.1 framing, the subset kubectl's port-forward uses (SYN_STREAM,
// SYN_REPLY, RST_STREAM, PING, GOAWAY, DATA). Pure: header blocks are handled
// here uncompressed; the session owns the zlib contexts because SPDY shares
// one per direction for the whole connection.

export const SPDY_VERSION = 3;
export const FLAG_FIN = 0x01;

export const enum ControlType {
  SynStream = 1,
  SynReply = 2,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  Headers = 8,
  WindowUpdate = 9,
}

/** RST_STREAM status codes (SPDY/3 2.6.3). */
export const enum RstStatus {
  ProtocolError = 1,
  InvalidStream = 2,
  RefusedStream = 3,
  Cancel = 5,
  InternalError = 6,
}

export type SpdyFrame =
  | { kind: 'data'; streamId: number; flags: number; data: Buffer }
  | { kind: 'control'; type: number; flags: number; payload: Buffer };

/**
 * The largest frame the lab accepts. SPDY's 24-bit length allows 16 MiB, which
 * a peer could make us buffer per connection; kubectl sends at most 32 KiB
 * (io.Copy's buffer) per DATA frame.
 */
export const MAX_FRAME = 1 << 20;

/**
 * Splits `buf` into whole frames; returns them and the unconsumed tail.
 * Throws on a frame whose version is not 3 or whose length is impossible.
 */
export function splitFrames(buf: Buffer): { frames: SpdyFrame[]; rest: Buffer } {
  const frames: SpdyFrame[] = [];
  let off = 0;
  while (buf.length - off >= 8) {
    const first = buf.readUInt32BE(off);
    const flagsAndLength = buf.readUInt32BE(off + 4);
    const flags = flagsAndLength >>> 24;
    const length = flagsAndLength & 0xffffff;
    if (length > MAX_FRAME) throw new Error(`SPDY frame of ${length} bytes is too large (the lab accepts ${MAX_FRAME})`);
    if (buf.length - off < 8 + length) break;
    const body = buf.subarray(off + 8, off + 8 + length);
    if (first & 0x80000000) {
      const version = (first >>> 16) & 0x7fff;
      if (version !== SPDY_VERSION) throw new Error(`SPDY version ${version} is not supported (only 3)`);
      frames.push({ kind: 'control', type: first & 0xffff, flags, payload: body });
    } else {
      frames.push({ kind: 'data', streamId: first & 0x7fffffff, flags, data: body });
    }
    off += 8 + length;
  }
  return { frames, rest: off === 0 ? buf : buf.subarray(off) };
}

function frameHeader(first: number, flags: number, length: number): Buffer {
  const h = Buffer.allocUnsafe(8);
  h.writeUInt32BE(first >>> 0, 0);
  h.writeUInt32BE(((flags & 0xff) << 24 | length) >>> 0, 4);
  return h;
}

export function encodeControl(type: ControlType, flags: number, payload: Buffer): Buffer {
  return Buffer.concat([frameHeader(0x80000000 | (SPDY_VERSION << 16) | type, flags, payload.length), payload]);
}

export function encodeData(streamId: number, flags: number, data: Buffer): Buffer {
  return Buffer.concat([frameHeader(streamId & 0x7fffffff, flags, data.length), data]);
}

export function encodeRstStream(streamId: number, status: RstStatus): Buffer {
  const p = Buffer.allocUnsafe(8);
  p.writeUInt32BE(streamId & 0x7fffffff, 0);
  p.writeUInt32BE(status, 4);
  return encodeControl(ControlType.RstStream, 0, p);
}

export function encodeGoAway(lastStreamId: number, status: number): Buffer {
  const p = Buffer.allocUnsafe(8);
  p.writeUInt32BE(lastStreamId & 0x7fffffff, 0);
  p.writeUInt32BE(status, 4);
  return encodeControl(ControlType.GoAway, 0, p);
}

/** SYN_REPLY: the stream id, then the (already compressed) header block. */
export function encodeSynReply(streamId: number, flags: number, compressedHeaders: Buffer): Buffer {
  const id = Buffer.allocUnsafe(4);
  id.writeUInt32BE(streamId & 0x7fffffff, 0);
  return encodeControl(ControlType.SynReply, flags, Buffer.concat([id, compressedHeaders]));
}

/** The parts of a SYN_STREAM payload before its compressed header block. */
export function parseSynStream(payload: Buffer): { streamId: number; compressedHeaders: Buffer } {
  if (payload.length < 10) throw new Error('SYN_STREAM frame shorter than its fixed fields');
  return { streamId: payload.readUInt32BE(0) & 0x7fffffff, compressedHeaders: payload.subarray(10) };
}

/** Stream id of RST_STREAM, SYN_REPLY, HEADERS and WINDOW_UPDATE payloads. */
export function streamIdOf(payload: Buffer): number {
  if (payload.length < 4) throw new Error('control frame shorter than its stream id');
  return payload.readUInt32BE(0) & 0x7fffffff;
}

/** An uncompressed header block: count, then length-prefixed lower-case names and values. */
export function encodeHeaderBlock(headers: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const entries = Object.entries(headers);
  const count = Buffer.allocUnsafe(4);
  count.writeUInt32BE(entries.length, 0);
  parts.push(count);
  for (const [name, value] of entries) {
    for (const s of [name.toLowerCase(), value]) {
      const b = Buffer.from(s, 'utf8');
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32BE(b.length, 0);
      parts.push(len, b);
    }
  }
  return Buffer.concat(parts);
}

/** Multiple values of one name are NUL-separated on the wire; the lab keeps the first. */
export function decodeHeaderBlock(block: Buffer): Record<string, string> {
  const headers: Record<string, string> = {};
  let off = 0;
  const readString = (): string => {
    if (off + 4 > block.length) throw new Error('truncated SPDY header block');
    const len = block.readUInt32BE(off);
    off += 4;
    if (off + len > block.length) throw new Error('truncated SPDY header block');
    const s = block.toString('utf8', off, off + len);
    off += len;
    return s;
  };
  if (block.length < 4) throw new Error('truncated SPDY header block');
  const count = block.readUInt32BE(0);
  off = 4;
  for (let i = 0; i < count; i++) {
    const name = readString().toLowerCase();
    const value = readString();
    headers[name] = value.split('\0')[0] ?? '';
  }
  return headers;
}
