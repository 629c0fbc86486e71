// The client against an in-process JSON-RPC server speaking daemon/protocol/rpc.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { Methods, Notifications, PROTOCOL_VERSION, type DaemonStatus } from '../../../daemon/protocol/rpc';
import { DaemonClient } from '../../../client/daemon/daemonClient';
import { ensureDaemon, ConsentDeclined } from '../../../client/daemon/ensureDaemon';
import { startDaemon, type DaemonLauncher } from '../../../client/daemon/daemonLauncher';
import { DaemonNotRunning, ElevationCancelled, DaemonLaunchFailed } from '../../../client/daemon/daemonErrors';
import type { DaemonLaunchSpec } from '../../../client/daemon/launchCommands';

function status(version: string, state: DaemonStatus['connection']['state'] = 'disconnected'): DaemonStatus {
  return { version, protocolVersion: PROTOCOL_VERSION, pid: 4242, ownerUid: 1000, connection: { state, since: new Date(0).toISOString() }, intercepts: [], vnatMappingCount: 0 };
}

/** A fake daemon: answers version/status/connect/quit and can push notifications. */
class FakeDaemon {
  readonly connections: MessageConnection[] = [];
  readonly sockets = new Set<Socket>();
  logSubscriptions = 0;
  quitCalls = 0;
  private server: Server | undefined;
  constructor(readonly socketPath: string, readonly version = '0.1.0') {}

  async start(): Promise<void> {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      const rpc = createMessageConnection(new StreamMessageReader(socket), new StreamMessageWriter(socket));
      rpc.onRequest(Methods.version, () => ({ version: this.version, protocolVersion: PROTOCOL_VERSION, pid: 4242 }));
      rpc.onRequest(Methods.status, () => status(this.version));
      rpc.onRequest(Methods.connect, (p) => status(this.version, p.context === 'lab' ? 'connected' : 'disconnected'));
      rpc.onRequest(Methods.subscribeLogs, () => { this.logSubscriptions++; });
      rpc.onRequest(Methods.quit, () => { this.quitCalls++; setTimeout(() => void this.stop(), 10); });
      rpc.listen();
      this.connections.push(rpc);
    });
    await new Promise<void>((r) => this.server!.listen(this.socketPath, r));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = undefined;
  }
}

function tempSocket(): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tpv-sock-'));
  return { path: join(dir, 'daemon.sock'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function next<T>(subscribe: (l: (v: T) => void) => { dispose(): void }, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { d.dispose(); reject(new Error('timed out waiting for an event')); }, timeoutMs);
    const d = subscribe((v) => { clearTimeout(timer); d.dispose(); resolve(v); });
  });
}

test('typed calls, pushed notifications, and reconnection after a daemon restart', async () => {
  const sock = tempSocket();
  const daemon = new FakeDaemon(sock.path);
  await daemon.start();
  const client = await DaemonClient.connect({ socketPath: sock.path, reconnect: true, reconnectDelayMs: { min: 20, max: 100 } });
  try {
    assert.equal((await client.version()).version, '0.1.0');
    const connected = await client.connectCluster({ kubeconfig: 'x', context: 'lab', namespace: 'default', flags: { vnat: [], proxyVia: [], alsoProxy: [], neverProxy: [], allowConflictingSubnets: [] }, routing: {} });
    assert.equal(connected.connection.state, 'connected');
    await client.subscribeLogs('debug');

    const pushed = next(client.onVnatChanged);
    void daemon.connections[0]!.sendNotification(Notifications.vnatChanged, [{ realIp: '10.130.0.10', virtualIp: '246.246.0.1', subnet: '10.130.0.0/16', names: ['echo.default'], envVars: [], flows: 1, bytesIn: 2, bytesOut: 3, createdAt: 'now' }]);
    assert.equal((await pushed)[0]!.virtualIp, '246.246.0.1');

    const lost = next(client.onConnectionLost);
    const reconnected = next(client.onReconnected);
    const statusAfter = next(client.onStatusChanged);
    await daemon.stop();
    await lost;
    assert.equal(client.connected, false);
    await assert.rejects(client.status(), DaemonNotRunning);
    await daemon.start();
    await reconnected;
    assert.equal((await statusAfter).version, '0.1.0');
    assert.equal(daemon.logSubscriptions, 2, 'the log subscription is renewed on the new connection');
  } finally {
    client.dispose();
    await daemon.stop();
    sock.cleanup();
  }
});

test('connect to a missing daemon fails with DaemonNotRunning naming the socket', async () => {
  const sock = tempSocket();
  try {
    await assert.rejects(DaemonClient.connect({ socketPath: sock.path }), (e: Error) => e instanceof DaemonNotRunning && e.message.includes(sock.path));
  } finally {
    sock.cleanup();
  }
});

function specFor(socketPath: string): DaemonLaunchSpec {
  return { nodePath: process.execPath, daemonScript: '/nonexistent/daemon.js', socketPath, ownerUid: 1000, ownerGid: 1000 };
}

/** A launcher that "starts" a fake daemon in-process. */
function fakeLauncher(start: () => Promise<void>): DaemonLauncher & { launches: number } {
  return {
    kind: 'sudo',
    launches: 0,
    launch() {
      this.launches++;
      return { exited: start().then(() => ({ code: 0, stderr: '' })) };
    },
  };
}

test('ensureDaemon: uses a running daemon, starts a missing one after consent, replaces an older one', async () => {
  const sock = tempSocket();
  const consents: string[] = [];
  const base = { socketPath: sock.path, clientVersion: '0.2.0', spec: specFor(sock.path), timeoutMs: 5000 };
  let daemon = new FakeDaemon(sock.path, '0.2.0');
  try {
    // Nothing running: consent, launch, connect.
    const launcher = fakeLauncher(() => daemon.start());
    const started = await ensureDaemon({ ...base, launcher: () => launcher, consent: async (why) => { consents.push(why); return true; } });
    assert.equal(started.origin, 'started');
    assert.equal(launcher.launches, 1);
    started.client.dispose();

    // Running and current: no consent, no launch.
    const running = await ensureDaemon({ ...base, launcher: () => launcher, consent: async () => assert.fail('no consent needed') });
    assert.equal(running.origin, 'running');
    running.client.dispose();
    await daemon.stop();

    // An older daemon: it is asked to quit, then ours starts.
    const old = new FakeDaemon(sock.path, '0.1.0');
    await old.start();
    daemon = new FakeDaemon(sock.path, '0.2.0');
    const replaced = await ensureDaemon({ ...base, launcher: () => launcher, consent: async (why, detail) => { consents.push(`${why}: ${detail}`); return true; } });
    assert.equal(replaced.origin, 'replaced');
    assert.equal(old.quitCalls, 1);
    assert.equal((await replaced.client.version()).version, '0.2.0');
    replaced.client.dispose();
    assert.deepEqual(consents.map((c) => c.split(':')[0]), ['start', 'replace']);
    assert.match(consents[1]!, /0\.1\.0, older than 0\.2\.0/);
    await daemon.stop();

    // Declined consent: nothing is launched.
    await assert.rejects(ensureDaemon({ ...base, launcher: () => assert.fail('must not launch'), consent: async () => false }), ConsentDeclined);
  } finally {
    await daemon.stop();
    sock.cleanup();
  }
});

test('startDaemon: a dismissed pkexec prompt (exit 126) is ElevationCancelled; an early daemon exit is a failure with its stderr', async () => {
  const sock = tempSocket();
  try {
    const exiting = (code: number, stderr: string, kind: DaemonLauncher['kind']): DaemonLauncher => ({ kind, launch: () => ({ exited: Promise.resolve({ code, stderr }) }) });
    await assert.rejects(startDaemon({ launcher: exiting(126, '', 'pkexec'), spec: specFor(sock.path), isReady: async () => false, pollMs: 5 }), ElevationCancelled);
    await assert.rejects(
      startDaemon({ launcher: exiting(1, 'daemon: must run as root', 'direct'), spec: specFor(sock.path), isReady: async () => false, pollMs: 5 }),
      (e: Error) => e instanceof DaemonLaunchFailed && /must run as root/.test(e.message),
    );
    await assert.rejects(
      startDaemon({ launcher: { kind: 'osascript', launch: () => ({ exited: new Promise(() => {}) }) }, spec: specFor(sock.path), isReady: async () => false, pollMs: 5, timeoutMs: 50 }),
      /did not answer .* within/,
    );
  } finally {
    sock.cleanup();
  }
});
