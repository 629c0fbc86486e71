// The client against an in-process JSON-RPC server speaking daemon/protocol/rpc.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { Methods, Notifications, PROTOCOL_VERSION, type DaemonStatus, type VnatDelta, type VnatMapping } from '../../../daemon/protocol/rpc';
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
  /** The VNAT table it answers vnat.subscribe and vnat.list with, and the last push's seq. */
  vnat: { seq: number; mappings: VnatMapping[] } = { seq: 0, mappings: [] };
  subscribes = 0;
  private server: Server | undefined;
  /** `deltas: false`: a daemon from before vnat.subscribe (answers MethodNotFound). */
  constructor(readonly socketPath: string, readonly version = '0.1.0', readonly deltas = true) {}

  async start(): Promise<void> {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      const rpc = createMessageConnection(new StreamMessageReader(socket), new StreamMessageWriter(socket));
      rpc.onRequest(Methods.version, () => ({ version: this.version, protocolVersion: PROTOCOL_VERSION, pid: 4242 }));
      rpc.onRequest(Methods.status, () => status(this.version));
      rpc.onRequest(Methods.connect, (p) => status(this.version, p.context === 'lab' ? 'connected' : 'disconnected'));
      rpc.onRequest(Methods.subscribeLogs, () => { this.logSubscriptions++; });
      rpc.onRequest(Methods.vnatList, () => this.vnat.mappings);
      if (this.deltas) rpc.onRequest(Methods.vnatSubscribe, () => { this.subscribes++; return { seq: this.vnat.seq, mappings: this.vnat.mappings }; });
      rpc.onRequest(Methods.quit, () => { this.quitCalls++; setTimeout(() => void this.stop(), 10); });
      rpc.listen();
      this.connections.push(rpc);
    });
    await new Promise<void>((r) => this.server!.listen(this.socketPath, r));
  }

  /** Updates its table and sends the change as the next delta to every connection. */
  push(upserts: VnatMapping[], opts: { full?: true; removed?: string[] } = {}): void {
    const seq = this.vnat.seq + 1;
    const byVip = new Map((opts.full ? [] : this.vnat.mappings).map((x) => [x.virtualIp, x]));
    for (const u of upserts) byVip.set(u.virtualIp, u);
    for (const r of opts.removed ?? []) byVip.delete(r);
    this.vnat = { seq, mappings: [...byVip.values()] };
    const d: VnatDelta = { seq, upserts, ...(opts.full ? { full: true as const } : {}), ...(opts.removed ? { removed: opts.removed } : {}) };
    for (const c of this.connections) void c.sendNotification(Notifications.vnatDelta, d);
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

const vm = (i: number, flows = 0): VnatMapping => ({
  realIp: `10.132.0.${i}`, virtualIp: `246.1.0.${i}`, subnet: '10.132.0.0/16', names: [`p${i}.default`], envVars: [], flows, bytesIn: 0, bytesOut: 0, createdAt: 'then',
});
const tableOf = (c: DaemonClient) => [...c.vnatMappings.values()].map((x) => `${x.virtualIp}:${x.flows}`).sort();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('followVnat: a snapshot, deltas applied in place, a gap fetches the table again, a full push replaces it', async () => {
  const sock = tempSocket();
  const daemon = new FakeDaemon(sock.path);
  daemon.vnat = { seq: 41, mappings: [vm(1), vm(2)] };
  await daemon.start();
  const client = await DaemonClient.connect({ socketPath: sock.path });
  const changes: Array<{ full: boolean; upserts: number; removed: number }> = [];
  client.onVnatChange((c) => changes.push({ full: c.full, upserts: c.upserts.length, removed: c.removed.length }));
  try {
    await client.followVnat();
    assert.deepEqual(tableOf(client), ['246.1.0.1:0', '246.1.0.2:0']);
    assert.deepEqual(changes, [{ full: true, upserts: 2, removed: 0 }]);

    daemon.push([vm(1, 1)]);
    daemon.push([vm(3)], { removed: ['246.1.0.2'] });
    await sleep(50);
    assert.deepEqual(tableOf(client), ['246.1.0.1:1', '246.1.0.3:0']);
    assert.deepEqual(changes.slice(1), [{ full: false, upserts: 1, removed: 0 }, { full: false, upserts: 1, removed: 1 }]);
    assert.equal(daemon.subscribes, 1);

    // Push 44 is lost: 45 shows the gap, and the table comes again with both in it.
    daemon.vnat = { seq: 45, mappings: [...daemon.vnat.mappings, vm(4), vm(5)] };
    changes.length = 0;
    for (const c of daemon.connections) void c.sendNotification(Notifications.vnatDelta, { seq: 45, upserts: [vm(5)] });
    await sleep(50);
    assert.equal(daemon.subscribes, 2, 'the gap fetched the table');
    assert.deepEqual(tableOf(client), ['246.1.0.1:1', '246.1.0.3:0', '246.1.0.4:0', '246.1.0.5:0']);
    assert.deepEqual(changes, [{ full: true, upserts: 4, removed: 0 }]);
    daemon.push([vm(4, 9)]);
    await sleep(50);
    assert.deepEqual(tableOf(client), ['246.1.0.1:1', '246.1.0.3:0', '246.1.0.4:9', '246.1.0.5:0'], 'deltas continue after the resync');

    daemon.push([], { full: true });
    await sleep(50);
    assert.equal(client.vnatMappings.size, 0, 'disconnect: the full push empties the table');
  } finally {
    client.dispose();
    await daemon.stop();
    sock.cleanup();
  }
});

test('followVnat: a reconnection (a restarted daemon, seq from 0) starts again from its snapshot', async () => {
  const sock = tempSocket();
  let daemon = new FakeDaemon(sock.path);
  daemon.vnat = { seq: 900, mappings: [vm(1), vm(2), vm(3)] };
  await daemon.start();
  const client = await DaemonClient.connect({ socketPath: sock.path, reconnect: true, reconnectDelayMs: { min: 20, max: 100 } });
  try {
    await client.followVnat();
    assert.equal(client.vnatMappings.size, 3);
    const reconnected = next(client.onReconnected);
    await daemon.stop();
    daemon = new FakeDaemon(sock.path);
    daemon.vnat = { seq: 0, mappings: [vm(9)] };
    await daemon.start();
    await reconnected;
    assert.deepEqual(tableOf(client), ['246.1.0.9:0']);
    daemon.push([vm(9, 1)]);
    await sleep(50);
    assert.deepEqual(tableOf(client), ['246.1.0.9:1'], 'seq 1 follows the new snapshot (0), not the old 900');
  } finally {
    client.dispose();
    await daemon.stop();
    sock.cleanup();
  }
});

test('followVnat against a daemon without deltas follows its whole lists (vnat.list, then vnat.changed)', async () => {
  const sock = tempSocket();
  const daemon = new FakeDaemon(sock.path, '0.1.0', false);
  daemon.vnat = { seq: 0, mappings: [vm(1)] };
  await daemon.start();
  const client = await DaemonClient.connect({ socketPath: sock.path });
  try {
    await client.followVnat();
    assert.deepEqual(tableOf(client), ['246.1.0.1:0']);
    const change = next(client.onVnatChange);
    void daemon.connections[0]!.sendNotification(Notifications.vnatChanged, [vm(1, 2), vm(2)]);
    assert.equal((await change).full, true);
    assert.deepEqual(tableOf(client), ['246.1.0.1:2', '246.1.0.2:0']);
  } finally {
    client.dispose();
    await daemon.stop();
    sock.cleanup();
  }
});
