// The workstation → pod paths of the lab, measured A/B interleaved in one run:
//   direct       a temporary route from the workstation to the pod through the
//                node (no VPN, no daemon): the lab's physical limit;
//   port-forward `kubectl port-forward` through the lab API server (SPDY in a
//                WebSocket, as kubectl 1.32 does it);
//   daemon       our daemon, to the pod's VNAT virtual IP;
//   sshuttle     the peer tunnel: sshuttle over SSH to a jump pod, routing
//                the pod's IP (started only for its own measurements, since
//                it captures all TCP to that IP).
// Each path: single-stream and 8-stream throughput (client → pod sink),
// connection rate and time to first byte for short request/response
// connections. Medians of `runs` rounds; ratios against port-forward and
// direct. The client and the sink are small Node programs run inside the
// namespaces, so every byte crosses the real devices.
// Then the scale figures (labScale.ts) and the VNAT table at 65,536 mappings
// (labVnat.ts); `vnatOnly` connects and measures only the latter. The daemon
// connects with routing.virtualSubnet from a config.yml wide enough that the
// pod subnet's virtual range holds every pod IP (the default /16 gives it a /17).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { labDown, labStatus, labUp, type LabInfo } from '../lab/labLifecycle';
import { benchLabScale } from './labScale';
import { benchLabVnat } from './labVnat';
import { VNAT_BENCH_VIRTUAL_SUBNET } from './vnatTable';
import { uniquePrefix } from '../support/netns';
import { ensureSshuttle, sshuttlePeer, type SshuttlePeer } from './sshuttlePeer';
import { addCpu, meterCpu, pidsInNetns, type ProcessGroups } from './cpuAccounting';

export interface LabBenchRow { name: string; baseline: number; measured: number; ratio: number; unit: string }

const SINK_PORT = 9911;
const RR_PORT = 9912;

// Inside the pod: a sink that counts bytes and answers the count when the client half-closes,
// and a request/response server that answers one line per connection.
const SINK = `
const net = require('node:net');
net.createServer((s) => { let n = 0; s.on('data', (d) => { n += d.length; }); s.on('end', () => s.end(String(n))); s.on('error', () => {}); }).listen(${SINK_PORT});
net.createServer((s) => { s.once('data', () => s.end('HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\n\\r\\nok')); s.on('error', () => {}); }).listen(${RR_PORT}, () => console.log('ready'));
`;

// On the workstation: `throughput HOST PORT BYTES STREAMS` or `rr HOST PORT COUNT`; prints JSON.
const CLIENT = `
const net = require('node:net');
const [mode, host, portText, amountText, streamsText] = process.argv.slice(2);
const port = Number(portText), amount = Number(amountText);
function stream(bytes) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host);
    const chunk = Buffer.alloc(256 * 1024, 7);
    let left = bytes, reply = '';
    s.on('error', reject);
    s.on('data', (d) => { reply += d; });
    s.on('end', () => { if (Number(reply) !== bytes) reject(new Error('sink counted ' + reply + ' of ' + bytes)); else resolve(); });
    const pump = () => { while (left > 0) { const n = Math.min(left, chunk.length); left -= n; if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { s.once('drain', pump); return; } } s.end(); };
    s.on('connect', pump);
  });
}
function rr() {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint(); let first = 0n;
    const s = net.connect(port, host, () => s.write('GET / HTTP/1.1\\r\\nhost: bench\\r\\n\\r\\n'));
    s.on('data', () => { if (!first) first = process.hrtime.bigint(); });
    s.on('error', reject);
    s.on('close', () => resolve(Number(first - t0) / 1e6));
  });
}
(async () => {
  if (mode === 'throughput') {
    const streams = Number(streamsText); const t0 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: streams }, () => stream(Math.floor(amount / streams))));
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(JSON.stringify({ gbps: (amount * 8) / s / 1e9 }));
  } else {
    const ttfb = []; const t0 = process.hrtime.bigint();
    for (let i = 0; i < amount; i++) ttfb.push(await rr());
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    ttfb.sort((a, b) => a - b);
    console.log(JSON.stringify({ cps: amount / s, p50: ttfb[Math.floor(ttfb.length * 0.5)], p99: ttfb[Math.min(ttfb.length - 1, Math.floor(ttfb.length * 0.99))] }));
  }
})().catch((e) => { console.error(e.message); process.exit(1); });
`;

/**
 * The order of `items` in round `round` of a Williams design: over `items.length`
 * rounds (an even count), each item directly follows each other item exactly
 * once, so no path always inherits what the same other path left behind.
 */
export function balancedOrder<T>(items: readonly T[], round: number): T[] {
  const n = items.length;
  // First row 0, 1, n-1, 2, n-2, ...; round i adds i to every entry (mod n).
  const first = [0];
  for (let k = 1; k < n; k++) first.push(k % 2 === 1 ? (k + 1) / 2 : n - k / 2);
  return first.map((j) => items[(j + round) % n]!);
}

/** Lets the previous measurement's closing connections and timers finish before the next starts. */
function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 1000));
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => execFile(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
    (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout))));
}

function waitForLine(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs} ms: ${seen}`)), timeoutMs);
    const onData = (d: Buffer) => { seen += d; if (pattern.test(seen)) { clearTimeout(timer); resolve(); } };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => { seen += d; });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${what} exited with ${code}: ${seen}`)); });
  });
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

export async function benchLabPaths(opts: {
  runs: number; bytes: number; connections: number; queries: number; flows: number; vnatMappings: number; vnatOnly?: boolean; log: (l: string) => void; tpv: string;
  /** Run the daemon under `node --cpu-prof` and leave its V8 CPU profiles (main thread and TUN worker) here. */
  profileDir?: string;
}): Promise<LabBenchRow[]> {
  const { log } = opts;
  const dir = mkdtempSync(join(tmpdir(), 'tpv-bench-lab-'));
  const children: ChildProcess[] = [];
  let profiledDaemonExit: Promise<void> | undefined;
  let lab: LabInfo | undefined;
  let peer: SshuttlePeer | undefined;
  const tpvEnv = { TPV_SOCKET: join(dir, 'daemon.sock'), TPV_STATE_DIR: join(dir, 'state'), TPV_LOG_FILE: join(dir, 'daemon.log'), TPV_IDLE_EXIT: '0', HOME: dir };
  const labName = uniquePrefix('bl');
  try {
    lab = await labUp({ name: labName });
    const L = lab;
    const pod = L.pods.find((p) => p.name.startsWith('echo-') && p.ip && p.ready);
    if (!pod?.ip) throw new Error('the lab has no ready echo pod');
    log(`lab ${L.name} up; target pod ${pod.namespace}/${pod.name} (${pod.ip})`);
    const inWs = (args: string[]) => run('ip', ['netns', 'exec', L.workstationNetns, ...args], { ...tpvEnv, KUBECONFIG: L.kubeconfig });
    const tpv = (args: string[]) => inWs([process.execPath, opts.tpv, ...args]);
    writeFileSync(join(dir, 'config.yml'), `routing:\n  virtualSubnet: ${VNAT_BENCH_VIRTUAL_SUBNET}\n`);
    const vnatTable = async (): Promise<LabBenchRow[]> => {
      const status = JSON.parse(await tpv(['status', '--json'])) as { pid: number };
      return benchLabVnat({
        dir, workstationNetns: L.workstationNetns, podNetns: pod.netns, clusterDns: L.clusterDns, daemonPid: status.pid,
        podCidr: L.podCidr, namespace: pod.namespace, clusterDomain: L.clusterDomain, socketPath: tpvEnv.TPV_SOCKET,
        tpv, mappings: opts.vnatMappings, chunks: 8, runs: opts.runs, log,
      });
    };
    if (opts.vnatOnly) {
      await tpv(['connect', '--config', join(dir, 'config.yml')]);
      log(`daemon connected (routing.virtualSubnet ${VNAT_BENCH_VIRTUAL_SUBNET})`);
      return await vnatTable();
    }
    writeFileSync(join(dir, 'sink.js'), SINK);
    writeFileSync(join(dir, 'client.js'), CLIENT);
    const sink = spawn('ip', ['netns', 'exec', pod.netns, process.execPath, join(dir, 'sink.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(sink);
    await waitForLine(sink, /ready/, 'the sink in the pod');

    // direct: through the node, as if the workstation sat on the cluster network.
    await inWs(['ip', 'route', 'add', `${pod.ip}/32`, 'via', '192.168.230.1', 'dev', 'api0', 'onlink']);
    // port-forward: kubectl, as users run it.
    const pf = spawn('ip', ['netns', 'exec', L.workstationNetns, 'kubectl', '--kubeconfig', L.kubeconfig, '-n', pod.namespace, 'port-forward', `pod/${pod.name}`, `1${SINK_PORT}:${SINK_PORT}`, `1${RR_PORT}:${RR_PORT}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(pf);
    let pfOutput = '';
    pf.stdout.on('data', (d: Buffer) => { pfOutput += d; });
    pf.stderr.on('data', (d: Buffer) => { pfOutput += d; });
    pf.once('exit', (code) => log(`kubectl port-forward exited with ${code}: ${pfOutput.split('\n').slice(-5).join(' | ')}`));
    await waitForLine(pf, new RegExp(`Forwarding from 127\\.0\\.0\\.1:1${RR_PORT}`), 'kubectl port-forward');
    // daemon: connect, then the pod's virtual IP from its DNS name.
    if (opts.profileDir) profiledDaemonExit = (await startProfiledDaemon(L.workstationNetns, opts.tpv, tpvEnv, opts.profileDir, log)).exited;
    await tpv(['connect', '--config', join(dir, 'config.yml')]);
    const podName = `${pod.ip.replace(/\./g, '-')}.${pod.namespace}.pod.${L.clusterDomain}`;
    const virtualIp = (await inWs(['getent', 'hosts', podName])).split(/\s+/)[0]!;
    log(`daemon connected; ${podName} → ${virtualIp}`);

    // sshuttle: sshd in another pod (the jump host), sshuttle routing the target pod's IP.
    await ensureSshuttle(log);
    const jump = L.pods.find((p) => p.ip && p.ready && p.name !== pod.name);
    if (!jump?.ip) throw new Error('the lab has no second ready pod for the sshuttle jump host');
    peer = await sshuttlePeer({ dir, workstationNetns: L.workstationNetns, jumpNetns: jump.netns, jumpIp: jump.ip, target: pod.ip, log });

    const paths: Array<{ name: string; host: string; sink: number; rr: number; around?: { before(): Promise<void>; after(): Promise<void> } }> = [
      { name: 'direct', host: pod.ip, sink: SINK_PORT, rr: RR_PORT },
      { name: 'port-forward', host: '127.0.0.1', sink: Number(`1${SINK_PORT}`), rr: Number(`1${RR_PORT}`) },
      { name: 'daemon', host: virtualIp, sink: SINK_PORT, rr: RR_PORT },
      { name: 'sshuttle', host: pod.ip, sink: SINK_PORT, rr: RR_PORT, around: { before: () => peer!.start(), after: () => peer!.stop() } },
    ];
    // Per path, the processes that carry its bytes (sshuttle's are not tracked: python and ssh come and go with it).
    const status0 = JSON.parse(await tpv(['status', '--json'])) as { pid: number; connection: { relay?: { pod: string } } };
    const relayNetns = (await labStatus(L.name)).pods.find((p) => p.name === status0.connection.relay?.pod)?.netns;
    const daemonPid = status0.pid;
    const cpuGroups: Record<string, ProcessGroups> = {
      direct: { sink: () => [sink.pid!] },
      'port-forward': { kubectl: () => [pf.pid!], 'lab API server + kubelet': () => [L.controlPlanePid], sink: () => [sink.pid!] },
      daemon: { daemon: () => [daemonPid], relay: () => (relayNetns ? pidsInNetns(relayNetns) : []), 'lab API server + kubelet': () => [L.controlPlanePid], sink: () => [sink.pid!] },
    };
    const cpu = new Map<string, { stream: Record<string, number>; conns: Record<string, number> }>(Object.keys(cpuGroups).map((k) => [k, { stream: {}, conns: {} }]));
    type Sample = { single: number[]; multi: number[]; cps: number[]; p50: number[]; p99: number[] };
    const samples = new Map<string, Sample>(paths.map((p) => [p.name, { single: [], multi: [], cps: [], p50: [], p99: [] }]));
    const client = (args: string[]) => inWs([process.execPath, join(dir, 'client.js'), ...args]).then((o) => JSON.parse(o) as Record<string, number>);
    for (let round = 1; round <= opts.runs; round++) {
      // Interleaved, in a balanced order so that no path always follows the same one: the lab API server
      // carries both port-forward and the daemon's tunnel, and a path measured right after
      // port-forward's transfers inherits that process's garbage (the daemon's single stream:
      // 1.84 Gbit/s median measured alone, 1.31 always right after port-forward, 1.12 in the
      // fixed order direct, port-forward, daemon, sshuttle).
      for (const p of balancedOrder(paths, round - 1)) {
        await settle();
        const s = samples.get(p.name)!;
        await p.around?.before();
        const groups = cpuGroups[p.name];
        let stopMeter = groups && meterCpu(groups);
        s.single.push((await client(['throughput', p.host, String(p.sink), String(opts.bytes), '1'])).gbps!);
        if (stopMeter) addCpu(cpu.get(p.name)!.stream, stopMeter());
        s.multi.push((await client(['throughput', p.host, String(p.sink), String(opts.bytes), '8'])).gbps!);
        stopMeter = groups && meterCpu(groups);
        const rr = await client(['rr', p.host, String(p.rr), String(opts.connections)]);
        if (stopMeter) addCpu(cpu.get(p.name)!.conns, stopMeter());
        s.cps.push(rr.cps!); s.p50.push(rr.p50!); s.p99.push(rr.p99!);
        await p.around?.after();
      }
      log(`round ${round}/${opts.runs} done`);
    }
    const m = (path: string, k: keyof Sample) => median(samples.get(path)![k]);
    const rows: LabBenchRow[] = [];
    const add = (name: string, base: string, k: keyof Sample, unit: string, lowerIsBetter = false) => {
      const b = m(base, k), d = m('daemon', k);
      rows.push({ name: `${name}: daemon vs ${base}`, baseline: b, measured: d, ratio: lowerIsBetter ? b / d : d / b, unit });
    };
    for (const base of ['port-forward', 'sshuttle', 'direct']) {
      add('1-stream throughput', base, 'single', 'Gbit/s');
      add('8-stream throughput', base, 'multi', 'Gbit/s');
      add('connections/s', base, 'cps', 'conn/s');
      add('TTFB p50 (ratio: base/daemon)', base, 'p50', 'ms', true);
      add('TTFB p99 (ratio: base/daemon)', base, 'p99', 'ms', true);
    }
    // The profile: CPU per GiB (1 stream) and per 1,000 connections, by process, summed over every round.
    const gib = (opts.bytes * opts.runs) / 2 ** 30;
    const thousands = (opts.connections * opts.runs) / 1000;
    const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
    log('CPU seconds by process (the profile of each path; all rounds):');
    for (const [path, c] of cpu) {
      const parts = (r: Record<string, number>, per: number) => Object.entries(r).map(([k, v]) => `${k} ${(v / per).toFixed(2)}`).join(', ');
      log(`  ${path.padEnd(12)} per GiB (1 stream): ${(total(c.stream) / gib).toFixed(2)} s = ${parts(c.stream, gib)}`);
      log(`  ${''.padEnd(12)} per 1,000 connections: ${(total(c.conns) / thousands).toFixed(2)} s = ${parts(c.conns, thousands)}`);
    }
    const d = cpu.get('daemon')!, pfc = cpu.get('port-forward')!;
    rows.push({ name: 'CPU per GiB, 1 stream, every process on the path (ratio: base/daemon): daemon vs port-forward', baseline: total(pfc.stream) / gib, measured: total(d.stream) / gib, ratio: total(pfc.stream) / total(d.stream), unit: 's' });
    rows.push({ name: 'CPU per 1,000 connections, every process on the path (ratio: base/daemon): daemon vs port-forward', baseline: total(pfc.conns) / thousands, measured: total(d.conns) / thousands, ratio: total(pfc.conns) / total(d.conns), unit: 's' });

    log('DNS and 10,000 idle flows through the connected daemon');
    const status = JSON.parse(await inWs([process.execPath, opts.tpv, 'status', '--json'])) as { pid: number };
    const relayPod = (await labStatus(L.name)).pods.find((p) => p.name.startsWith('tpv-relay'));
    if (!relayPod) throw new Error('the relay pod is not in the lab status');
    rows.push(...await benchLabScale({
      dir, workstationNetns: L.workstationNetns, podNetns: pod.netns, clusterDns: L.clusterDns, daemonPid: status.pid, relayNetns: relayPod.netns,
      serviceName: `echo.default.svc.${L.clusterDomain}`, podName, runs: opts.runs, queries: opts.queries, flows: opts.flows, log,
    }));
    // Last: 65,536 mappings stay in the daemon for the rest of the session.
    log(`the VNAT table at ${opts.vnatMappings.toLocaleString('en-US')} mappings through the connected daemon`);
    rows.push(...await vnatTable());
    return rows;
  } finally {
    await peer?.close().catch(() => undefined);
    for (const c of children) c.kill('SIGTERM');
    if (lab) await run('ip', ['netns', 'exec', lab.workstationNetns, process.execPath, opts.tpv, 'quit'], tpvEnv).catch(() => undefined);
    // The main thread's profile of a long run takes seconds to write; tearing the lab down kills the process.
    if (profiledDaemonExit) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([profiledDaemonExit, new Promise((r) => { timer = setTimeout(r, 30_000); })]);
      clearTimeout(timer); // else a daemon that exits at once leaves the bench waiting 30 s before it ends
    }
    // Also after an up that failed half-way: the namespaces are removed by name.
    await labDown(labName).catch((e: Error) => log(`lab down: ${e.message}`));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Starts the daemon as `tpv connect` would, but under `node --cpu-prof`: the
 * connect then uses it, and `tpv quit` at the end makes it write its profiles.
 */
async function startProfiledDaemon(netns: string, tpvScript: string, env: Record<string, string>, profileDir: string, log: (l: string) => void): Promise<{ exited: Promise<void> }> {
  mkdirSync(profileDir, { recursive: true });
  const daemonScript = join(dirname(tpvScript), 'daemon.js');
  const daemon = spawn('ip', ['netns', 'exec', netns, process.execPath, '--cpu-prof', '--cpu-prof-dir', resolve(profileDir), daemonScript,
    '--socket', env.TPV_SOCKET!, '--owner-uid', String(process.getuid?.() ?? 0), '--owner-gid', String(process.getgid?.() ?? 0),
    '--idle-exit', '0', '--log-file', env.TPV_LOG_FILE!, '--state-dir', env.TPV_STATE_DIR!], { stdio: 'ignore', detached: true });
  daemon.unref();
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!existsSync(env.TPV_SOCKET!)) {
    if (Date.now() > deadline) throw new Error(`the profiled daemon did not listen on ${env.TPV_SOCKET} within 10 s (see ${env.TPV_LOG_FILE})`);
    await new Promise((r) => setTimeout(r, 50));
  }
  log(`daemon ${daemon.pid} runs under --cpu-prof; its profiles go to ${resolve(profileDir)} when it quits (open them in Chrome DevTools or VS Code)`);
  return { exited };
}
