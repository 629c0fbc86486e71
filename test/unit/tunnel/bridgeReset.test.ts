// The relay's and the agent's bridges pass a pod's reset on as a reset, also
// the one Node 20 reports as a clean end (it arrived with bytes still queued):
// a FIN in its place would make a cut-off response look complete.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { bridgeTcp } from '../../../daemon/relay/relayDialer';
import { spliceSockets } from '../../../daemon/relay/agentListener';
import type { TunnelStream } from '../../../daemon/tunnel/tunnelStream';

/** A pod that sends 24 MiB as fast as it can and then resets, on 127.0.0.1; `connected` gets the socket to it. */
async function resettingPod(connected: (socket: net.Socket) => void): Promise<() => void> {
  const pod = net.createServer((s) => {
    s.on('error', () => undefined);
    const chunk = Buffer.alloc(1 << 20, 5);
    let sent = 0;
    const pump = (): void => {
      while (sent < 24 << 20) {
        sent += chunk.length;
        if (!s.write(chunk)) { s.once('drain', pump); return; }
      }
      s.resetAndDestroy();
    };
    pump();
  });
  await new Promise<void>((r) => pod.listen(0, '127.0.0.1', r));
  const socket = net.connect({ port: (pod.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
  socket.once('connect', () => connected(socket));
  return () => pod.close();
}

const busy = (): void => { const t = performance.now(); while (performance.now() - t < 0.2) { /* a slow consumer: the kernel queues */ } };

async function bridgeOutcome(): Promise<string> {
  let settle: (outcome: string) => void = () => undefined;
  const outcome = new Promise<string>((resolve) => { settle = resolve; });
  // The tunnel stream towards the daemon: it takes the pod's bytes slowly.
  const stream = new Duplex({
    read() { /* the daemon sends nothing */ },
    write(_chunk: Buffer, _enc, cb) { busy(); cb(); },
    final(cb) { settle('fin'); cb(); },
    destroy(err, cb) { settle(err ? `reset: ${err.message}` : 'closed without an error'); cb(err); },
  });
  stream.on('error', () => undefined);
  const close = await resettingPod((socket) => bridgeTcp(stream as unknown as TunnelStream, socket, 'pod:80', () => undefined));
  try {
    return await outcome;
  } finally {
    close();
  }
}

test('relay: a pod that resets with bytes still queued resets the tunnel stream, never ends it', async () => {
  for (let i = 0; i < 5; i++) assert.match(await bridgeOutcome(), /^reset: pod:80 reset the connection/);
});

async function spliceOutcome(): Promise<string> {
  let settle: (outcome: string) => void = () => undefined;
  const outcome = new Promise<string>((resolve) => { settle = resolve; });
  // The intercepted client's connection, towards a slow reader.
  const sink = net.createServer({ allowHalfOpen: true }, (s) => { s.on('error', () => undefined); s.on('data', busy); });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const client = net.connect({ port: (sink.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
  client.on('error', () => undefined);
  await new Promise((r) => client.once('connect', r));
  const end = client.end.bind(client);
  const reset = client.resetAndDestroy.bind(client);
  client.end = ((...args: Parameters<net.Socket['end']>) => { settle('fin'); return end(...args); }) as net.Socket['end'];
  client.resetAndDestroy = () => { settle('reset'); return reset(); };
  const close = await resettingPod((app) => spliceSockets(client, app));
  try {
    return await outcome;
  } finally {
    close();
    client.destroy();
    sink.close();
  }
}

test('agent: an app that resets with bytes still queued resets the intercepted client, never ends it', async () => {
  for (let i = 0; i < 5; i++) assert.equal(await spliceOutcome(), 'reset');
});
