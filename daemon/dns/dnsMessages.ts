// Small, allocation-light helpers on raw DNS messages: header fields, the
// extent of the question section, and error replies built without a full
// encode. Pure. Every function tolerates arbitrary bytes.

export const DNS_HEADER_BYTES = 12;
export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_RA = 0x0080;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;

export function messageId(msg: Uint8Array): number {
  return (msg[0]! << 8) | msg[1]!;
}

export function setMessageId(msg: Uint8Array, id: number): void {
  msg[0] = (id >> 8) & 0xff;
  msg[1] = id & 0xff;
}

export function isResponse(msg: Uint8Array): boolean {
  return (msg[2]! & 0x80) !== 0;
}

export function opcodeOf(msg: Uint8Array): number {
  return (msg[2]! >> 3) & 0x0f;
}

export function rcodeOf(msg: Uint8Array): number {
  return msg[3]! & 0x0f;
}

export function questionCount(msg: Uint8Array): number {
  return (msg[4]! << 8) | msg[5]!;
}

/**
 * Offset just past the first question (name, type, class), or -1 when the
 * message has no complete, uncompressed first question. Queries never need
 * compression in their first question, so a pointer there is treated as malformed.
 */
export function firstQuestionEnd(msg: Uint8Array): number {
  if (msg.length < DNS_HEADER_BYTES || questionCount(msg) < 1) return -1;
  let off = DNS_HEADER_BYTES;
  let nameBytes = 0;
  for (;;) {
    if (off >= msg.length) return -1;
    const len = msg[off]!;
    if (len === 0) { off += 1; break; }
    if ((len & 0xc0) !== 0) return -1;
    nameBytes += len + 1;
    if (nameBytes > 254) return -1;
    off += len + 1;
  }
  off += 4;
  return off <= msg.length ? off : -1;
}

/** The wire bytes of the first question's name (its labels and the root label), or undefined when `firstQuestionEnd` rejects the message. */
export function firstQuestionName(msg: Uint8Array): Uint8Array | undefined {
  const end = firstQuestionEnd(msg);
  return end < 0 ? undefined : msg.subarray(DNS_HEADER_BYTES, end - 4);
}

/** True when both messages carry byte-identical first questions. */
export function sameFirstQuestion(a: Uint8Array, b: Uint8Array): boolean {
  const endA = firstQuestionEnd(a);
  const endB = firstQuestionEnd(b);
  if (endA < 0 || endA !== endB) return false;
  for (let i = DNS_HEADER_BYTES; i < endA; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A reply carrying only the header (and the query's first question when it
 * is well formed): for FORMERR, SERVFAIL, NOTIMP, REFUSED and plain NXDOMAIN.
 */
export function errorReply(query: Uint8Array, rcode: number): Buffer {
  const qEnd = firstQuestionEnd(query);
  const length = qEnd > 0 ? qEnd : DNS_HEADER_BYTES;
  const out = Buffer.alloc(length);
  out[0] = query[0] ?? 0;
  out[1] = query[1] ?? 0;
  const rd = (query[2] ?? 0) & 0x01;
  const opcode = ((query[2] ?? 0) >> 3) & 0x0f;
  out[2] = 0x80 | (opcode << 3) | rd;
  out[3] = 0x80 | (rcode & 0x0f);
  if (qEnd > 0) {
    out[5] = 1;
    for (let i = DNS_HEADER_BYTES; i < qEnd; i++) out[i] = query[i]!;
  }
  return out;
}

/** Largest UDP reply the client accepts: its EDNS size, at least 512, at most 4096. */
export function udpReplyLimit(ednsPayloadSize: number | undefined): number {
  if (!ednsPayloadSize || ednsPayloadSize < 512) return 512;
  return Math.min(ednsPayloadSize, 4096);
}
