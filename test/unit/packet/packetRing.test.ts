import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PUSH_DROPPED, PUSH_NOTIFY, PUSH_QUEUED, RingReader, RingWriter, forEachPacket, initRing } from '../../../daemon/tun/packetRing';
import { CONTROL_INT32S } from '../../../daemon/tun/tunWorkerProtocol';

function ring(size: number) {
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_INT32S * 4));
  const sab = new SharedArrayBuffer(size);
  initRing(control);
  return { writer: new RingWriter(sab, control), reader: new RingReader(sab, control) };
}

const packet = (id: number, len: number) => Uint8Array.from({ length: len }, (_, i) => (id * 7 + i) & 0xff);

function drainAll(reader: RingReader): { packets: Uint8Array[]; batches: number } {
  const packets: Uint8Array[] = [];
  let batches = 0;
  reader.drain((b) => { batches++; forEachPacket(b, (buf, off, len) => packets.push(buf.slice(off, off + len))); });
  return { packets, batches };
}

describe('packet ring', () => {
  it('notifies once per idle period and hands a burst over as one batch', () => {
    const { writer, reader } = ring(4096);
    const src = new Uint8Array(2048);
    const sent = [packet(1, 60), packet(2, 1), packet(3, 333)];
    const results = sent.map((p) => { src.set(p); return writer.push(src, p.length); });
    assert.deepEqual(results, [PUSH_NOTIFY, PUSH_QUEUED, PUSH_QUEUED]);
    const { packets, batches } = drainAll(reader);
    assert.equal(batches, 1);
    assert.deepEqual(packets, sent);
    src.set(packet(4, 10));
    assert.equal(writer.push(src, 10), PUSH_NOTIFY, 'drained consumer is idle again');
  });

  it('keeps order and content across wrap-arounds, and refuses pushes only when full', () => {
    const size = 256;
    const { writer, reader } = ring(size);
    const src = new Uint8Array(size);
    const expected: Uint8Array[] = [];
    let queuedBytes = 0; // records not yet drained, as the ring counts them (wasted tails included)
    let seed = 99;
    const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed >>> 8; };
    let id = 0, dropped = 0, delivered = 0;
    for (let step = 0; step < 20000; step++) {
      if (rnd() % 3 !== 0) {
        const len = 1 + (rnd() % 90);
        const p = packet(id++, len);
        src.set(p);
        const r = writer.push(src, len);
        const need = 4 + ((len + 3) & ~3);
        // A push fails only when live records plus at most one wasted tail (shorter than a record) leave no room.
        if (r === PUSH_DROPPED) { dropped++; assert.ok(queuedBytes + need + 96 > size, `dropped with ${queuedBytes} bytes queued`); continue; }
        expected.push(p);
        queuedBytes += need;
      } else {
        const { packets } = drainAll(reader);
        assert.deepEqual(packets, expected.splice(0, packets.length));
        assert.equal(expected.length, 0);
        delivered += packets.length;
        queuedBytes = 0;
      }
    }
    assert.ok(dropped > 0 && delivered > 1000, `dropped ${dropped}, delivered ${delivered}`);
    // An empty ring always takes a packet as large as half of it.
    drainAll(reader);
    src.fill(1);
    assert.notEqual(writer.push(src, size / 2 - 4), PUSH_DROPPED);
  });

  it('frees what a throwing handler was given, so the ring never wedges', () => {
    const { writer, reader } = ring(128);
    const src = new Uint8Array(100);
    assert.notEqual(writer.push(src, 100), PUSH_DROPPED);
    assert.equal(writer.push(src, 100), PUSH_DROPPED);
    assert.throws(() => reader.drain(() => { throw new Error('handler bug'); }), /handler bug/);
    assert.notEqual(writer.push(src, 100), PUSH_DROPPED);
  });
});
