// Refuses oversized JSON-RPC messages before they are buffered. vscode-jsonrpc
// reads whatever Content-Length a peer announces; a root daemon must not let
// a client make it allocate gigabytes.
import { Transform, type TransformCallback } from 'node:stream';

export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
const MAX_HEADER_BYTES = 1024;

export class MessageTooLargeError extends Error {
  constructor(readonly announced: number, readonly limit: number) {
    super(`JSON-RPC message of ${announced} bytes exceeds the daemon's limit of ${limit} bytes`);
  }
}

/** Passes bytes through unchanged while checking every message header. */
export class MessageSizeGuard extends Transform {
  private header = '';
  private bodyLeft = 0;

  constructor(private readonly limit = DEFAULT_MAX_MESSAGE_BYTES) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, chunk.length - offset);
        this.bodyLeft -= n;
        offset += n;
        continue;
      }
      // In a header: take it byte by byte (headers are a few dozen bytes, and
      // the blank line that ends one may be split across chunks).
      this.header += String.fromCharCode(chunk[offset]!);
      offset += 1;
      if (this.header.length > MAX_HEADER_BYTES) {
        done(new Error(`JSON-RPC header longer than ${MAX_HEADER_BYTES} bytes`));
        return;
      }
      if (!this.header.endsWith('\r\n\r\n')) continue;
      const m = /(?:^|\r\n)Content-Length:\s*(\d+)\s*(?:\r\n|$)/i.exec(this.header);
      if (!m) {
        done(new Error('JSON-RPC header without Content-Length'));
        return;
      }
      const length = Number(m[1]);
      if (length > this.limit) {
        done(new MessageTooLargeError(length, this.limit));
        return;
      }
      this.header = '';
      this.bodyLeft = length;
    }
    done(null, chunk);
  }
}
