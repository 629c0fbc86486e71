// The tunnel's wire format: simple frames with per-stream credit (in the
// spirit of SSH channels / yamux), chosen over HTTP/2 because Node's http2
// cannot run over an arbitrary Duplex on both ends without a TLS/socket shim
// and its flow-control knobs are coarse; these frames are small enough to
// reason about and to test exhaustively. Pure: no I/O.
//
// Every frame is a 10-byte header followed by `length` payload bytes:
//
//   0      1      2             6             10
//   +------+------+-------------+-------------+----------------+
//   | type | flags| stream id   | length      | payload ...    |
//   | u8   | u8   | u32 BE      | u32 BE      | length bytes   |
//   +------+------+-------------+-------------+----------------+
//
// Stream ids: the side that sent HELLO (the daemon) opens odd ids, the side
// that answered (relay/agent) opens even ids, so both can open streams
// without coordination. Id 0 is the session itself.
//
// Frame types and payloads:
//   HELLO        JSON HelloRequest (first frame from the daemon, id 0)
//   HELLO_ACK    JSON HelloAccept
//   HELLO_REJECT error payload, then the answering side closes
//   OPEN         u8 kind, u32 initial window, u16 port, u8 host length, host, [JSON meta]
//   OPEN_OK      u32 initial window of the accepting side
//   OPEN_FAIL    error payload (the dial failed)
//   DATA         stream bytes (TCP) or exactly one datagram (UDP)
//   WINDOW       u32 credit increment: the receiver consumed that many bytes
//   FIN          no payload: the sender will send no more DATA (half-close)
//   RST          error payload: abort the stream in both directions
//   BLOCKED      no payload (protocol ≥ 2): the sender has bytes for this
//                stream but no credit; the receiver may grow its window
//   PING / PONG  8 opaque bytes, echoed
//   DNS_QUERY    a DNS wire-format query; the id correlates the answer
//   DNS_REPLY    the nameserver's wire-format answer
//   DNS_FAIL     error payload
//   GOAWAY       error payload: the sender is closing the session
//
// Error payload: u8 code length, ASCII code (errno name), UTF-8 message.
//
// Early data (protocol 2): an OPEN of a TCP stream with flag EARLY_DATA lets
// its opener send DATA (and FIN) before OPEN_OK arrives, at most
// EARLY_DATA_LIMIT bytes. The accepting side holds them until its dial
// succeeds and then delivers them ahead of anything else; they count against
// its announced window, so the opener's credit after OPEN_OK is that window
// minus what it already sent. On OPEN_FAIL the bytes are dropped and the
// opener's stream fails with the dial's error. This saves a tunnel round
// trip per connection (the request rides with the OPEN).

export const FRAME_HEADER_BYTES = 10;
/** Largest payload of any frame; DATA larger than this is split. */
export const MAX_FRAME_PAYLOAD = 64 * 1024;
/** Wire protocol versions this build speaks (inclusive range). */
export const TUNNEL_PROTOCOL_MIN = 1;
export const TUNNEL_PROTOCOL_MAX = 2;
/** The first protocol version whose OPEN may carry EARLY_DATA. */
export const EARLY_DATA_PROTOCOL = 2;
/** The first protocol version with BLOCKED frames (window auto-tuning). */
export const BLOCKED_PROTOCOL = 2;
/** OPEN flag: DATA may follow before OPEN_OK (protocol ≥ 2, TCP only). */
export const OPEN_FLAG_EARLY_DATA = 0x01;
/** Bytes an opener may send before OPEN_OK. */
export const EARLY_DATA_LIMIT = 64 * 1024;

export const FrameType = {
  HELLO: 0x01,
  HELLO_ACK: 0x02,
  HELLO_REJECT: 0x03,
  OPEN: 0x10,
  OPEN_OK: 0x11,
  OPEN_FAIL: 0x12,
  DATA: 0x13,
  WINDOW: 0x14,
  FIN: 0x15,
  RST: 0x16,
  BLOCKED: 0x17,
  PING: 0x20,
  PONG: 0x21,
  DNS_QUERY: 0x30,
  DNS_REPLY: 0x31,
  DNS_FAIL: 0x32,
  GOAWAY: 0x3f,
} as const;
export type FrameTypeValue = (typeof FrameType)[keyof typeof FrameType];

const frameTypeNames = new Map<number, string>(Object.entries(FrameType).map(([k, v]) => [v, k]));
export function isFrameType(t: number): t is FrameTypeValue {
  return frameTypeNames.has(t);
}
export function frameTypeName(t: number): string {
  return frameTypeNames.get(t) ?? `0x${t.toString(16)}`;
}

export type StreamKind = 'tcp' | 'udp';
const kindToByte: Record<StreamKind, number> = { tcp: 1, udp: 2 };

export class FrameFormatError extends Error {
  override readonly name = 'FrameFormatError';
}

/** The header of one frame; payload travels separately so it is never copied. */
export function encodeHeader(type: FrameTypeValue, streamId: number, length: number, flags = 0): Buffer {
  if (length > MAX_FRAME_PAYLOAD) throw new FrameFormatError(`frame payload of ${length} bytes exceeds ${MAX_FRAME_PAYLOAD}`);
  const h = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  h[0] = type;
  h[1] = flags;
  h.writeUInt32BE(streamId >>> 0, 2);
  h.writeUInt32BE(length, 6);
  return h;
}

/** Header and payload in one buffer; for control frames and tests, not DATA. */
export function encodeFrame(type: FrameTypeValue, streamId: number, payload: Buffer = EMPTY, flags = 0): Buffer {
  const f = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  encodeHeader(type, streamId, payload.length, flags).copy(f, 0);
  payload.copy(f, FRAME_HEADER_BYTES);
  return f;
}

export const EMPTY = Buffer.alloc(0);

// ------------------------------------------------------------ payloads

export interface OpenPayload {
  kind: StreamKind;
  /** Receive window the opener grants for its incoming direction. */
  window: number;
  host: string;
  port: number;
  /** Free-form attributes, e.g. which intercept an inbound connection belongs to. */
  meta?: Record<string, string>;
}

export function encodeOpen(p: OpenPayload): Buffer {
  const host = Buffer.from(p.host, 'utf8');
  if (host.length === 0 || host.length > 255) throw new FrameFormatError(`host "${p.host}" must be 1..255 bytes`);
  if (!Number.isInteger(p.port) || p.port < 0 || p.port > 65535) throw new FrameFormatError(`port ${p.port} is not 0..65535`);
  const meta = p.meta && Object.keys(p.meta).length > 0 ? Buffer.from(JSON.stringify(p.meta), 'utf8') : EMPTY;
  const b = Buffer.allocUnsafe(8 + host.length + meta.length);
  b[0] = kindToByte[p.kind];
  b.writeUInt32BE(p.window, 1);
  b.writeUInt16BE(p.port, 5);
  b[7] = host.length;
  host.copy(b, 8);
  meta.copy(b, 8 + host.length);
  return b;
}

export function decodeOpen(b: Buffer): OpenPayload {
  if (b.length < 9) throw new FrameFormatError('OPEN payload too short');
  const kind: StreamKind | undefined = b[0] === 1 ? 'tcp' : b[0] === 2 ? 'udp' : undefined;
  if (!kind) throw new FrameFormatError(`OPEN names unknown stream kind ${b[0]}`);
  const window = b.readUInt32BE(1);
  const port = b.readUInt16BE(5);
  const hostLen = b[7]!;
  if (hostLen === 0 || b.length < 8 + hostLen) throw new FrameFormatError('OPEN host length is out of range');
  const host = b.toString('utf8', 8, 8 + hostLen);
  const out: OpenPayload = { kind, window, host, port };
  if (b.length > 8 + hostLen) {
    let meta: unknown;
    try { meta = JSON.parse(b.toString('utf8', 8 + hostLen)); } catch { throw new FrameFormatError('OPEN meta is not JSON'); }
    if (!isStringRecord(meta)) throw new FrameFormatError('OPEN meta must be an object of strings');
    out.meta = meta;
  }
  return out;
}

export function encodeU32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

export function decodeU32(b: Buffer, what: string): number {
  if (b.length !== 4) throw new FrameFormatError(`${what} payload must be 4 bytes, got ${b.length}`);
  return b.readUInt32BE(0);
}

export interface ErrorPayload {
  code: string;
  message: string;
}

export function encodeError(code: string, message: string): Buffer {
  const c = Buffer.from(code, 'latin1');
  if (c.length === 0 || c.length > 32) throw new FrameFormatError(`error code "${code}" must be 1..32 characters`);
  // Leave room for the code; a message is advice for humans, so cutting it is fine.
  const m = Buffer.from(message, 'utf8').subarray(0, MAX_FRAME_PAYLOAD - 1 - c.length);
  const b = Buffer.allocUnsafe(1 + c.length + m.length);
  b[0] = c.length;
  c.copy(b, 1);
  m.copy(b, 1 + c.length);
  return b;
}

export function decodeError(b: Buffer): ErrorPayload {
  if (b.length < 2 || b[0] === 0 || b.length < 1 + b[0]!) throw new FrameFormatError('error payload is malformed');
  const n = b[0]!;
  return { code: b.toString('latin1', 1, 1 + n), message: b.toString('utf8', 1 + n) };
}

export function encodeJson(v: unknown): Buffer {
  const b = Buffer.from(JSON.stringify(v), 'utf8');
  if (b.length > MAX_FRAME_PAYLOAD) throw new FrameFormatError('JSON payload too large');
  return b;
}

export function decodeJson(b: Buffer, what: string): unknown {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch {
    throw new FrameFormatError(`${what} payload is not JSON`);
  }
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}
