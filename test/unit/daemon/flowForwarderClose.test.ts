// How a tunnel stream's end reaches the local client: only the cluster side's
// FIN ('end' on the stream) may become a FIN; a stream closed any other way
// must reset the client, or a cut-off download looks complete.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import net from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import { FlowForwarder, type TunnelOpener } from '../../../daemon/session/flowForwarder';
import { MappingRegistry } from '../../../daemon/session/mappingRegistry';
import { Logger } from '../../../daemon/log/logger';
import type { TunnelStream } from '../../../daemon/tunnel/tunnelStream';

const noTunnel: TunnelOpener = {
  openTcp: async () => { throw new Error('unused'); },
  openUdp: async () => { throw new Error('unused'); },
};

/** A client connected to a local socket that the forwarder joins to `stream`; resolves with how the client's side ended. */
async function clientOutcome(act: (stream: PassThrough) => void): Promise<{ outcome: string; bytes: number }> {
  const registry = new MappingRegistry({ toVirtual: () => undefined, toReal: () => undefined, subnetOf: () => undefined }, () => undefined);
  const fwd = new FlowForwarder(noTunnel, registry, (ip) => ip, new Logger(undefined).scoped('test'));
  const stream = new PassThrough();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    fwd.onTcpFlow(socket, { srcIp: '127.0.0.1', srcPort: 1, dstIp: '127.0.0.1', dstPort: 2 }, { stream: stream as unknown as TunnelStream, realIp: '127.0.0.1' });
    stream.write(Buffer.alloc(100_000, 1));
    setTimeout(() => act(stream), 50);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    return await new Promise((resolve) => {
      let bytes = 0;
      const c = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      c.on('data', (d) => { bytes += d.length; });
      c.on('end', () => { resolve({ outcome: 'end', bytes }); c.destroy(); });
      c.on('error', (e: NodeJS.ErrnoException) => resolve({ outcome: e.code ?? 'error', bytes }));
    });
  } finally {
    fwd.close();
    server.close();
  }
}

test('the cluster side ending its stream (FIN) ends the client cleanly, after every byte', async () => {
  assert.deepEqual(await clientOutcome((s) => s.end()), { outcome: 'end', bytes: 100_000 });
});

test('a stream destroyed without a FIN or an error resets the client instead of ending it', async () => {
  assert.equal((await clientOutcome((s) => s.destroy())).outcome, 'ECONNRESET');
});

test('a stream failed with an error resets the client', async () => {
  assert.equal((await clientOutcome((s) => s.destroy(new Error('tunnel gone')))).outcome, 'ECONNRESET');
});

/**
 * A client that uploads 8 MiB and resets while the cluster side has not read
 * it yet (so the bytes wait in the kernel): how the stream towards the
 * cluster ends, 'fin' or 'reset'.
 */
async function streamOutcomeOfClientReset(): Promise<string> {
  const registry = new MappingRegistry({ toVirtual: () => undefined, toReal: () => undefined, subnetOf: () => undefined }, () => undefined);
  const fwd = new FlowForwarder(noTunnel, registry, (ip) => ip, new Logger(undefined).scoped('test'));
  let reading = false;
  let settle: (outcome: string) => void = () => undefined;
  const outcome = new Promise<string>((resolve) => { settle = resolve; });
  // The cluster side of the stream: says nothing, and takes the upload only once `reading`, slowly.
  const stream = new Duplex({
    read() { /* the cluster never answers */ },
    write(_chunk: Buffer, _enc, cb) {
      const take = () => { const t = performance.now(); while (performance.now() - t < 0.2) { /* busy */ } cb(); };
      if (reading) take(); else setTimeout(take, 150);
    },
    final(cb) { settle('fin'); cb(); },
    destroy(err, cb) { settle('reset'); cb(err); },
  });
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    fwd.onTcpFlow(socket, { srcIp: '127.0.0.1', srcPort: 1, dstIp: '127.0.0.1', dstPort: 2 }, { stream: stream as unknown as TunnelStream, realIp: '127.0.0.1' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const c = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    c.on('error', () => undefined);
    c.write(Buffer.alloc(8 << 20, 3));
    await new Promise((r) => setTimeout(r, 100));
    // The reset reaches the forwarder's socket with bytes still queued in the kernel.
    c.resetAndDestroy();
    reading = true;
    return await outcome;
  } finally {
    fwd.close();
    server.close();
  }
}

test('a client that resets mid-upload resets the stream to the cluster, also when Node reports the reset as an end', async () => {
  const outcomes: string[] = [];
  for (let i = 0; i < 5; i++) outcomes.push(await streamOutcomeOfClientReset());
  assert.deepEqual(outcomes, outcomes.map(() => 'reset'));
});
