// The built relay script in agent mode, on loopback: what the traffic-agent
// sidecar does in a pod, minus Kubernetes. Connections on the intercept port
// reach the "app" while no daemon is connected, the workstation's local
// server while one is (through the daemon's inbound dialer), are reset when
// nothing listens on the workstation, and reach the app again once the
// daemon is gone.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { inboundDialer } from '../../../daemon/intercept/inboundDialer';
import type { TunnelSession } from '../../../daemon/tunnel/tunnelSession';
import { closedPort, connectSession, relayHealth, startRelayProcess, type RelayProcess } from './relayProcess';

let agent: RelayProcess;
let app: http.Server;
let appPort: number;
let interceptPort: number;

async function httpServer(body: string): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((_req, res) => res.end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

function get(port: number): Promise<{ ok: true; body: string } | { ok: false; code: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ ok: true, body }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, code: e.code ?? e.message }));
  });
}

function daemonSession(localPort: number): Promise<TunnelSession> {
  return connectSession(agent.port, {
    handleOpen: inboundDialer({ localPortFor: (p) => (p === appPort ? localPort : undefined), log: () => {} }),
  });
}

before(async () => {
  const a = await httpServer('from the app container');
  app = a.server;
  appPort = a.port;
  agent = await startRelayProcess({ TPV_RELAY_MODE: 'agent', TPV_AGENT_LISTEN: `0:${appPort}` });
  const m = / intercept=(\d+)/.exec(agent.output());
  assert.ok(m, `the agent's ready line names its intercept port: ${agent.output()}`);
  interceptPort = Number(m[1]);
});

after(() => {
  agent?.kill();
  app?.close();
});

test('without a daemon, the intercept port forwards to the app on 127.0.0.1', async () => {
  const r = await get(interceptPort);
  assert.deepEqual(r, { ok: true, body: 'from the app container' });
  const h = await relayHealth(agent.healthPort) as unknown as { mode: string; agent: { passedThrough: number } };
  assert.equal(h.mode, 'agent');
  assert.ok(h.agent.passedThrough >= 1);
});

test('with a daemon holding the intercept, every connection reaches the workstation\'s local server', async () => {
  const local = await httpServer('from the workstation');
  const session = await daemonSession(local.port);
  assert.equal(session.peerAccept?.mode, 'agent');
  try {
    for (let i = 0; i < 20; i++) assert.deepEqual(await get(interceptPort), { ok: true, body: 'from the workstation' }, `request ${i}`);
    // Concurrent connections too, each on its own stream.
    const all = await Promise.all(Array.from({ length: 50 }, () => get(interceptPort)));
    assert.equal(all.filter((r) => r.ok && r.body === 'from the workstation').length, 50);
  } finally {
    session.close();
    local.server.close();
  }
});

test('nothing listening on the workstation: the cluster client is reset quickly, and the app is not used instead', async () => {
  const session = await daemonSession(await closedPort());
  try {
    const t0 = performance.now();
    const r = await get(interceptPort);
    assert.deepEqual(r, { ok: false, code: 'ECONNRESET' });
    assert.ok(performance.now() - t0 < 1000, 'refused without waiting for a timeout');
  } finally {
    session.close();
  }
});

test('raw TCP with half-close passes through the intercept both ways', async () => {
  const echo: Server = createServer({ allowHalfOpen: true }, (s) => { s.on('error', () => {}); s.pipe(s); });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const session = await daemonSession((echo.address() as AddressInfo).port);
  try {
    const payload = Buffer.alloc(3 * 1024 * 1024, 7);
    const got = await new Promise<number>((resolve, reject) => {
      const c = connect({ host: '127.0.0.1', port: interceptPort, allowHalfOpen: true });
      let n = 0;
      c.on('data', (d: Buffer) => { n += d.length; });
      c.on('end', () => { c.end(); resolve(n); });
      c.on('error', reject);
      c.end(payload);
    });
    assert.equal(got, payload.length);
  } finally {
    session.close();
    echo.close();
  }
});

test('after the daemon leaves, connections reach the app again', async () => {
  const deadline = Date.now() + 3000;
  while ((await relayHealth(agent.healthPort)).sessions !== 0) {
    assert.ok(Date.now() < deadline, 'the agent still counts a session 3 s after the daemon closed it');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(await get(interceptPort), { ok: true, body: 'from the app container' });
});

test('agent mode without TPV_AGENT_LISTEN refuses to start', async () => {
  await assert.rejects(startRelayProcess({ TPV_RELAY_MODE: 'agent' }), /agent mode needs TPV_AGENT_LISTEN=LISTEN:APP/);
});
