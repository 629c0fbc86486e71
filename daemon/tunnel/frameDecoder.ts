// Incremental frame parser. Chunks arrive cut anywhere (TCP segments,
// WebSocket messages); a payload that lies whole inside one chunk is handed
// out as a slice of it (no copy), and only a payload spread over several
// chunks is joined, once, when its last byte arrives.
import { FRAME_HEADER_BYTES, FrameFormatError, MAX_FRAME_PAYLOAD, frameTypeName, isFrameType, type FrameTypeValue } from './frames';

export type FrameHandler = (type: FrameTypeValue, streamId: number, payload: Buffer, flags: number) => void;

export class FrameDecoder {
  private readonly header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  private headerFill = 0;
  private inPayload = false;
  private type: FrameTypeValue = 0x01;
  private flags = 0;
  private streamId = 0;
  private need = 0;
  private parts: Buffer[] = [];
  private partsLen = 0;
  private stopped = false;

  constructor(private readonly onFrame: FrameHandler, private readonly maxPayload = MAX_FRAME_PAYLOAD) {}

  /** Stops delivering frames (e.g. the session closed inside a handler). */
  stop(): void {
    this.stopped = true;
    this.parts = [];
  }

  /** Bytes held back waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.headerFill + this.partsLen;
  }

  /** Parses `chunk`; throws FrameFormatError on a malformed header (the stream is then unusable). */
  push(chunk: Buffer): void {
    let off = 0;
    const len = chunk.length;
    while (off < len && !this.stopped) {
      if (!this.inPayload) {
        if (this.headerFill === 0 && len - off >= FRAME_HEADER_BYTES) {
          this.parseHeader(chunk, off);
          off += FRAME_HEADER_BYTES;
        } else {
          const take = Math.min(FRAME_HEADER_BYTES - this.headerFill, len - off);
          chunk.copy(this.header, this.headerFill, off, off + take);
          this.headerFill += take;
          off += take;
          if (this.headerFill < FRAME_HEADER_BYTES) return;
          this.headerFill = 0;
          this.parseHeader(this.header, 0);
        }
        if (this.need === 0) {
          this.onFrame(this.type, this.streamId, EMPTY_PAYLOAD, this.flags);
          continue;
        }
        this.inPayload = true;
      }
      const avail = len - off;
      if (this.partsLen === 0 && avail >= this.need) {
        const payload = chunk.subarray(off, off + this.need);
        off += this.need;
        this.inPayload = false;
        this.onFrame(this.type, this.streamId, payload, this.flags);
        continue;
      }
      const take = Math.min(avail, this.need - this.partsLen);
      this.parts.push(chunk.subarray(off, off + take));
      this.partsLen += take;
      off += take;
      if (this.partsLen === this.need) {
        const payload = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.need);
        this.parts = [];
        this.partsLen = 0;
        this.inPayload = false;
        this.onFrame(this.type, this.streamId, payload, this.flags);
      }
    }
  }

  private parseHeader(b: Buffer, at: number): void {
    const type = b[at]!;
    if (!isFrameType(type)) {
      this.stopped = true;
      throw new FrameFormatError(`unknown frame type ${frameTypeName(type)}`);
    }
    const length = b.readUInt32BE(at + 6);
    if (length > this.maxPayload) {
      this.stopped = true;
      throw new FrameFormatError(`${frameTypeName(type)} frame announces ${length} bytes, more than the ${this.maxPayload} allowed`);
    }
    this.type = type;
    this.flags = b[at + 1]!;
    this.streamId = b.readUInt32BE(at + 2);
    this.need = length;
  }
}

const EMPTY_PAYLOAD = Buffer.alloc(0);
