// The VNAT table at scale, in process (no privileges): N real IPs of one
// /16 pod subnet mapped the way the daemon maps them — the allocator built
// from a routing plan by the connector's own factory (vnatTableForPlan), the
// MappingRegistry on top, each mapping made by the DNS answer path
// (registry.toVirtual, then noteName with the pod's cluster name) — then every
// virtual IP looked up back (toReal, what each new flow does) and the list the
// VNAT view receives built and serialised.
//
// Baseline, in the same process and rounds, interleaved: the simplest string
// table that can do both directions, a pair of Map<string,string> (real →
// virtual, virtual → real) fed the same IPs and asked the same lookups, and
// its entries serialised as {realIp, virtualIp}.
//
// Memory is retained heap plus ArrayBuffer bytes (the allocator's reverse
// index is a Uint32Array, outside the JS heap) after full collections, so
// the measurement runs in a child started with --expose-gc: a heap of its
// own, with nothing else allocating.
import { execFile } from 'node:child_process';
import { formatIpv4, parseIpv4 } from '../../daemon/net/ipv4';
import { planRouting } from '../../daemon/routing/planRouting';
import { MappingRegistry } from '../../daemon/session/mappingRegistry';
import { vnatTableForPlan } from '../../daemon/session/clusterConnector';

export interface VnatTableRow { name: string; baseline: number; measured: number; ratio: number; unit: string }

/** argv[2] of the bench bundle when it runs as the measuring child. */
export const VNAT_WORKER_FLAG = '--vnat-table-worker';

/** The lab's subnets: 65,536 pod IPs need a /16 virtual range, which a /15 virtual subnet gives each of the two. */
const SERVICE_CIDR = '10.130.0.0/16';
const POD_CIDR = '10.132.0.0/16';
export const VNAT_BENCH_VIRTUAL_SUBNET = '246.0.0.0/15';

interface Sample {
  allocNs: number; lookupNs: number; bytes: number;
  listMs: number; jsonMs: number; jsonBytes: number;
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const nowNs = () => process.hrtime.bigint();
const since = (t0: bigint) => Number(process.hrtime.bigint() - t0);

/** Starts the measuring child and turns its samples into rows. */
export function benchVnatTable(opts: { mappings: number; runs: number; log: (l: string) => void }): Promise<VnatTableRow[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', process.argv[1]!, VNAT_WORKER_FLAG, String(opts.mappings), String(opts.runs)],
      { encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        if (err) { reject(new Error(`vnat table worker: ${stderr || err.message}`)); return; }
        const { base, vnat, info } = JSON.parse(stdout) as { base: Sample[]; vnat: Sample[]; info: string };
        opts.log(info);
        resolve(toRows(opts.mappings, base, vnat));
      });
  });
}

function toRows(n: number, base: Sample[], vnat: Sample[]): VnatTableRow[] {
  const m = (xs: Sample[], k: keyof Sample) => median(xs.map((x) => x[k]));
  const n0 = n.toLocaleString('en-US');
  const row = (name: string, k: keyof Sample, unit: string, scale: number, higherIsWorse: 'time' | 'size') => {
    const b = m(base, k) * scale, v = m(vnat, k) * scale;
    return higherIsWorse === 'time'
      ? { name: `${name} (ratio: base/vnat)`, baseline: b, measured: v, ratio: b / v, unit }
      : { name: `${name} (ratio: vnat/base)`, baseline: b, measured: v, ratio: v / b, unit };
  };
  return [
    row(`${n0} mappings: allocation per mapping, DNS answer path vs Map<string,string> pair`, 'allocNs', 'ns', 1, 'time'),
    row(`${n0} mappings: toReal per lookup vs Map.get`, 'lookupNs', 'ns', 1, 'time'),
    row(`${n0} mappings: bytes per mapping (heap + ArrayBuffers) vs Map pair`, 'bytes', 'B', 1 / n, 'size'),
    row(`${n0} mappings: list() for the VNAT view vs pair entries`, 'listMs', 'ms', 1, 'time'),
    row(`${n0} mappings: JSON.stringify of the list vs pair entries`, 'jsonMs', 'ms', 1, 'time'),
    row(`${n0} mappings: list JSON size vs {realIp,virtualIp} entries`, 'jsonBytes', 'MiB', 1 / (1 << 20), 'size'),
  ];
}

// ------------------------------------------------------------------ the child

/** Bytes the process keeps after full collections: JS heap plus ArrayBuffer backing stores. */
function retained(gc: () => void): number {
  for (let i = 0; i < 3; i++) gc();
  const u = process.memoryUsage();
  return u.heapUsed + u.arrayBuffers;
}

/** The pair-of-Maps table: what the same job costs with nothing but string Maps. */
class MapPair {
  readonly byReal = new Map<string, string>();
  readonly byVirtual = new Map<string, string>();
  private next = 0;
  constructor(private readonly virtualNetwork: number) {}
  toVirtual(realIp: string): string {
    const known = this.byReal.get(realIp);
    if (known !== undefined) return known;
    const virtualIp = formatIpv4(this.virtualNetwork + this.next++);
    this.byReal.set(realIp, virtualIp);
    this.byVirtual.set(virtualIp, realIp);
    return virtualIp;
  }
}

/** One round of the baseline: same IPs, same names built (and dropped: a Map pair keeps none). */
function baselineRound(ips: string[], virtuals: string[], virtualNetwork: number, gc: () => void, passes: number): Sample {
  const before = retained(gc);
  let t0 = nowNs();
  const table = new MapPair(virtualNetwork);
  let sink = 0;
  for (let i = 0; i < ips.length; i++) {
    const ip = ips[i]!;
    const name = `${ip.replace(/\./g, '-')}.bench.pod.cluster.local`;
    sink += table.toVirtual(ip).length + name.length;
  }
  const allocNs = since(t0) / ips.length;
  const bytes = retained(gc) - before;
  t0 = nowNs();
  for (let p = 0; p < passes; p++) for (let i = 0; i < virtuals.length; i++) sink += table.byVirtual.get(virtuals[i]!)!.length;
  const lookupNs = since(t0) / (virtuals.length * passes);
  t0 = nowNs();
  const list = [...table.byReal].map(([realIp, virtualIp]) => ({ realIp, virtualIp }));
  const listMs = since(t0) / 1e6;
  t0 = nowNs();
  const json = JSON.stringify(list);
  const jsonMs = since(t0) / 1e6;
  if (sink === 0) throw new Error('nothing measured');
  return { allocNs, lookupNs, bytes, listMs, jsonMs, jsonBytes: Buffer.byteLength(json) };
}

/** One round through the daemon's own table, as LiveConnection wires it. */
function vnatRound(ips: string[], virtuals: string[], plan: ReturnType<typeof planRouting>, gc: () => void, passes: number): Sample {
  const before = retained(gc);
  let t0 = nowNs();
  let notifications = 0;
  const registry = new MappingRegistry(vnatTableForPlan(plan), () => { notifications++; });
  let sink = 0;
  for (let i = 0; i < ips.length; i++) {
    const ip = ips[i]!;
    // What localDns does for an A answer in a VNAT subnet: toVirtual, then onMapping → noteName.
    const name = `${ip.replace(/\./g, '-')}.bench.pod.cluster.local`;
    sink += registry.toVirtual(ip)!.length;
    registry.noteName(ip, name);
  }
  const allocNs = since(t0) / ips.length;
  const bytes = retained(gc) - before;
  t0 = nowNs();
  for (let p = 0; p < passes; p++) for (let i = 0; i < virtuals.length; i++) sink += registry.toReal(virtuals[i]!)!.length;
  const lookupNs = since(t0) / (virtuals.length * passes);
  t0 = nowNs();
  const list = registry.list();
  const listMs = since(t0) / 1e6;
  t0 = nowNs();
  const json = JSON.stringify(list);
  const jsonMs = since(t0) / 1e6;
  if (sink === 0 || notifications === 0) throw new Error('nothing measured');
  if (registry.size !== ips.length) throw new Error(`the registry holds ${registry.size} mappings, not ${ips.length}`);
  return { allocNs, lookupNs, bytes, listMs, jsonMs, jsonBytes: Buffer.byteLength(json) };
}

/** The child's body: prints {base, vnat, info} as JSON on stdout. */
export function vnatTableWorker(argv: string[]): void {
  const n = Number(argv[0]);
  const runs = Number(argv[1]);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const plan = planRouting({
    routes: [],
    clusterSubnets: [{ subnet: SERVICE_CIDR, origin: 'service' }, { subnet: POD_CIDR, origin: 'pods' }],
    flags: { vnat: ['service', 'pods'] },
    config: { virtualSubnet: VNAT_BENCH_VIRTUAL_SUBNET },
    platform: 'linux',
  });
  const pods = plan.subnets.find((s) => s.subnet === POD_CIDR);
  if (!pods?.virtualRange) throw new Error(`the plan gives ${POD_CIDR} no virtual range: ${JSON.stringify(plan)}`);
  const virtualNetwork = parseIpv4(pods.virtualRange.split('/')[0]!);
  const podNetwork = parseIpv4(POD_CIDR.split('/')[0]!);
  const capacity = 2 ** (32 - Number(pods.virtualRange.split('/')[1]));
  if (n > capacity) throw new Error(`${n} mappings do not fit the pod subnet's virtual range ${pods.virtualRange} (${capacity})`);
  // Pre-built and shared by both tables, so neither pays for or keeps them.
  const ips = Array.from({ length: n }, (_, i) => formatIpv4(podNetwork + i));
  const virtuals = Array.from({ length: n }, (_, i) => formatIpv4(virtualNetwork + i));
  const passes = 4;
  const base: Sample[] = [];
  const vnat: Sample[] = [];
  baselineRound(ips, virtuals, virtualNetwork, gc, 1); // warm-up: both code paths compiled before the first timed round
  vnatRound(ips, virtuals, plan, gc, 1);
  for (let r = 0; r < runs; r++) { // interleaved
    base.push(baselineRound(ips, virtuals, virtualNetwork, gc, passes));
    vnat.push(vnatRound(ips, virtuals, plan, gc, passes));
  }
  const info = `vnat table: ${n} pod IPs of ${POD_CIDR} → ${pods.virtualRange} (virtual subnet ${plan.virtualSubnet}), ${runs} interleaved rounds after a warm-up, node ${process.version}`;
  process.stdout.write(JSON.stringify({ base, vnat, info }));
}
