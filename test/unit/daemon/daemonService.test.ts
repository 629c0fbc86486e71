// The service's sequencing and publishing, over a real JSON-RPC connection
// pair in memory, with a connector that records what it was asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { Logger } from '../../../daemon/log/logger';
import { Methods, Notifications, type ConnectParams, type ConnectionInfo, type DaemonStatus } from '../../../daemon/protocol/rpc';
import type { ActiveConnection, ConnectionEvents, Connector } from '../../../daemon/session/connection';
import { DaemonService } from '../../../daemon/session/daemonService';
import type { ClientConnection, RpcServer } from '../../../daemon/server/rpcServer';

interface Harness { client: MessageConnection; calls: string[]; lists: () => number; statuses: DaemonStatus[]; quit: () => boolean; events: () => ConnectionEvents | undefined; release: () => void }

function harness(opts: { failConnect?: string; holdConnect?: boolean; holdLeave?: Promise<void>; mappingCount?: number; clientCount?: number } = {}): Harness {
  const calls: string[] = [];
  let lists = 0;
  const leaves = new Map<string, Promise<void>>();
  let events: ConnectionEvents | undefined;
  let release: () => void = () => undefined;
  const connector: Connector = {
    async connect(params: ConnectParams, ev, signal) {
      calls.push(`connect ${params.context}`);
      events = ev;
      if (opts.holdConnect) await new Promise<void>((r) => { release = r; signal.addEventListener('abort', () => r()); });
      if (opts.failConnect) throw new Error(opts.failConnect);
      const info: ConnectionInfo = { state: 'connected', context: params.context, namespace: params.namespace, since: 'now' };
      const active: ActiveConnection = {
        info: () => info,
        mappings: () => { lists++; return []; },
        mappingCount: () => opts.mappingCount ?? 0,
        intercept: async () => { throw new Error('n/a'); },
        leave: async (workload) => {
          calls.push(`leave ${workload}`);
          if (!opts.holdLeave) return;
          // Like the intercept manager: the leave is listed as under way until it ends.
          const run = opts.holdLeave.finally(() => leaves.delete(workload));
          leaves.set(workload, run);
          await run;
        },
        leaving: (workload) => leaves.get(workload),
        interceptList: () => [],
        updateCredentials: () => calls.push('credentials'),
        disconnect: async () => { calls.push(`disconnect ${params.context}`); },
      };
      return active;
    },
    plan: async () => ({ virtualSubnet: '246.246.0.0/16', subnets: [] }),
    uninstall: async () => ['relay'],
    repair: async () => [],
  };
  let quitCalled = false;
  const service = new DaemonService(new Logger(undefined), connector, 1000, () => { quitCalled = true; }, 0);
  const a = new PassThrough(); const b = new PassThrough();
  const serverSide = createMessageConnection(new StreamMessageReader(a), new StreamMessageWriter(b));
  const client = createMessageConnection(new StreamMessageReader(b), new StreamMessageWriter(a));
  const clientConn: ClientConnection = { id: 1, peer: { pid: 1, uid: 1000, gid: 1000 }, rpc: serverSide };
  const clientCount = opts.clientCount ?? 1;
  const fakeServer = { forEachClient: (fn: (c: ClientConnection) => void) => { if (clientCount > 0) fn(clientConn); }, clientCount } as unknown as RpcServer;
  service.attach(fakeServer).onConnection(clientConn);
  serverSide.listen();
  const statuses: DaemonStatus[] = [];
  client.onNotification(Notifications.statusChanged, (s) => { statuses.push(s); });
  client.listen();
  return { client, calls, lists: () => lists, statuses, quit: () => quitCalled, events: () => events, release: () => release() };
}

const params = (context: string): ConnectParams => ({ kubeconfig: 'x', context, namespace: 'default', flags: { vnat: [], proxyVia: [], alsoProxy: [], neverProxy: [], allowConflictingSubnets: [] }, routing: {} });

test('connect publishes connecting then connected; status reflects it', async () => {
  const h = harness();
  const status = await h.client.sendRequest(Methods.connect, params('lab'));
  assert.equal(status.connection.state, 'connected');
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(h.statuses.map((s) => s.connection.state), ['connecting', 'connected']);
  assert.equal((await h.client.sendRequest(Methods.status)).connection.context, 'lab');
});

test('a failing connect reports the reason to the caller and in status', async () => {
  const h = harness({ failConnect: 'subnet 10.130.0.0/16 overlaps with existing route "10.0.0.0/8 via 10.0.0.2 dev vpn0"' });
  await assert.rejects(h.client.sendRequest(Methods.connect, params('lab')), /overlaps with existing route/);
  const s = await h.client.sendRequest(Methods.status);
  assert.equal(s.connection.state, 'disconnected');
  assert.match(s.connection.error ?? '', /overlaps/);
});

test('invalid params are rejected before the connector sees them', async () => {
  const h = harness();
  await assert.rejects(h.client.sendRequest(Methods.connect, { ...params('lab'), namespace: 'NOT OK' }), /params\.namespace/);
  assert.deepEqual(h.calls, []);
});

test('connecting to another context disconnects the first; same context is a no-op', async () => {
  const h = harness();
  await h.client.sendRequest(Methods.connect, params('a'));
  await h.client.sendRequest(Methods.connect, params('a'));
  await h.client.sendRequest(Methods.connect, params('b'));
  assert.deepEqual(h.calls, ['connect a', 'disconnect a', 'connect b']);
});

test('disconnect while connecting aborts the connect', async () => {
  const h = harness({ holdConnect: true, failConnect: 'aborted' });
  const outcome = h.client.sendRequest(Methods.connect, params('lab')).then(() => 'connected', (e: Error) => e.message);
  await new Promise((r) => setTimeout(r, 20));
  const after = await h.client.sendRequest(Methods.disconnect);
  assert.equal(await outcome, 'aborted');
  assert.equal(after.connection.state, 'disconnected');
});

test('intercept without a connection says to connect first', async () => {
  const h = harness();
  await assert.rejects(h.client.sendRequest(Methods.intercept, { workload: 'echo', port: '80', mode: 'intercept' }), /not connected: run "Telepresence: Connect"/);
});

test('quit disconnects and then stops the daemon', async () => {
  const h = harness();
  await h.client.sendRequest(Methods.connect, params('lab'));
  await h.client.sendRequest(Methods.quit, {});
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(h.calls, ['connect lab', 'disconnect lab']);
  assert.equal(h.quit(), true);
});

test('credential expiry reaches clients as a notification', async () => {
  const h = harness();
  const seen: string[] = [];
  h.client.onNotification(Notifications.credentialsExpired, (p) => { seen.push(p.context); });
  await h.client.sendRequest(Methods.connect, params('lab'));
  h.events()?.credentialsExpired('lab');
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(seen, ['lab']);
  await h.client.sendRequest(Methods.updateCredentials, { kubeconfig: 'new' });
  assert.ok(h.calls.includes('credentials'));
});

test('a leave of a workload that is being left joins that leave instead of queueing behind it', async () => {
  let release: () => void = () => undefined;
  const h = harness({ holdLeave: new Promise<void>((r) => { release = r; }) });
  await h.client.sendRequest(Methods.connect, params('lab'));
  const first = h.client.sendRequest(Methods.leave, { workload: 'echo' });
  await new Promise((r) => setTimeout(r, 20));
  let secondDone = false;
  const second = h.client.sendRequest(Methods.leave, { workload: 'echo' }).then((s) => { secondDone = true; return s; });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(secondDone, false, 'the second leave answers only when the first has ended');
  release();
  const [a, b] = await Promise.all([first, second]);
  assert.equal(a.connection.state, 'connected');
  assert.equal(b.connection.state, 'connected');
  assert.deepEqual(h.calls.filter((c) => c.startsWith('leave')), ['leave echo'], 'one teardown only');
});

test('a leave that joins a failing leave gets its error, as the user wrote it', async () => {
  let fail: (e: Error) => void = () => undefined;
  const h = harness({ holdLeave: new Promise<void>((_r, j) => { fail = j; }) });
  await h.client.sendRequest(Methods.connect, params('lab'));
  const outcome = (p: Promise<unknown>) => p.then(() => 'answered', (e: Error) => e.message);
  const first = outcome(h.client.sendRequest(Methods.leave, { workload: 'echo' }));
  await new Promise((r) => setTimeout(r, 20));
  const second = outcome(h.client.sendRequest(Methods.leave, { workload: 'echo' }));
  await new Promise((r) => setTimeout(r, 20));
  const message = 'leaving default/echo was incomplete: could not restore the pod template';
  fail(new Error(message));
  assert.deepEqual(await Promise.all([first, second]), [message, message]);
  assert.deepEqual(h.calls.filter((c) => c.startsWith('leave')), ['leave echo']);
});

test('status counts mappings without building the list, and a change builds it only when a client will get it', async () => {
  const h = harness({ mappingCount: 65_536 });
  const pushed: number[] = [];
  h.client.onNotification(Notifications.vnatChanged, (m) => { pushed.push(m.length); });
  await h.client.sendRequest(Methods.connect, params('lab'));
  assert.equal((await h.client.sendRequest(Methods.status)).vnatMappingCount, 65_536);
  assert.equal(h.lists(), 0, 'status built the mapping list');
  h.events()?.mappingsChanged();
  h.events()?.mappingsChanged();
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(h.lists(), 1, 'one coalesced list for the burst');
  assert.deepEqual(pushed, [0]);

  const alone = harness({ clientCount: 0 });
  await alone.client.sendRequest(Methods.connect, params('lab'));
  alone.events()?.mappingsChanged();
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(alone.lists(), 0, 'a list was built for nobody');
});
