// Tunnel benchmark: session → relay → local sink on loopback against a
// direct loopback connection measured in the same run. `npm run bench`
// calls benchTunnel(); it can also run alone:
//   node --import tsx test/bench/tunnel.ts [MiB]
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { relayConfigFromEnv } from '../../daemon/relay/relayConfig';
import { startRelay, type RelayHandle } from '../../daemon/relay/relayServer';
import { TunnelSession } from '../../daemon/tunnel/tunnelSession';

export interface BenchTunnelOptions {
  /** Bytes per throughput run. Default 256 MiB. */
  bytes?: number;
  /** Streams in the parallel run. Default 8. */
  parallel?: number;
  /** Streams opened (and closed) in the open-rate run. Default 2000. */
  opens?: number;
  /** `process` runs dist/relay.js as a child (like the pod; needs a build), `in-process` starts it here. Default: process when built. */
  relay?: 'process' | 'in-process';
  /** Per-stream receive window. Default: the session's (256 KiB). */
  streamWindow?: number;
}

export interface BenchResult {
  name: string;
  baseline: number;
  measured: number;
  /** measured / baseline (higher is better for every unit used here). */
  ratio: number;
  unit: string;
}

const SECRET = 'bench-secret';
const CHUNK = Buffer.alloc(256 * 1024, 0x5a);

export async function benchTunnel(opts: BenchTunnelOptions = {}): Promise<BenchResult[]> {
  const bytes = opts.bytes ?? 256 * 1024 * 1024;
  const parallel = opts.parallel ?? 8;
  const opens = opts.opens ?? 2000;
  const sink = await startSink();
  const echo = await startEcho();
  const relay = await startBenchRelay(opts.relay);
  const session = await TunnelSession.connect(await tcpConnect(relay.port), {
    secret: SECRET, software: 'tpv-bench', ...(opts.streamWindow ? { streamWindow: opts.streamWindow } : {}),
  });
  const direct = (): Promise<Duplex> => tcpConnect(sink.port);
  const tunneled = (): Promise<Duplex> => session.openTcp({ host: '127.0.0.1', port: sink.port });
  const results: BenchResult[] = [];
  try {
    // Warm-up (JIT, socket buffers) so the first measured run is not penalised.
    await pushThrough([await direct()], sink, 16 * 1024 * 1024);
    await pushThrough([await tunneled()], sink, 16 * 1024 * 1024);

    const mbps = (n: number, ms: number) => (n / (1024 * 1024)) / (ms / 1000);
    const b1 = mbps(bytes, await pushThrough([await direct()], sink, bytes));
    const m1 = mbps(bytes, await pushThrough([await tunneled()], sink, bytes));
    results.push(result('tunnel: 1 stream upload', b1, m1, 'MiB/s'));

    const conns = (f: () => Promise<Duplex>) => Promise.all(Array.from({ length: parallel }, f));
    const bp = mbps(bytes, await pushThrough(await conns(direct), sink, bytes));
    const mp = mbps(bytes, await pushThrough(await conns(tunneled), sink, bytes));
    results.push(result(`tunnel: ${parallel} streams upload`, bp, mp, 'MiB/s'));

    const bo = await openRate(() => tcpConnect(echo.port), opens);
    const mo = await openRate(() => session.openTcp({ host: '127.0.0.1', port: echo.port }), opens);
    results.push(result('tunnel: stream opens (open, 1-byte echo, close)', bo, mo, 'opens/s'));
  } finally {
    session.close('benchmark finished');
    await relay.close();
    sink.server.close();
    echo.server.close();
  }
  return results;
}

function result(name: string, baseline: number, measured: number, unit: string): BenchResult {
  const r = (n: number) => Math.round(n * 10) / 10;
  return { name, baseline: r(baseline), measured: r(measured), ratio: Math.round((measured / baseline) * 1000) / 1000, unit };
}

interface Sink { port: number; server: Server; received: number; waiters: Array<() => void>; }

async function startSink(): Promise<Sink> {
  const sink: Sink = { port: 0, server: createServer(), received: 0, waiters: [] };
  sink.server.on('connection', (s: Socket) => {
    s.on('data', (c: Buffer) => { sink.received += c.length; for (const w of sink.waiters) w(); });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => sink.server.listen(0, '127.0.0.1', r));
  sink.port = (sink.server.address() as AddressInfo).port;
  return sink;
}

async function startEcho(): Promise<{ port: number; server: Server }> {
  const server = createServer((s) => { s.on('error', () => {}); s.pipe(s); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, server };
}

/** Writes `total` bytes spread over `streams` and returns ms until the sink has them all. */
async function pushThrough(streams: Duplex[], sink: Sink, total: number): Promise<number> {
  const start0 = sink.received;
  const per = Math.floor(total / streams.length);
  const t0 = performance.now();
  const arrived = new Promise<void>((resolve) => {
    const check = () => { if (sink.received - start0 >= per * streams.length) { sink.waiters.splice(sink.waiters.indexOf(check), 1); resolve(); } };
    sink.waiters.push(check);
  });
  await Promise.all(streams.map(async (s) => {
    s.on('error', () => {});
    let sent = 0;
    while (sent < per) {
      const n = Math.min(CHUNK.length, per - sent);
      sent += n;
      if (!s.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) await new Promise((r) => s.once('drain', r));
    }
  }));
  await arrived;
  const ms = performance.now() - t0;
  for (const s of streams) s.destroy();
  return ms;
}

/** Opens per second, 32 at a time; each open is confirmed by a 1-byte echo. */
async function openRate(open: () => Promise<Duplex>, count: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < count) {
      next++;
      const s = await open();
      s.on('error', () => {});
      await new Promise<void>((resolve) => { s.once('data', () => resolve()); s.write('x'); });
      s.destroy();
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  return count / ((performance.now() - t0) / 1000);
}

function tcpConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, noDelay: true }, () => { s.off('error', reject); resolve(s); });
    s.once('error', reject);
  });
}

async function startBenchRelay(mode: BenchTunnelOptions['relay']): Promise<{ port: number; close: () => Promise<void> }> {
  const script = join(process.cwd(), 'dist/relay.js');
  const env = { TPV_RELAY_SECRET: SECRET, TPV_RELAY_PORT: '0', TPV_RELAY_HEALTH_PORT: '0', TPV_RELAY_LISTEN_HOST: '127.0.0.1', TPV_RELAY_DNS_SERVER: '127.0.0.1:9', TPV_RELAY_LOG_LEVEL: 'warn' };
  if (mode === 'in-process' || (mode === undefined && !existsSync(script))) {
    const handle: RelayHandle = await startRelay(relayConfigFromEnv(env, () => ''), () => {});
    return { port: handle.port, close: () => handle.close() };
  }
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`node scripts/build.mjs\` first`);
  const child: ChildProcess = spawn(process.execPath, [script], { env: { PATH: process.env.PATH ?? '', ...env, TPV_RELAY_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => { out += c.toString(); const m = /ready tunnel=(\d+)/.exec(out); if (m) resolve(Number(m[1])); });
    child.once('exit', (code) => reject(new Error(`the relay exited with ${code}: ${out}`)));
  });
  return { port, close: async () => { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); } };
}

// Standalone only when this file itself is the entry (not when bundled into out/test/bench.js).
if (/[\\/]test[\\/]bench[\\/]tunnel\.ts$/.test(process.argv[1] ?? '')) {
  const mib = Number(process.argv[2] ?? 256);
  benchTunnel({ bytes: mib * 1024 * 1024 }).then((rs) => {
    for (const r of rs) console.log(`${r.name.padEnd(50)} baseline ${String(r.baseline).padStart(9)} ${r.unit}  tunnel ${String(r.measured).padStart(9)} ${r.unit}  ratio ${r.ratio}`);
  }, (e: unknown) => { console.error(e); process.exit(1); });
}
