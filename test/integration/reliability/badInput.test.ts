// Issue 7, "Bad input": malformed packets (in process, then written into a
// live daemon's TUN device), malformed DNS, abusive JSON-RPC, and invalid
// command-line input and config.yml, each followed by proof that the daemon
// still serves and, for rejected input, that nothing changed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { labDown, labUp, type LabInfo } from '../../lab/labLifecycle';
import { diffSnapshots, snapshotNamespace, type HostSnapshot } from '../../support/hostSnapshot';
import { uniquePrefix } from '../../support/netns';
import { missingNetworkPrivileges } from '../../support/privileges';
import type { DaemonStatus } from '../../../daemon/protocol/rpc';
import { DEFAULT_RELAY_HEALTH_PORT } from '../../../daemon/relay/relayConstants';
import type { DnsFuzzResult, DnsFuzzTask } from './dnsFuzz';
import { ReliabilityReport } from './reliabilityReport';
import { runStackFuzz } from './stackFuzz';
import type { InjectResult, InjectTask } from './tunInjector';
import { RELAY_SELECTOR, Workstation, run, timeUntil } from './workstation';

const skip = missingNetworkPrivileges();
const report = new ReliabilityReport('badInput', __filename);
after(() => { if (!skip) report.finish(); });

describe('packet handling, in process', () => {
  test('150,000 random and mutated packets: the stack and the NAT rewrite never throw, never write outside a packet, and answer only with well-formed packets', () =>
    report.check({ area: 'bad input', check: 'IPv4/IPv6/TCP/UDP/ICMP fuzz of the system stack and NAT rewrite, in process' }, async (row) => {
      const res = await runStackFuzz(150_000, 0x7e57);
      row.tried = res.packets;
      console.log(`# in-process packet fuzz: ${res.packets} packets ${JSON.stringify(res.kinds)}; ${res.written} written back, NAT ${JSON.stringify(res.nat)}`);
      assert.deepEqual(res.handlerErrors, [], 'the packet handler threw');
      assert.deepEqual(res.nat.threw, [], 'the NAT rewrite threw');
      assert.equal(res.nat.outOfBounds, 0, 'the NAT rewrite wrote past the end of a packet');
      assert.deepEqual(res.malformedWrites, [], 'the stack wrote malformed packets');
      for (const [kind, n] of Object.entries(res.kinds)) assert.ok(n >= 500, `only ${n} packets of kind ${kind}`);
      assert.ok(res.nat.forwarded >= 1000 && res.nat.dropped >= 100, `the rewrite itself ran too rarely: ${JSON.stringify(res.nat)}`);
      assert.ok(res.written >= 10_000, `only ${res.written} answers: the packets hardly reached the handlers`);
      assert.ok(res.abandoned >= 1000, `admitted flows whose handshake never finished must be released: ${res.abandoned}`);
      row.survived = res.packets;
      row.note = `${res.written.toLocaleString('en-US')} packets written back, all well formed; ${res.nat.forwarded} NAT rewrites`;
    }));
});

describe('bad input against the daemon in the lab', { skip }, () => {
  let lab: LabInfo;
  let ws: Workstation;
  let clean: HostSnapshot;
  let status: DaemonStatus;
  let echoVip = '';
  let stormEndedAt = 0;
  let relayAtStorm = '';
  let relayConnectionsAfterStorm = 0;

  before(async () => {
    lab = await labUp({ name: uniquePrefix('rb') });
    ws = new Workstation(lab);
    clean = snapshotNamespace(lab.workstationNetns);
  });

  after(async () => {
    try {
      if (ws) { await ws.quit().catch(() => undefined); ws.remove(); }
    } finally {
      if (lab) await labDown(lab.name);
    }
  });

  test('invalid CIDRs, overlapping --vnat, bad names and invalid config.yml: a clear error, exit 1, nothing changed', () =>
    report.check({ area: 'bad input', check: 'tpv connect with invalid CIDRs, overlapping --vnat, bad names, invalid config.yml' }, async (row) => {
      const config = (name: string, text: string) => { const p = join(ws.dir, name); writeFileSync(p, text); return p; };
      const cases: Array<{ args: string[]; stderr: RegExp }> = [
        { args: ['--service-cidr', '10.0.0.0/33'], stderr: /"10\.0\.0\.0\/33" is not a CIDR/ },
        { args: ['--pod-cidr', 'fe80::/129'], stderr: /is not a CIDR/ },
        { args: ['--vnat', '300.1.2.3/8'], stderr: /"300\.1\.2\.3\/8" is neither a CIDR/ },
        { args: ['--also-proxy', 'banana'], stderr: /--also-proxy "banana" is not a CIDR/ },
        { args: ['--never-proxy', '10.0.0.0/8/8'], stderr: /is not a CIDR/ },
        { args: ['--vnat', '10.130.0.0/16', '--vnat', '10.130.1.0/24'], stderr: /CIDRs 10\.130\.0\.0\/16 and 10\.130\.1\.0\/24 are overlapping/ },
        { args: ['--vnat', '10.130.0.0/16', '--proxy-via', '10.130.0.0/17=echo'], stderr: /overlapping/ },
        { args: ['--virtual-subnet', '10.0.0.0/8'], stderr: /virtual subnet 10\.0\.0\.0\/8 overlaps/ },
        { args: ['--virtual-subnet', '246.246.0.0/40'], stderr: /is not a CIDR/ },
        { args: ['--proxy-via', '10.0.0.0/8=Bad..Name'], stderr: /workload "Bad\.\.Name" is not a DNS-1123 label/ },
        { args: ['--namespace', 'Bad_NS'], stderr: /"Bad_NS" is not a valid name/ },
        { args: ['--namespace', `${'a'.repeat(64)}`], stderr: /longer than 63|not a valid name/ },
        { args: ['--context', 'no-such-context'], stderr: /no-such-context/ },
        { args: ['--config', config('broken.yml', 'routing: [unclosed\n')], stderr: /broken\.yml is not valid YAML/ },
        { args: ['--config', config('list.yml', 'routing:\n  alsoProxy: 12\n')], stderr: /routing\.alsoProxy: 12 is not a list of CIDRs/ },
        { args: ['--config', config('cidr.yml', 'routing:\n  neverProxy: [10.0.0.0/8, nope]\n')], stderr: /routing\.neverProxy: "nope" is not a CIDR/ },
        { args: ['--config', config('bool.yml', 'routing:\n  autoResolveConflicts: maybe\n')], stderr: /autoResolveConflicts: "maybe" is not true or false/ },
        { args: ['--config', config('shape.yml', 'routing: 5\n')], stderr: /routing: 5 must be a mapping/ },
        { args: ['--config', config('vs.yml', 'cluster:\n  virtualIPSubnet: 10.130.0.0/16\n')], stderr: /virtual subnet 10\.130\.0\.0\/16 overlaps/ },
      ];
      for (const c of cases) {
        const r = await ws.tpv('connect', '--namespace', 'default', ...c.args);
        row.tried++;
        const what = `tpv connect ${c.args.join(' ')}`;
        assert.equal(r.code, 1, `${what} exited ${r.code}; stdout: ${r.stdout}; stderr: ${r.stderr}`);
        assert.match(r.stderr, /^tpv connect: error: /m, `${what}: ${r.stderr}`);
        assert.match(r.stderr, c.stderr, `${what}: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, `${what} printed a stack trace: ${r.stderr}`);
        assert.equal(diffSnapshots(clean, snapshotNamespace(lab.workstationNetns)), '', `${what} changed the workstation`);
        row.survived++;
      }
      const relay = await ws.kubectl('get', 'deployment', 'tpv-relay', '-n', 'default');
      assert.match(relay.stderr, /NotFound/, 'a rejected connect must not install the relay');
      row.dataLost = null;
      row.note = 'each rejected with its reason; workstation snapshot and cluster unchanged';
    }));

  test('connect (the state the next checks attack)', async () => {
    status = await ws.tpvJson<DaemonStatus>('connect', '--namespace', 'default');
    assert.equal(status.connection.state, 'connected', JSON.stringify(status.connection));
    const g = await ws.exec('getent', ['hosts', 'echo.default']);
    echoVip = g.stdout.split(/\s+/)[0]!;
    assert.match(echoVip, /^246\.246\./, g.stdout);
  });

  test('100,000 malformed and truncated IP/TCP/UDP packets written into the TUN: the daemon and the relay keep serving', () =>
    report.check({ area: 'bad input', check: 'malformed IPv4/IPv6/TCP/UDP/ICMP packets written into the live TUN device' }, async (row) => {
      const restarts = await relayRestarts(ws);
      relayAtStorm = restarts;
      const logBefore = ws.log().length;
      const svc = lab.services.find((s) => s.namespace === 'default' && s.name === 'echo')!;
      const task: InjectTask = {
        device: status.connection.device!, seed: 0x5eed, accepted: 100_000, maxAttempts: 400_000,
        sources: ['198.18.0.1', '192.168.231.2'],
        destinations: [echoVip, '246.246.127.254', '198.18.0.1', '198.18.0.2', svc.clusterIP],
        validPorts: [80, 9000, 9001, 53, 0],
      };
      const res = await ws.helper<InjectResult & { error?: string }>('tunInjector.ts', task, 120_000);
      stormEndedAt = Date.now();
      assert.equal(res.error, undefined, res.error);
      relayConnectionsAfterStorm = (await relayStats(ws)).tcpConnections;
      row.tried = res.txPackets;
      console.log(`# TUN storm: ${res.attempts} packets sent in ${res.ms} ms, ${res.txPackets} reached the daemon's queue, ${res.txDropped} dropped by the full queue; ${JSON.stringify(res.kinds)}`);
      assert.equal(res.sendErrors, 0, `the kernel refused some packets: ${res.firstSendError}`);
      assert.ok(res.txPackets >= 100_000, `only ${res.txPackets} packets reached the daemon`);
      const now = await ws.status();
      assert.equal(now.pid, status.pid, 'the daemon restarted');
      assert.equal(now.connection.state, 'connected', JSON.stringify(now.connection));
      await ws.assertHttpOk('after the storm');
      assert.ok(await ws.udpEcho(echoVip), 'UDP echo failed after the storm');
      row.dataLost = await ws.integrityLoss(4 << 20);
      assert.equal(row.dataLost, 0, 'a 4 MiB echo came back different');
      const log = ws.log().slice(logBefore);
      assert.doesNotMatch(log, /packet handling failed|uncaught|data path stopped|ERROR/, `the daemon logged trouble:\n${log.slice(-3000)}`);
      assert.equal(await relayRestarts(ws), restarts, 'the relay pod restarted during the storm');
      row.survived = res.txPackets;
      row.note = `${res.attempts.toLocaleString('en-US')} sent in ${(res.ms / 1000).toFixed(1)} s, ${res.txDropped.toLocaleString('en-US')} dropped by the full device queue; relay not restarted; 4 MiB echo intact`;
    }));

  test('10,000 malformed and truncated DNS queries: every query owed an answer gets one well-formed reply, and real lookups still answer', () =>
    report.check({ area: 'bad input', check: 'malformed and truncated DNS queries (UDP, plus garbage over TCP)' }, async (row) => {
      const [address, port] = status.connection.dns!.server.split(':') as [string, string];
      const task: DnsFuzzTask = {
        server: address, port: Number(port), seed: 0xd45, udpQueries: 10_000, tcpConnections: 200, window: 200, replyTimeoutMs: 10_000,
        names: ['echo.default.svc.cluster.local', 'echo.default', 'echo', 'kubernetes.default', lab.vpnHostName, 'nothere.default.svc.cluster.local', 'store-0.store.team-a.svc.cluster.local', `1.0.0.10.in-addr.arpa`],
      };
      const res = await ws.helper<DnsFuzzResult & { error?: string }>('dnsFuzz.ts', task, 150_000);
      assert.equal(res.error, undefined, res.error);
      row.tried = res.udpSent + res.tcpFramesSent;
      console.log(`# DNS fuzz: ${JSON.stringify({ ...res, mutations: undefined })}`);
      console.log(`# DNS mutations: ${JSON.stringify(res.mutations)}`);
      assert.equal(res.udpUnanswered, 0, `${res.udpUnanswered} of ${res.udpExpectingReply} queries got no answer`);
      assert.equal(res.udpBadReplies + res.tcpBadReplies, 0, `malformed replies: ${res.firstProblems.join('\n')}`);
      assert.equal(res.udpUnexpectedReplies, 0, `replies to responses or header-less datagrams: ${res.firstProblems.join('\n')}`);
      assert.ok(res.udpExpectingReply >= 8000, `only ${res.udpExpectingReply} queries deserved a reply`);
      const dig = await ws.exec('dig', ['+time=2', '+tries=1', `@${address}`, '-p', port, 'echo.default.svc.cluster.local', '+short']);
      assert.equal(dig.stdout.trim(), echoVip, `the resolver no longer answers: ${dig.stdout}${dig.stderr}`);
      const corp = await ws.exec('getent', ['hosts', lab.vpnHostName]);
      assert.match(corp.stdout, new RegExp(lab.vpnHost.replace(/\./g, '\\.')), `forwarding to the original resolver broke: ${corp.stdout}${corp.stderr}`);
      await ws.assertHttpOk('after the DNS fuzz');
      assert.equal((await ws.status()).pid, status.pid, 'the daemon restarted');
      row.survived = row.tried;
      row.dataLost = null;
      row.note = `${res.udpAnswered.toLocaleString('en-US')}/${res.udpExpectingReply.toLocaleString('en-US')} owed answers received (${Object.entries(res.rcodes).map(([k, v]) => `${k} ${v}`).join(', ')}); ${res.tcpConnections} TCP connections of garbage`;
    }));

  test('JSON-RPC with wrong types, unknown methods, garbage and oversize payloads: each refused, the daemon answers status', () =>
    report.check({ area: 'bad input', check: 'JSON-RPC calls with wrong types, unknown methods, garbage framing, oversize payloads' }, async (row) => {
      const rpc = await rpcClient(ws.socket);
      const kubeconfig = (await run('kubectl', ['--kubeconfig', lab.kubeconfig, 'config', 'view', '--raw', '--minify', '--flatten', '--context', 'lab-token'])).stdout;
      const good = { kubeconfig, context: 'lab-token', namespace: 'default' };
      const refused: Array<[method: string, params: unknown, code: number, message: RegExp]> = [
        ['connect', { kubeconfig: 5 }, -32602, /params\.kubeconfig: expected a string/],
        ['connect', null, -32602, /params: expected an object/],
        ['connect', 'connect me', -32602, /params: expected an object/],
        ['connect', [1, 2, 3], -32602, /params: expected an object/],
        ['connect', { ...good, namespace: 'Bad_NS' }, -32602, /params\.namespace: "Bad_NS" is not a valid name/],
        ['connect', { ...good, context: 'x\u0000y' }, -32602, /contains a NUL character/],
        ['connect', { ...good, flags: { vnat: 'all' } }, -32602, /params\.flags\.vnat: expected a list of strings/],
        ['connect', { ...good, flags: { vnat: Array.from({ length: 300 }, () => 'all') } }, -32602, /more than 256 entries/],
        ['connect', { ...good, kubeconfig: 'k'.repeat(1024 * 1024 + 1) }, -32602, /longer than 1048576 characters/],
        ['connect', { ...good, routing: { autoResolveConflicts: 'yes' } }, -32602, /autoResolveConflicts: expected true or false/],
        ['intercept', { workload: 'Bad_Name', port: '80', mode: 'intercept' }, -32602, /params\.workload: "Bad_Name" is not a valid name/],
        ['intercept', { workload: 'echo', port: 80, mode: 'intercept' }, -32602, /params\.port: expected a string/],
        ['intercept', { workload: 'echo', port: '80', mode: 'steal' }, -32602, /params\.mode: expected "intercept" or "ingest"/],
        ['intercept', { workload: 'echo', port: '80', mode: 'intercept', agentTimeoutSeconds: 1e9 }, -32602, /agentTimeoutSeconds/],
        ['leave', { workload: 123 }, -32602, /params\.workload: expected a string/],
        ['logs.subscribe', { level: 'loud' }, -32602, /params\.level: expected one of/],
        ['quit', { cleanup: 'yes' }, -32602, /params\.cleanup: expected true or false/],
        ['credentials.update', { kubeconfig: {} }, -32602, /params\.kubeconfig: expected a string/],
        ['no.such.method', {}, -32601, /no\.such\.method/],
        ['__proto__', {}, -32601, /__proto__/],
      ];
      for (const [method, params, code, message] of refused) {
        row.tried++;
        const e = await rpc.connection.sendRequest(method, params).then(() => undefined, (err: { code?: number; message?: string }) => err);
        assert.ok(e, `${method} ${JSON.stringify(params).slice(0, 80)} was accepted`);
        assert.equal(e.code, code, `${method}: ${e.message}`);
        assert.match(e.message ?? '', message);
      }
      // The plan of well-shaped but wrong values: an error in the plan, nothing applied.
      for (const flags of [{ vnat: ['banana'] }, { alsoProxy: ['10.0.0.0/33'] }, { vnat: ['10.130.0.0/16', '10.130.1.0/24'] }]) {
        row.tried++;
        const plan = await rpc.connection.sendRequest('plan', { ...good, flags }) as { error?: string };
        assert.ok(plan.error, `plan ${JSON.stringify(flags)} has no error`);
      }
      rpc.close();
      // Deeply nested JSON within the size limit (written by hand: JSON.stringify itself would overflow the stack).
      row.tried++;
      const content = (body: string) => `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      const nested = await rawExchange(ws.socket, content(`{"jsonrpc":"2.0","id":7,"method":"connect","params":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`), 10_000, 'utf8', /"id":7,"error":\{.*\}\}/);
      assert.match(nested.received, /"id":7,"error":\{"code":-32602,"message":"invalid parameter params: expected an object"/, `a deeply nested array as params: ${nested.received.slice(0, 300)}`);

      // Framing the daemon cannot accept closes the connection before anything is buffered.
      for (const [what, bytes] of [
        ['a 5 MB Content-Length', 'Content-Length: 5000000\r\n\r\n'],
        ['a 2 GB Content-Length', 'Content-Length: 2147483648\r\n\r\n{"jsonrpc":"2.0"'],
        ['a 2 KiB header', `X-Junk: ${'a'.repeat(2000)}\r\n\r\n`],
        ['a header without Content-Length', 'Content-Type: application/json\r\n\r\n{}'],
        ['a negative Content-Length', 'Content-Length: -5\r\n\r\n{}'],
      ] as const) {
        row.tried++;
        const r = await rawExchange(ws.socket, bytes, 3000);
        assert.equal(r.closed, true, `${what}: the daemon kept the connection open`);
        assert.equal(r.received, '', `${what}: the daemon answered ${r.received}`);
      }
      // Garbage that is framed correctly is skipped: the next request on the same connection is answered.
      const version = content('{"jsonrpc":"2.0","id":99,"method":"version"}');
      for (const [what, body] of [
        ['invalid JSON', '{not json'],
        ['JSON that is not JSON-RPC', '{"foo":1}'],
        ['a request without a method', '{"jsonrpc":"2.0","id":1}'],
        ['a truncated request', '{"jsonrpc":"2.0","id":5,"method":"sta'],
        ['binary', randomBytes(300).toString('latin1')],
      ] as const) {
        row.tried++;
        const r = await rawExchange(ws.socket, `Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\n\r\n${body}` + version, 3000, 'latin1', /"id":99,"result":\{[^}]*\}\}/);
        assert.match(r.received, /"id":99,"result":\{"version"/, `${what}: the next request was not answered: ${r.received}`);
      }
      const after = await ws.status();
      assert.equal(after.pid, status.pid, 'the daemon restarted');
      assert.equal(after.connection.state, 'connected');
      assert.match(ws.log(), /exceeds the daemon's limit of 4194304 bytes/, 'the oversize refusal is logged');
      row.survived = row.tried;
      row.dataLost = null;
      row.note = 'wrong types -32602 naming the parameter, unknown methods -32601, bad framing closes only that connection';
    }));

  test('bad workload names while connected: a clear error, nothing changed', () =>
    report.check({ area: 'bad input', check: 'tpv intercept/ingest/leave with bad workload names and ports' }, async (row) => {
      const connected = snapshotNamespace(lab.workstationNetns);
      const deployBefore = (await ws.kubectl('get', 'deployment', 'echo', '-n', 'default', '-o', 'jsonpath={.metadata.generation}')).stdout;
      const cases: Array<{ args: string[]; stderr: RegExp }> = [
        { args: ['intercept', 'Bad_Name', '--port', '8080'], stderr: /"Bad_Name" is not a valid name/ },
        { args: ['intercept', 'echo', '--port', 'http:x:y'], stderr: /error: .*port/i },
        { args: ['intercept', 'echo', '--port', '99999'], stderr: /error: .*99999/ },
        { args: ['intercept', 'no-such-workload', '--port', '80'], stderr: /no-such-workload/ },
        { args: ['ingest', '../etc/passwd'], stderr: /is not a valid name/ },
        { args: ['ingest', 'echo', '--namespace', 'No_Such'], stderr: /"No_Such" is not a valid name/ },
        { args: ['leave', 'x y'], stderr: /"x y" is not a valid name/ },
        { args: ['leave', 'echo'], stderr: /no intercept or ingest of default\/echo is active/ },
      ];
      for (const c of cases) {
        row.tried++;
        const r = await ws.tpv(...c.args);
        const what = `tpv ${c.args.join(' ')}`;
        assert.notEqual(r.code, 0, `${what} succeeded: ${r.stdout}`);
        assert.match(r.stderr, c.stderr, `${what}: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, `${what} printed a stack trace: ${r.stderr}`);
        row.survived++;
      }
      assert.equal(diffSnapshots(connected, snapshotNamespace(lab.workstationNetns)), '', 'the workstation changed');
      const deployAfter = (await ws.kubectl('get', 'deployment', 'echo', '-n', 'default', '-o', 'jsonpath={.metadata.generation}')).stdout;
      assert.equal(deployAfter, deployBefore, 'the echo deployment was changed');
      assert.equal((await ws.status()).intercepts.length, 0);
      row.dataLost = null;
      row.note = 'each refused with its reason; workstation snapshot and deployment unchanged';
    }));

  test('handshakes the storm never finished release their relay connections', () =>
    report.check({ area: 'bad input', check: 'admitted SYNs whose handshake never completes release their tunnel streams' }, async (row) => {
      // The stack gives an admitted SYN 20 s to be accepted; afterwards the relay must hold no connection for it.
      assert.equal(await relayRestarts(ws), relayAtStorm, 'not the relay pod of the storm (it restarted or was replaced): nothing to measure');
      const waited = await timeUntil(async () => (await relayStats(ws)).tcpConnections === 0, Math.max(0, stormEndedAt + 40_000 - Date.now()), 500);
      const s = await relayStats(ws);
      row.tried = 1;
      assert.ok(relayConnectionsAfterStorm > 0, 'the storm left no connection at the relay: nothing was tested');
      assert.ok(waited !== undefined, `the relay still holds ${s.tcpConnections} TCP connections (${s.streams} streams) ${Math.round((Date.now() - stormEndedAt) / 1000)} s after the storm`);
      row.survived = 1;
      row.dataLost = null;
      row.note = `the relay held ${relayConnectionsAfterStorm} cluster connections for SYNs nobody completed right after the storm, 0 when checked ${((Date.now() - stormEndedAt) / 1000).toFixed(0)} s later (the stack waits 20 s for a handshake)`;
    }));
});

/** The relay's own counters (GET /readyz on its health port), read from the node's namespace. */
async function relayStats(ws: Workstation): Promise<{ streams: number; tcpConnections: number }> {
  const pod = (await ws.kubectl('get', 'pods', '-n', 'default', '-l', RELAY_SELECTOR, '-o', 'jsonpath={.items[0].status.podIP}')).stdout.trim();
  const r = await run('ip', ['netns', 'exec', ws.lab.nodeNetns, 'curl', '-sS', '--max-time', '2', `http://${pod}:${DEFAULT_RELAY_HEALTH_PORT}/readyz`]);
  return JSON.parse(r.stdout) as { streams: number; tcpConnections: number };
}

async function relayRestarts(ws: Workstation): Promise<string> {
  return (await ws.kubectl('get', 'pods', '-n', 'default', '-l', RELAY_SELECTOR, '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.containerStatuses[0].restartCount} {end}')).stdout.trim();
}

async function rpcClient(socket: string): Promise<{ connection: MessageConnection; close(): void }> {
  const s = net.connect(socket);
  await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject); });
  const connection = createMessageConnection(new StreamMessageReader(s), new StreamMessageWriter(s));
  connection.listen();
  return { connection, close: () => { connection.dispose(); s.destroy(); } };
}

/** Writes raw bytes to the daemon's socket and reports what came back and whether the daemon closed it. */
function rawExchange(socket: string, bytes: string, waitMs: number, encoding: BufferEncoding = 'utf8', until?: RegExp): Promise<{ closed: boolean; received: string }> {
  return new Promise((resolve) => {
    const s = net.connect(socket);
    let received = '';
    const timer = setTimeout(() => { s.destroy(); resolve({ closed: false, received }); }, waitMs);
    s.on('data', (d) => {
      received += d.toString('utf8');
      // The answer waited for is complete: no need to wait for a close that will not come.
      if (until?.test(received)) { clearTimeout(timer); s.removeAllListeners('close'); s.destroy(); resolve({ closed: false, received }); }
    });
    s.on('error', () => { /* the close below tells */ });
    s.on('close', () => { clearTimeout(timer); resolve({ closed: true, received }); });
    s.on('connect', () => s.write(Buffer.from(bytes, encoding)));
  });
}

