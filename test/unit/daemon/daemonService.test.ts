// The service's sequencing and publishing, over a real JSON-RPC connection
// pair in memory, with a connector that records what it was asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { Logger } from '../../../daemon/log/logger';
import { Methods, Notifications, type ConnectParams, type ConnectionInfo, type DaemonStatus, type VnatDelta } from '../../../daemon/protocol/rpc';
import type { ActiveConnection, ConnectionEvents, Connector } from '../../../daemon/session/connection';
import { DaemonService } from '../../../daemon/session/daemonService';
import { MappingRegistry, type MappingChange, type VirtualAddressTable } from '../../../daemon/session/mappingRegistry';
import type { ClientConnection, RpcServer } from '../../../daemon/server/rpcServer';

interface Harness {
  client: MessageConnection; calls: string[]; lists: () => number; statuses: DaemonStatus[]; quit: () => boolean; events: () => ConnectionEvents | undefined; release: () => void;
  /** Another client connection to the same service. */
  addClient: () => MessageConnection;
  /** takeMappingChanges calls: whether each built its entries. */
  takes: Array<{ counters: boolean; build: boolean }>;
}

function harness(opts: { failConnect?: string; holdConnect?: boolean; holdLeave?: Promise<void>; mappingCount?: number; clientCount?: number; registry?: () => MappingRegistry } = {}): Harness {
  const calls: string[] = [];
  let lists = 0;
  const takes: Harness['takes'] = [];
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
      const registry = opts.registry?.();
      const active: ActiveConnection = {
        info: () => info,
        mappings: () => { lists++; return registry?.list() ?? []; },
        mappingCount: () => registry?.size ?? opts.mappingCount ?? 0,
        pendingMappingChanges: () => registry?.pending ?? { entries: 0, counters: 0 },
        takeMappingChanges: (o) => { takes.push({ counters: o.counters, build: o.build ?? true }); return registry?.take(o) ?? []; },
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
  const conns: ClientConnection[] = [];
  const fakeServer = {
    forEachClient: (fn: (c: ClientConnection) => void) => { if ((opts.clientCount ?? 1) > 0) conns.forEach(fn); },
    get clientCount() { return (opts.clientCount ?? 1) > 0 ? conns.length : 0; },
  } as unknown as RpcServer;
  const hooks = service.attach(fakeServer);
  const addClient = (): MessageConnection => {
    const a = new PassThrough(); const b = new PassThrough();
    const serverSide = createMessageConnection(new StreamMessageReader(a), new StreamMessageWriter(b));
    const client = createMessageConnection(new StreamMessageReader(b), new StreamMessageWriter(a));
    const clientConn: ClientConnection = { id: conns.length + 1, peer: { pid: 1, uid: 1000, gid: 1000 }, rpc: serverSide };
    conns.push(clientConn);
    hooks.onConnection(clientConn);
    serverSide.listen();
    client.listen();
    return client;
  };
  const client = addClient();
  const statuses: DaemonStatus[] = [];
  client.onNotification(Notifications.statusChanged, (s) => { statuses.push(s); });
  return { client, calls, lists: () => lists, statuses, quit: () => quitCalled, events: () => events, release: () => release(), addClient, takes };
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

// ---------------------------------------------------------------- VNAT pushes

/** 10.132.0.0/16 → 246.1.0.0/16, one to one, like a VNAT range. */
const podTable: VirtualAddressTable = {
  toVirtual: (ip) => (ip.startsWith('10.132.') ? `246.1.${ip.slice(7)}` : undefined),
  toReal: (ip) => (ip.startsWith('246.1.') ? `10.132.${ip.slice(6)}` : undefined),
  subnetOf: (ip) => (ip.startsWith('10.132.') ? '10.132.0.0/16' : undefined),
};
const podIp = (i: number) => `10.132.${i >> 8}.${i & 255}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A registry holding `n` mappings, each with its CoreDNS pod name. */
function filledRegistry(n: number, changed: (what: MappingChange) => void = () => undefined): MappingRegistry {
  const r = new MappingRegistry(podTable, changed);
  for (let i = 0; i < n; i++) r.noteName(podIp(i), `${podIp(i).replace(/\./g, '-')}.default.pod.cluster.local`);
  return r;
}

test('vnat.subscribe answers the table with the seq that pushes continue from; a bad mode is refused', async () => {
  const h = harness({ registry: () => filledRegistry(3) });
  await h.client.sendRequest(Methods.connect, params('lab'));
  const snap = await h.client.sendRequest(Methods.vnatSubscribe, { mode: 'delta' });
  assert.equal(snap.mappings.length, 3);
  assert.equal(typeof snap.seq, 'number');
  await assert.rejects(h.client.sendRequest(Methods.vnatSubscribe, { mode: 'sometimes' } as never), /params\.mode/);
});

test('a new flow on one mapping of 65,536 pushes that one entry, not the table', async () => {
  let registry: MappingRegistry | undefined;
  const h = harness({ registry: () => (registry = filledRegistry(65_536, () => h.events()?.mappingsChanged())) });
  const deltas: VnatDelta[] = [];
  h.client.onNotification(Notifications.vnatDelta, (d) => { deltas.push(d); });
  let lists = 0;
  h.client.onNotification(Notifications.vnatChanged, () => { lists++; });
  await h.client.sendRequest(Methods.connect, params('lab'));
  await sleep(400); // the connect's full push, to nobody subscribed yet
  const snap = await h.client.sendRequest(Methods.vnatSubscribe, { mode: 'delta' });
  assert.equal(snap.mappings.length, 65_536);
  const listsBefore = h.lists();
  lists = 0;
  const counter = registry!.flowStarted(podIp(4242));
  assert.ok(counter);
  await sleep(400);
  assert.equal(deltas.length, 1, `one push: ${JSON.stringify(deltas.map((d) => ({ seq: d.seq, n: d.upserts.length })))}`);
  assert.equal(deltas[0]!.seq, snap.seq + 1, 'the push after the snapshot');
  assert.equal(deltas[0]!.full, undefined);
  assert.deepEqual(deltas[0]!.upserts.map((m) => [m.realIp, m.virtualIp, m.flows]), [[podIp(4242), '246.1.16.146', 1]]);
  assert.equal(h.lists(), listsBefore, 'the table was not built for the push');
  assert.equal(lists, 0, 'a delta subscriber gets no vnat.changed lists');
  assert.ok(Buffer.byteLength(JSON.stringify(deltas[0])) < 400, 'one entry\'s worth of JSON');
});

test('byte counters alone go out at most once a second; an entry changed otherwise carries them at once', async () => {
  let registry: MappingRegistry | undefined;
  const h = harness({ registry: () => (registry = filledRegistry(4, (what) => h.events()?.mappingsChanged(what))) });
  const deltas: Array<{ at: number; d: VnatDelta }> = [];
  const t0 = Date.now();
  h.client.onNotification(Notifications.vnatDelta, (d) => { deltas.push({ at: Date.now() - t0, d }); });
  await h.client.sendRequest(Methods.connect, params('lab'));
  await h.client.sendRequest(Methods.vnatSubscribe, { mode: 'delta' });
  await sleep(400);
  deltas.length = 0;
  const busy = registry!.flowStarted(podIp(0))!;
  await sleep(300); // the flow's push (an entry change) has gone out
  assert.equal(deltas.length, 1);
  deltas.length = 0;
  // 2.2 s of traffic on one flow, a chunk every 10 ms.
  const start = Date.now();
  while (Date.now() - start < 2200) { busy.in(1000); busy.out(10); await sleep(10); }
  await sleep(1200);
  const counterPushes = deltas.filter((x) => x.d.upserts.some((m) => m.realIp === podIp(0)));
  assert.ok(counterPushes.length >= 2 && counterPushes.length <= 3, `counter pushes: ${counterPushes.map((x) => x.at).join(', ')}`);
  for (let i = 1; i < counterPushes.length; i++) assert.ok(counterPushes[i]!.at - counterPushes[i - 1]!.at >= 950, 'at most once a second');
  const last = counterPushes.at(-1)!.d.upserts.find((m) => m.realIp === podIp(0))!;
  assert.ok(last.bytesIn >= 100_000, `the last push has the counters at the end: ${last.bytesIn}`);
  for (const x of counterPushes) assert.deepEqual(x.d.upserts.map((m) => m.realIp), [podIp(0)], 'only the busy entry');

  // Counters pending, then a name for the same entry: out within 250 ms, with current counters.
  deltas.length = 0;
  busy.in(5);
  registry!.noteName(podIp(0), 'busy.default');
  await sleep(350);
  assert.equal(deltas.length, 1);
  const m = deltas[0]!.d.upserts[0]!;
  assert.deepEqual(m.names, ['10-132-0-0.default.pod.cluster.local', 'busy.default']);
  assert.equal(m.bytesIn, last.bytesIn + 5);
});

test('every delta follows the one before; disconnect sends a full push with an empty table', async () => {
  let registry: MappingRegistry | undefined;
  const h = harness({ registry: () => (registry = filledRegistry(2, () => h.events()?.mappingsChanged())) });
  const deltas: VnatDelta[] = [];
  h.client.onNotification(Notifications.vnatDelta, (d) => { deltas.push(d); });
  await h.client.sendRequest(Methods.connect, params('lab'));
  const snap = await h.client.sendRequest(Methods.vnatSubscribe, { mode: 'delta' });
  await sleep(350);
  // The connect's own full push: the table as connected.
  assert.equal(deltas.length, 1);
  assert.equal(deltas[0]!.full, true);
  assert.equal(deltas[0]!.seq, snap.seq + 1);
  assert.equal(deltas[0]!.upserts.length, 2);
  registry!.toVirtual(podIp(7));
  await sleep(350);
  registry!.noteEnvVar(podIp(7), 'DB_HOST');
  await sleep(350);
  await h.client.sendRequest(Methods.disconnect);
  await sleep(350);
  assert.deepEqual(deltas.map((d) => d.seq), [1, 2, 3, 4].map((k) => snap.seq + k));
  assert.deepEqual(deltas[1]!.upserts.map((m) => m.virtualIp), ['246.1.0.7']);
  assert.deepEqual(deltas[2]!.upserts.map((m) => m.envVars), [['DB_HOST']]);
  assert.equal(deltas[3]!.full, true);
  assert.deepEqual(deltas[3]!.upserts, []);
});

test('a client that never subscribes gets the whole list in vnat.changed (protocol 1), next to a delta subscriber', async () => {
  let registry: MappingRegistry | undefined;
  const h = harness({ registry: () => (registry = filledRegistry(100, (what) => h.events()?.mappingsChanged(what))) });
  const legacy = h.addClient();
  const lists: number[] = [];
  legacy.onNotification(Notifications.vnatChanged, (l) => { lists.push(l.length); });
  let legacyDeltas = 0;
  legacy.onNotification(Notifications.vnatDelta, () => { legacyDeltas++; });
  const deltas: VnatDelta[] = [];
  h.client.onNotification(Notifications.vnatDelta, (d) => { deltas.push(d); });
  await h.client.sendRequest(Methods.connect, params('lab'));
  await h.client.sendRequest(Methods.vnatSubscribe, { mode: 'delta' });
  await sleep(350);
  lists.length = 0; deltas.length = 0;
  const flow = registry!.flowStarted(podIp(1))!;
  await sleep(350);
  assert.deepEqual(lists, [100]);
  assert.deepEqual(deltas.map((d) => d.upserts.length), [1]);
  // Counters alone: a delta (in time), never a list.
  flow.in(10);
  await sleep(1200);
  assert.deepEqual(lists, [100], 'no list for counters alone');
  assert.deepEqual(deltas.map((d) => d.upserts.length), [1, 1]);
  assert.equal(legacyDeltas, 0);

  // `full` by choice: lists, no deltas.
  const chosen = h.addClient();
  let chosenLists = 0;
  chosen.onNotification(Notifications.vnatChanged, () => { chosenLists++; });
  await chosen.sendRequest(Methods.vnatSubscribe, { mode: 'full' });
  registry!.noteName(podIp(1), 'one.default');
  await sleep(350);
  assert.equal(chosenLists, 1);
});

test('with no client, a change builds nothing: the changes are dropped unbuilt', async () => {
  let registry: MappingRegistry | undefined;
  const h = harness({ clientCount: 0, registry: () => (registry = filledRegistry(1000, () => h.events()?.mappingsChanged())) });
  await h.client.sendRequest(Methods.connect, params('lab'));
  await sleep(350);
  registry!.flowStarted(podIp(5));
  await sleep(350);
  assert.equal(h.lists(), 0, 'no list built');
  assert.ok(h.takes.length >= 2 && h.takes.every((t) => !t.build), JSON.stringify(h.takes));
  assert.deepEqual(registry!.pending, { entries: 0, counters: 0 });
});
