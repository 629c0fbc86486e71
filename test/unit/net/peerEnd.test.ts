// A peer's FIN and its reset, told apart on real loopback sockets, including
// the reset that Node 20 reports as a clean end because it arrived while
// bytes were still waiting to be read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import net from 'node:net';
import { whenPeerEnds } from '../../../daemon/net/peerEnd';

interface Ending {
  /** What whenPeerEnds decided. */
  verdict: 'fin' | 'reset';
  /** What Node itself said first: 'end' or the error code. */
  nodeSaid: string;
  bytes: number;
}

/**
 * A server sends `bytes` as fast as it can, then ends with `how`; the client
 * reads slowly so that bytes are still queued when the end arrives.
 */
async function ending(how: 'fin' | 'reset', bytes = 24 << 20): Promise<Ending> {
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    const chunk = Buffer.alloc(1 << 20, 7);
    let sent = 0;
    const pump = (): void => {
      while (sent < bytes) {
        sent += chunk.length;
        if (!s.write(chunk)) { s.once('drain', pump); return; }
      }
      if (how === 'reset') s.resetAndDestroy();
      else s.end();
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    return await new Promise<Ending>((resolve) => {
      const c = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
      let got = 0;
      let nodeSaid = '';
      c.on('data', (d: Buffer) => {
        got += d.length;
        const t = performance.now();
        while (performance.now() - t < 0.2) { /* a busy reader: the kernel queues the rest */ }
      });
      c.once('end', () => { nodeSaid ||= 'end'; });
      c.on('error', (e: NodeJS.ErrnoException) => {
        nodeSaid ||= e.code ?? e.message;
        // Node reported the reset itself: that is a reset too.
        resolve({ verdict: 'reset', nodeSaid, bytes: got });
      });
      whenPeerEnds(c, {
        fin: () => { resolve({ verdict: 'fin', nodeSaid, bytes: got }); c.destroy(); },
        reset: () => { resolve({ verdict: 'reset', nodeSaid, bytes: got }); c.destroy(); },
      });
    });
  } finally {
    server.close();
  }
}

test('a reset is never taken for a FIN, also when Node reports it as a clean end', async () => {
  const endings: Ending[] = [];
  for (let i = 0; i < 12; i++) endings.push(await ending('reset'));
  const disguised = endings.filter((e) => e.nodeSaid === 'end').length;
  console.log(`# resets that Node reported as a clean end: ${disguised} of ${endings.length} (Node ${process.version}, libuv ${process.versions.uv})`);
  assert.deepEqual(endings.map((e) => e.verdict), endings.map(() => 'reset'), JSON.stringify(endings));
});

test('a FIN after the last byte is a FIN, with every byte delivered', async () => {
  for (let i = 0; i < 6; i++) {
    const e = await ending('fin', 8 << 20);
    assert.deepEqual(e, { verdict: 'fin', nodeSaid: 'end', bytes: 8 << 20 });
  }
});

test('the probe sends nothing: after the peer\'s FIN our side still writes, and the peer reads exactly what we wrote', async () => {
  let received = '';
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.setEncoding('utf8');
    s.on('data', (d: string) => { received += d; });
    s.end('request done');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const serverEnded = new Promise<void>((resolve) => server.once('connection', (s) => s.once('end', resolve)));
    const c = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
    c.resume();
    const verdict = await new Promise<string>((resolve) => whenPeerEnds(c, { fin: () => resolve('fin'), reset: () => resolve('reset') }));
    assert.equal(verdict, 'fin');
    c.end('the answer');
    await serverEnded;
    assert.equal(received, 'the answer');
  } finally {
    server.close();
  }
});

test('a socket whose own side already ended counts the peer\'s end as a FIN (nothing to probe with)', async () => {
  const server = net.createServer({ allowHalfOpen: true }, (s) => { s.resume(); s.once('end', () => s.end()); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const c = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
    c.resume();
    const verdict = new Promise<string>((resolve) => whenPeerEnds(c, { fin: () => resolve('fin'), reset: () => resolve('reset') }));
    c.end();
    assert.equal(await verdict, 'fin');
  } finally {
    server.close();
  }
});
