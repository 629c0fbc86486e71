// One direction's zlib context of a SPDY connection. SPDY compresses every
// header block of a connection as one continuing zlib stream, each block
// ended with a sync flush, so the context must persist across frames.
import * as zlib from 'node:zlib';
import { SPDY3_HEADER_DICTIONARY } from './headerDictionary';

export class ZlibContext {
  private readonly stream: zlib.Inflate | zlib.Deflate;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(direction: 'inflate' | 'deflate') {
    this.stream = direction === 'inflate'
      ? zlib.createInflate({ dictionary: SPDY3_HEADER_DICTIONARY })
      : zlib.createDeflate({ dictionary: SPDY3_HEADER_DICTIONARY, level: zlib.constants.Z_BEST_COMPRESSION });
    this.stream.on('error', () => undefined); // surfaced through process()
  }

  /** Feeds one header block through the context; blocks are processed in call order. */
  process(input: Buffer): Promise<Buffer> {
    const run = this.queue.then(() => new Promise<Buffer>((resolve, reject) => {
      const onError = (err: Error) => reject(new Error(`SPDY header block: ${err.message}`));
      this.stream.once('error', onError);
      this.stream.write(input);
      // The write callback of a flush runs after its output was pushed, so a paused read collects all of it.
      this.stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.stream.off('error', onError);
        const out: Buffer[] = [];
        for (let c = this.stream.read() as Buffer | null; c !== null; c = this.stream.read() as Buffer | null) out.push(c);
        resolve(Buffer.concat(out));
      });
    }));
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.stream.destroy();
  }
}
