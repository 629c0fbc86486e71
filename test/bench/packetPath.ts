// Benchmark of the TCP data path through the TUN and the system stack, inside
// a network namespace: a client streams to a sink on loopback
//   - directly (baseline 1: the kernel's loopback),
//   - through a userspace proxy on loopback that pipes to the sink (baseline 2:
//     the same piping the daemon does, without TUN or NAT),
//   - through 10.140.0.5:80, where the stack's flow handler pipes the accepted
//     socket to the same sink (as the daemon pipes it to the tunnel).
// Runs alternate so all see the same machine load; medians are reported.
import { createNetns, deleteNetns, uniquePrefix } from '../support/netns';
import { missingNetworkPrivileges } from '../support/privileges';
import { runClient, startClient, startHarness } from '../integration/tun/nsProcesses';

export interface BenchResult {
  name: string;
  baseline: number;
  measured: number;
  /** measured / baseline */
  ratio: number;
  unit: string;
}

export interface PacketPathBenchOptions {
  /** Bytes per run (default 512 MiB). */
  bytes?: number;
  /** Runs of each kind; the median counts (default 3). */
  runs?: number;
  /** TUN MTU (default 65535). */
  mtu?: number;
  /** false: rewrite on the main thread instead of the reader worker (default true). */
  fastPathInWorker?: boolean;
  log?: (line: string) => void;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchPacketPath(opts: PacketPathBenchOptions = {}): Promise<BenchResult[]> {
  const reason = missingNetworkPrivileges();
  if (reason) throw new Error(`packet path benchmark needs network namespaces: ${reason}`);
  const bytes = opts.bytes ?? 512 * 1024 * 1024;
  const runs = opts.runs ?? 3;
  const mtu = opts.mtu ?? 65535;
  const log = opts.log ?? (() => {});
  const ns = uniquePrefix('tbpp');
  createNetns(ns);
  try {
    const sink = await startClient<{ port: number }>(ns, { task: 'sink-server' });
    const harness = await startHarness(ns, {
      device: 'tpvb0', mtu, tunIp4: '198.18.0.1', fakeIp4: '198.18.0.2', routes: ['10.140.0.0/16'],
      pipeToPort: sink.first.port, fastPathInWorker: opts.fastPathInWorker ?? true, reportFlows: false,
    });
    const loopbackProxyPort = harness.ready!.loopbackProxyPort!;
    type Run = { bytes: number; gbitPerSecond: number; error?: string };
    const run = async (host: string, port: number) => {
      const r = await runClient<Run>(ns, { task: 'throughput', host, port, bytes }, 120000);
      if (r.error || r.bytes !== bytes) throw new Error(`benchmark run to ${host}:${port} lost data: ${JSON.stringify(r)}`);
      return r.gbitPerSecond;
    };
    /** Runs and also returns how busy the harness's main thread was meanwhile (0..1). */
    const runWithLoad = async (host: string, port: number) => {
      harness.send('mark');
      const gbit = await run(host, port);
      harness.send('stats');
      const { stats } = await harness.next('stats');
      return { gbit, busy: stats.mainThreadBusy ?? NaN, stats };
    };
    const direct: number[] = [];
    const proxied: number[] = [];
    const viaStack: number[] = [];
    const proxiedBusy: number[] = [];
    const viaStackBusy: number[] = [];
    for (let i = 0; i < runs; i++) {
      direct.push(await run('127.0.0.1', sink.first.port));
      const p = await runWithLoad('127.0.0.1', loopbackProxyPort);
      proxied.push(p.gbit); proxiedBusy.push(p.busy);
      const s = await runWithLoad('10.140.0.5', 80);
      viaStack.push(s.gbit); viaStackBusy.push(s.busy);
      log(`run ${i + 1}: loopback ${direct[i]!.toFixed(2)}, loopback proxy ${p.gbit.toFixed(2)} (main thread ${(p.busy * 100).toFixed(0)}% busy), `
        + `TUN + system stack ${s.gbit.toFixed(2)} Gbit/s (main thread ${(s.busy * 100).toFixed(0)}% busy)`);
      if (i === runs - 1) log(`stack stats: ${JSON.stringify(s.stats)}`);
    }
    harness.send('close');
    await harness.next('closed');
    sink.child.kill();
    const measured = median(viaStack);
    const what = `TCP upload through TUN + system stack (MTU ${mtu}, NAT in ${opts.fastPathInWorker === false ? 'main thread' : 'reader worker'})`;
    return [
      { name: `${what} vs direct loopback`, baseline: median(direct), measured, ratio: measured / median(direct), unit: 'Gbit/s' },
      { name: `${what} vs the same userspace proxy on loopback`, baseline: median(proxied), measured, ratio: measured / median(proxied), unit: 'Gbit/s' },
      {
        name: `${what}: main-thread busy share per Gbit/s vs the same userspace proxy on loopback`,
        baseline: median(proxiedBusy.map((b, i) => b / proxied[i]!)), measured: median(viaStackBusy.map((b, i) => b / viaStack[i]!)),
        ratio: median(viaStackBusy.map((b, i) => b / viaStack[i]!)) / median(proxiedBusy.map((b, i) => b / proxied[i]!)), unit: 'event-loop utilization per Gbit/s',
      },
    ];
  } finally {
    deleteNetns(ns);
  }
}
