import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIpAddress } from '../../../daemon/packet/ipAddress';
import { NatPortAllocator } from '../../../daemon/stack/natPortAllocator';
import { NatTable } from '../../../daemon/stack/natTable';

const fam = { tunIp: parseIpAddress('198.18.0.1'), fakeIp: parseIpAddress('198.18.0.2'), listenPort: 40000 };

function tuple(i: number) {
  // Many flows from one client address to few destinations: ports differ, as in real use.
  const buf = new Uint8Array(8);
  buf.set(parseIpAddress('198.18.0.1'), 0);
  buf.set(parseIpAddress(`10.140.${(i >> 8) & 3}.${i & 255}`), 4);
  return { buf, srcPort: 1024 + (i % 60000), dstPort: 80 + (i % 3) };
}

describe('NAT table', () => {
  it('finds every entry after heavy insert/remove churn (tombstones and rehash)', () => {
    const t = new NatTable(fam, null);
    const live = new Map<number, number>(); // natPort -> tuple index
    const livePorts: number[] = [];
    let next = 0;
    let seed = 7;
    const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed >>> 8; };
    for (let step = 0; step < 150000; step++) {
      if (live.size < 30000 && (rnd() % 3 !== 0 || live.size === 0)) {
        let port = 1 + (rnd() % 65535);
        while (live.has(port)) port = port === 65535 ? 1 : port + 1;
        const tp = tuple(next);
        t.insert(port, tp.buf.subarray(0, 4), tp.srcPort, tp.buf.subarray(4, 8), tp.dstPort);
        live.set(port, next++);
        livePorts.push(port);
      } else {
        const at = rnd() % livePorts.length;
        const port = livePorts[at]!;
        livePorts[at] = livePorts[livePorts.length - 1]!;
        livePorts.pop();
        assert.ok(t.remove(port));
        live.delete(port);
      }
    }
    assert.equal(t.size, live.size);
    for (const [port, i] of live) {
      const tp = tuple(i);
      assert.equal(t.lookup(tp.buf, 0, tp.srcPort, 4, tp.dstPort, 4), port);
    }
    const gone = tuple(next + 1);
    assert.equal(t.lookup(gone.buf, 0, gone.srcPort, 4, gone.dstPort, 4), 0);
  });

  it('refuses a port in use and addresses of an unconfigured family', () => {
    const t = new NatTable(fam, null);
    const a = parseIpAddress('10.0.0.1');
    t.insert(5, a, 1, a, 2);
    assert.throws(() => t.insert(5, a, 3, a, 4), /already in use/);
    assert.throws(() => t.insert(6, parseIpAddress('fd00::1'), 1, parseIpAddress('fd00::2'), 2), /no NAT addresses configured for IPv6/);
    assert.equal(t.remove(6), false);
  });
});

describe('NAT port allocator', () => {
  it('hands out ports round-robin, never twice, up to its capacity', () => {
    const a = new NatPortAllocator(3);
    const [p1, p2, p3] = [a.allocate(), a.allocate(), a.allocate()];
    assert.deepEqual([p1, p2, p3], [1, 2, 3]);
    assert.equal(a.allocate(), 0);
    a.release(p1);
    assert.equal(a.allocate(), 4); // not the port just freed
    a.release(2); a.release(3); a.release(4);
    assert.equal(a.size, 0);
  });

  it('wraps around and skips ports still in use', () => {
    const a = new NatPortAllocator(65535);
    for (let i = 1; i <= 65535; i++) assert.equal(a.allocate(), i);
    assert.equal(a.allocate(), 0);
    a.release(10); a.release(20);
    assert.equal(a.allocate(), 10);
    assert.equal(a.allocate(), 20);
    assert.throws(() => new NatPortAllocator(70000), /must be 1..65535/);
  });
});
