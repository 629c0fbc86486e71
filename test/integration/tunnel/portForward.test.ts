// The WebSocket port-forward client against a fake k8s-style API server, and
// the whole daemon path: supervisor → port-forward → relay process → cluster.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { PortForwardError, openPortForward, portForwardUrl, type ClusterAccess } from '../../../daemon/cluster/portForward';
import { clusterAccessFromKubeConfig, type KubeConfigLike } from '../../../daemon/cluster/portForwardAccess';
import { relayTransport } from '../../../daemon/cluster/portForwardRelay';
import { TunnelError } from '../../../daemon/tunnel/tunnelErrors';
import { TunnelSupervisor } from '../../../daemon/tunnel/tunnelSupervisor';
import { readAll, sleep, until } from '../../unit/tunnel/sessionPair';
import { startFakeApiServer, type FakeApiServer } from './fakeApiServer';
import { SECRET, closedPort, echoServer, startRelayProcess, type RelayProcess } from './relayProcess';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let api: FakeApiServer;
let echo: Awaited<ReturnType<typeof echoServer>>;
let access: ClusterAccess;

before(async () => {
  api = await startFakeApiServer();
  echo = await echoServer();
  api.pods.set('echo-pod', echo.port);
  access = { server: api.url, caPem: api.caPem, bearerToken: api.token };
});

after(async () => {
  await api?.close();
  await echo?.close();
});

test('the port-forward URL keeps a path prefix and encodes names', () => {
  assert.equal(portForwardUrl('https://k8s.example:6443/prefix/', { namespace: 'tpv', pod: 'relay-1', port: 8022 }).href,
    'wss://k8s.example:6443/prefix/api/v1/namespaces/tpv/pods/relay-1/portforward?ports=8022');
  assert.throws(() => portForwardUrl('ftp://x', { namespace: 'a', pod: 'b', port: 1 }), PortForwardError);
});

test('bytes pass through the data channel intact, with the port prefix stripped (also when split)', async () => {
  for (const split of [false, true]) {
    api.splitPrefix = split;
    const s = await openPortForward(access, { namespace: 'default', pod: 'echo-pod', port: 8022 });
    const data = randomBytes(3 * 1024 * 1024);
    const got: Buffer[] = [];
    let n = 0;
    s.on('data', (c: Buffer) => { got.push(c); n += c.length; });
    s.write(data);
    await until(() => n >= data.length, 5000, 'the echo');
    assert.equal(sha(Buffer.concat(got)), sha(data), `split=${split}`);
    s.destroy();
  }
  api.splitPrefix = false;
});

test('a message on the error channel fails the stream with its text', async () => {
  api.pods.set('refusing-pod', await closedPort());
  const s = await openPortForward(access, { namespace: 'default', pod: 'refusing-pod', port: 8022 });
  s.write('hello');
  const err = await new Promise<Error>((r) => s.once('error', r));
  assert.ok(err instanceof PortForwardError);
  assert.match(err.message, /pod default\/refusing-pod port 8022 failed inside the cluster: error forwarding port 8022 .*connection refused/);
});

test('HTTP errors carry the API server\'s Status message', async () => {
  await assert.rejects(openPortForward({ ...access, bearerToken: 'wrong' }, { namespace: 'default', pod: 'echo-pod', port: 1 }), (e: unknown) => {
    assert.ok(e instanceof PortForwardError);
    assert.equal(e.httpStatus, 403);
    assert.match(e.message, /HTTP 403: pods "echo-pod" is forbidden/);
    return true;
  });
  await assert.rejects(openPortForward(access, { namespace: 'default', pod: 'gone', port: 1 }), /HTTP 404: pods "gone" not found/);
  await assert.rejects(openPortForward({ ...access, caPem: undefined }, { namespace: 'default', pod: 'echo-pod', port: 1 }), /self-signed|unable to verify|certificate/i);
});

test('a reader that stops reading pauses the WebSocket instead of buffering without bound', async () => {
  const pusher = createServer((sock) => {
    sock.on('error', () => {});
    const chunk = Buffer.alloc(64 * 1024, 7);
    const push = () => { while (sock.write(chunk)) { /* fill */ } };
    sock.on('drain', push);
    push();
  });
  await new Promise<void>((r) => pusher.listen(0, '127.0.0.1', r));
  api.pods.set('pusher-pod', (pusher.address() as AddressInfo).port);
  const s = await openPortForward(access, { namespace: 'default', pod: 'pusher-pod', port: 80 });
  s.pause();
  await sleep(600);
  assert.ok(s.readableLength <= 256 * 1024 + 128 * 1024, `client buffered ${s.readableLength}`);
  const serverSide = [...api.sockets].find((w) => w.bufferedAmount > 0);
  assert.ok(serverSide, 'the server had to queue: back-pressure reached it');
  let got = 0;
  s.on('data', (c: Buffer) => { got += c.length; });
  s.resume();
  await until(() => got > 8 * 1024 * 1024, 5000, 'data to flow again');
  s.destroy();
  pusher.close();
});

test('a pod that stops reading makes writes stall instead of queueing in the WebSocket', async () => {
  const stalled: import('node:net').Socket[] = [];
  const sink = createServer((sock) => { sock.pause(); stalled.push(sock); });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  api.pods.set('sink-pod', (sink.address() as AddressInfo).port);
  const s = await openPortForward(access, { namespace: 'default', pod: 'sink-pod', port: 80 }, { sendHighWaterMark: 512 * 1024 });
  s.on('error', () => {});
  const chunk = Buffer.alloc(64 * 1024, 3);
  let written = 0;
  let stalledWriter = false;
  while (written < 256 * 1024 * 1024) {
    written += chunk.length;
    if (!s.write(chunk)) {
      const drained = await Promise.race([new Promise<boolean>((r) => s.once('drain', () => r(true))), sleep(400).then(() => false)]);
      if (!drained) { stalledWriter = true; break; }
    }
  }
  assert.ok(stalledWriter, `writes never stalled after ${written} bytes`);
  assert.ok(s.webSocketBacklog <= 512 * 1024 + 2 * chunk.length, `WebSocket queued ${s.webSocketBacklog}`);
  assert.ok(s.writableLength <= 256 * 1024 + chunk.length, `stream queued ${s.writableLength}`);
  s.destroy();
  for (const x of stalled) x.destroy();
  sink.close();
});

test('ClusterAccess is built from a KubeConfig (CA, token, TLS name)', async () => {
  // @kubernetes/client-node 2.x cannot be loaded on Node 20 (its undici needs
  // Node 22), so this stands in for KubeConfig with what applyToHTTPSOptions
  // produces for a cluster with caData, tlsServerName and a token user.
  const kc = {
    getCurrentCluster: () => ({ name: 'lab', server: api.url, caData: Buffer.from(api.caPem).toString('base64'), skipTLSVerify: false, tlsServerName: 'localhost' }),
    applyToHTTPSOptions: async (opts: Record<string, unknown>) => {
      opts.ca = Buffer.from(api.caPem);
      opts.servername = 'localhost';
      opts.headers = { Authorization: `Bearer ${api.token}`, 'Impersonate-User': 'dev' };
    },
  } as unknown as KubeConfigLike;
  const built = await clusterAccessFromKubeConfig(kc);
  assert.equal(built.server, api.url);
  assert.equal(built.bearerToken, api.token);
  assert.equal(built.caPem, api.caPem);
  assert.equal(built.tlsServerName, 'localhost');
  assert.deepEqual(built.headers, { 'Impersonate-User': 'dev' });
  const s = await openPortForward(built, { namespace: 'default', pod: 'echo-pod', port: 8022 });
  // v4 has no half-close (end() closes the WebSocket), so read the echo before closing.
  let back = '';
  s.on('data', (c: Buffer) => { back += c.toString(); });
  s.write('via kubeconfig');
  await until(() => back === 'via kubeconfig', 3000, 'the echo');
  s.destroy();
});

test('the whole path: supervisor → port-forward → relay → cluster service, surviving a relay pod replacement', async () => {
  let relay: RelayProcess = await startRelayProcess();
  let podName = 'tpv-relay-aaaaa';
  api.pods.set(podName, relay.port);
  const pods: string[] = [];
  const sup = new TunnelSupervisor({
    openTransport: relayTransport({ access, findRelayPod: async () => ({ namespace: 'tpv', pod: podName }), onAttempt: (_n, p) => pods.push(p.pod) }),
    secret: SECRET,
    software: 'tpv-daemon/test',
    backoff: { initialMs: 50, maxMs: 300 },
  });
  try {
    sup.start();
    await sup.waitUntilUp(5000);
    const data = randomBytes(4 * 1024 * 1024);
    const streams = await Promise.all(Array.from({ length: 8 }, () => sup.openTcp({ host: '127.0.0.1', port: echo.port })));
    const results = await Promise.all(streams.map(async (st) => { const back = readAll(st); st.end(data); return sha(await back); }));
    assert.deepEqual(new Set(results), new Set([sha(data)]));
    await assert.rejects(sup.openTcp({ host: '127.0.0.1', port: await closedPort() }), (e: unknown) => e instanceof TunnelError && e.code === 'ECONNREFUSED');

    // The relay pod is replaced: a new name and port; the supervisor finds it again.
    relay.kill('SIGTERM');
    await relay.exited;
    relay = await startRelayProcess();
    api.pods.delete(podName);
    podName = 'tpv-relay-bbbbb';
    api.pods.set(podName, relay.port);
    await until(() => sup.state === 'up' && pods.at(-1) === 'tpv-relay-bbbbb', 5000, 'reconnect to the new pod');
    const st = await sup.openTcp({ host: '127.0.0.1', port: echo.port });
    const back = readAll(st);
    st.end('new pod');
    assert.equal((await back).toString(), 'new pod');
  } finally {
    await sup.stop();
    relay.kill();
  }
});
