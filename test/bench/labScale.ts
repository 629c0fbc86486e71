// DNS and scale figures of the connected daemon in the lab:
//   DNS     queries/s and p50/p99 latency of the daemon's resolver (what the
//           workstation's resolv.conf points at, redirected to the daemon)
//           for a cluster service name (answer rewritten to a virtual IP)
//           and a pod name, against the cluster DNS queried from a pod (the
//           lab's own resolver, no tunnel): same names, same client.
//   flows   10,000 concurrent idle TCP connections through the daemon to the
//           echo pods: RSS and CPU of the daemon and of the relay, against
//           the same processes idle before the flows opened.
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ScaleRow { name: string; baseline: number; measured: number; ratio: number; unit: string }

// `dns SERVER NAME COUNT CONCURRENCY` → {qps,p50,p99,failed}; `flows HOST PORT COUNT HOLD_MS` → {opened,failed};
// `pods SERVER FIRST_IP COUNT CONCURRENCY SUFFIX` → {qps,p50,p99,failed,distinct}: COUNT names
// a-b-c-d.SUFFIX for consecutive IPs from FIRST_IP, each asked once (distinct: different A answers).
export const SCALE_CLIENT = `
const dgram = require('node:dgram'); const net = require('node:net');
const [mode, a, b, c, d] = process.argv.slice(2);
function query(id, name) {
  const labels = name.split('.').filter(Boolean);
  const parts = [Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0])];
  for (const l of labels) parts.push(Buffer.from([l.length]), Buffer.from(l));
  parts.push(Buffer.from([0, 0, 1, 0, 1]));
  return Buffer.concat(parts);
}
// The first A record's address of a reply (names are skipped label by label or by pointer).
function firstA(m) {
  let o = 12;
  const skipName = () => { while (o < m.length) { const l = m[o]; if (l === 0) { o += 1; return; } if ((l & 0xc0) === 0xc0) { o += 2; return; } o += 1 + l; } };
  for (let q = m.readUInt16BE(4); q > 0; q--) { skipName(); o += 4; }
  for (let a = m.readUInt16BE(6); a > 0 && o < m.length; a--) {
    skipName(); const type = m.readUInt16BE(o), len = m.readUInt16BE(o + 8); o += 10;
    if (type === 1 && len === 4) return m[o] + '.' + m[o + 1] + '.' + m[o + 2] + '.' + m[o + 3];
    o += len;
  }
  return undefined;
}
async function dns(server, nameOf, count, concurrency) {
  const sock = dgram.createSocket('udp4'); const pending = new Map(); const lat = []; const answers = new Set(); let next = 0, failed = 0;
  sock.on('message', (m) => { const id = m.readUInt16BE(0); const p = pending.get(id); if (!p) return; pending.delete(id); clearTimeout(p.timer); if ((m[3] & 15) !== 0 || m.readUInt16BE(6) === 0) failed++; else answers.add(firstA(m)); lat.push(Number(process.hrtime.bigint() - p.t0) / 1e6); p.done(); });
  const one = (i) => new Promise((done) => { const id = next++ & 0xffff; const t0 = process.hrtime.bigint(); const timer = setTimeout(() => { pending.delete(id); failed++; done(); }, 2000); pending.set(id, { t0, done, timer }); sock.send(query(id, nameOf(i)), 53, server); });
  const t0 = process.hrtime.bigint(); let sent = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => { while (sent < count) { await one(sent++); } }));
  const s = Number(process.hrtime.bigint() - t0) / 1e9; sock.close(); lat.sort((x, y) => x - y);
  return { qps: count / s, p50: lat[Math.floor(lat.length * 0.5)] ?? NaN, p99: lat[Math.floor(lat.length * 0.99)] ?? NaN, failed, distinct: answers.size };
}
function podName(first, i, suffix) {
  const ip = first.split('.').reduce((v, o) => v * 256 + Number(o), 0) + i;
  return [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join('-') + '.' + suffix;
}
async function flows(host, port, count, holdMs) {
  const socks = []; let opened = 0, failed = 0;
  for (let i = 0; i < count; i += 200) {
    await Promise.all(Array.from({ length: Math.min(200, count - i) }, () => new Promise((r) => { const s = net.connect(port, host, () => { opened++; r(); }); s.on('error', () => { failed++; r(); }); socks.push(s); })));
  }
  console.log(JSON.stringify({ opened, failed })); // the parent measures while we hold them
  await new Promise((r) => setTimeout(r, holdMs)); for (const s of socks) s.destroy();
}
(async () => {
  if (mode === 'dns') console.log(JSON.stringify(await dns(a, () => b, Number(c), Number(d))));
  else if (mode === 'pods') console.log(JSON.stringify(await dns(a, (i) => podName(b, i, process.argv[7]), Number(c), Number(d))));
  else await flows(a, Number(b), Number(c), Number(d));
})().catch((e) => { console.error(e.message); process.exit(1); });
`;

export function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(cmd, args, { encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
    (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout))));
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

/** Resident memory (MiB) and cumulative CPU seconds of a process. */
export function usage(pid: number): { rssMiB: number; cpuS: number } {
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15 of stat)
  return { rssMiB: rss, cpuS: ticks / 100 };
}

/** The relay's process: the one running relay.js inside the relay pod's namespace. */
async function relayPid(relayNetns: string): Promise<number> {
  const pids = (await run('ip', ['netns', 'pids', relayNetns])).split(/\s+/).filter(Boolean).map(Number);
  const relay = pids.find((p) => { try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('relay.js'); } catch { return false; } });
  if (!relay) throw new Error(`no relay.js process in ${relayNetns}`);
  return relay;
}

export async function benchLabScale(opts: {
  dir: string; workstationNetns: string; podNetns: string; clusterDns: string; daemonPid: number; relayNetns: string;
  serviceName: string; podName: string; runs: number; queries: number; flows: number; log: (l: string) => void;
}): Promise<ScaleRow[]> {
  const { log } = opts;
  const script = join(opts.dir, 'scale-client.js');
  writeFileSync(script, SCALE_CLIENT);
  const resolver = readFileSync(`/etc/netns/${opts.workstationNetns}/resolv.conf`, 'utf8').match(/^nameserver\s+(\S+)/m)?.[1];
  if (!resolver) throw new Error(`no nameserver in /etc/netns/${opts.workstationNetns}/resolv.conf`);
  const rows: ScaleRow[] = [];
  const dns = async (netns: string, server: string, name: string) =>
    JSON.parse(await run('ip', ['netns', 'exec', netns, process.execPath, script, 'dns', server, name, String(opts.queries), '16'])) as { qps: number; p50: number; p99: number; failed: number };

  for (const [what, name] of [['service name', opts.serviceName], ['pod name', opts.podName]] as const) {
    const daemon: Array<{ qps: number; p50: number; p99: number }> = [];
    const direct: typeof daemon = [];
    for (let i = 0; i < opts.runs; i++) { // interleaved
      const d = await dns(opts.workstationNetns, resolver, name);
      const c = await dns(opts.podNetns, opts.clusterDns, name);
      if (d.failed || c.failed) log(`dns ${name}: ${d.failed} failed through the daemon, ${c.failed} at the cluster DNS`);
      daemon.push(d); direct.push(c);
    }
    const m = (xs: typeof daemon, k: 'qps' | 'p50' | 'p99') => median(xs.map((x) => x[k]));
    rows.push({ name: `DNS ${what} queries/s: daemon resolver vs cluster DNS from a pod`, baseline: m(direct, 'qps'), measured: m(daemon, 'qps'), ratio: m(daemon, 'qps') / m(direct, 'qps'), unit: 'q/s' });
    rows.push({ name: `DNS ${what} p50 (ratio: base/daemon)`, baseline: m(direct, 'p50'), measured: m(daemon, 'p50'), ratio: m(direct, 'p50') / m(daemon, 'p50'), unit: 'ms' });
    rows.push({ name: `DNS ${what} p99 (ratio: base/daemon)`, baseline: m(direct, 'p99'), measured: m(daemon, 'p99'), ratio: m(direct, 'p99') / m(daemon, 'p99'), unit: 'ms' });
  }

  // 10,000 idle flows: open them, hold, measure both processes, close.
  const relay = await relayPid(opts.relayNetns);
  const before = { daemon: usage(opts.daemonPid), relay: usage(relay) };
  await new Promise((r) => setTimeout(r, 5000));
  const idle = { daemon: usage(opts.daemonPid), relay: usage(relay) };
  const holder = spawn('ip', ['netns', 'exec', opts.workstationNetns, process.execPath, script, 'flows', opts.serviceName, '9000', String(opts.flows), '30000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const opened = await new Promise<{ opened: number; failed: number }>((resolve, reject) => {
    let out = '';
    holder.stdout.on('data', (d: Buffer) => { out += d; const line = out.split('\n').find((l) => l.startsWith('{')); if (line) resolve(JSON.parse(line) as { opened: number; failed: number }); });
    holder.stderr.on('data', (d: Buffer) => { out += d; });
    holder.once('exit', (code) => reject(new Error(`the flow holder exited with ${code}: ${out}`)));
  });
  const t0 = { daemon: usage(opts.daemonPid), relay: usage(relay) };
  await new Promise((r) => setTimeout(r, 5000));
  const held = { daemon: usage(opts.daemonPid), relay: usage(relay) };
  holder.kill('SIGTERM');
  log(`flows: ${opened.opened} opened, ${opened.failed} failed; daemon ${before.daemon.rssMiB.toFixed(0)} → ${held.daemon.rssMiB.toFixed(0)} MiB, relay ${before.relay.rssMiB.toFixed(0)} → ${held.relay.rssMiB.toFixed(0)} MiB`);
  const cpu = (a: { cpuS: number }, b: { cpuS: number }) => ((b.cpuS - a.cpuS) / 5) * 100; // % of one core over 5 s
  // One clock tick (10 ms) in 5 s is 0.2 % of a core: below that the two readings cannot be told
  // apart, and 0 against 0 is "as idle", not a ratio of 0.
  const cpuRatio = (measured: number, baseline: number) => Math.max(0.2, measured) / Math.max(0.2, baseline);
  rows.push({ name: `${opened.opened} idle flows (${opened.failed} failed): daemon RSS vs idle daemon`, baseline: before.daemon.rssMiB, measured: held.daemon.rssMiB, ratio: held.daemon.rssMiB / before.daemon.rssMiB, unit: 'MiB' });
  rows.push({ name: `${opened.opened} idle flows: relay RSS vs idle relay`, baseline: before.relay.rssMiB, measured: held.relay.rssMiB, ratio: held.relay.rssMiB / before.relay.rssMiB, unit: 'MiB' });
  rows.push({ name: `${opened.opened} idle flows: daemon CPU while held vs idle`, baseline: cpu(before.daemon, idle.daemon), measured: cpu(t0.daemon, held.daemon), ratio: cpuRatio(cpu(t0.daemon, held.daemon), cpu(before.daemon, idle.daemon)), unit: '% core' });
  rows.push({ name: `${opened.opened} idle flows: relay CPU while held vs idle`, baseline: cpu(before.relay, idle.relay), measured: cpu(t0.relay, held.relay), ratio: cpuRatio(cpu(t0.relay, held.relay), cpu(before.relay, idle.relay)), unit: '% core' });
  return rows;
}

