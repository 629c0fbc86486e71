// The VNAT table at 65,536 mappings through the connected daemon in the lab:
// every IP of the pod subnet asked once by its CoreDNS pod name
// (a-b-c-d.<ns>.pod.<domain>, answered for any IP as CoreDNS's `pods
// insecure` does) at the daemon's resolver, so each answer allocates a
// virtual IP. Measured:
//   rate     mappings/s through the daemon, in chunks interleaved with the
//            same names asked of the cluster DNS from a pod (the baseline);
//            every other chunk with a JSON-RPC client connected and
//            following the table as VS Code does (vnat.subscribe, then
//            vnat.delta notifications);
//   pushes   the bytes those notifications carried per new mapping, against
//            one entry's bytes (what a delta should carry);
//   memory   the daemon's RSS after against before;
//   RPCs     status and vnat.list (the VNAT view's request) at the full table
//            against the same calls at the first 1,024 mappings, per entry
//            for the list; the list's payload per entry likewise.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { openDaemonSocket } from '../../client/daemon/daemonClient';
import { formatIpv4, parseIpv4 } from '../../daemon/net/ipv4';
import { Methods, Notifications, type DaemonStatus, type VnatMapping } from '../../daemon/protocol/rpc';
import { run, SCALE_CLIENT, usage } from './labScale';

export interface LabVnatRow { name: string; baseline: number; measured: number; ratio: number; unit: string }

interface DnsRun { qps: number; p50: number; p99: number; failed: number; distinct: number }

/** A JSON-RPC client that counts what the daemon pushes to it. */
class RpcProbe {
  bytes = 0;
  vnatNotifications = 0;
  private constructor(private readonly socket: Socket, private readonly rpc: MessageConnection) {}

  /** `follow`: subscribe to deltas as VS Code does; the snapshot it answers is not counted as pushed. */
  static async open(socketPath: string, follow = false): Promise<RpcProbe> {
    const socket = await openDaemonSocket(socketPath);
    const rpc = createMessageConnection(new StreamMessageReader(socket), new StreamMessageWriter(socket));
    const probe = new RpcProbe(socket, rpc);
    socket.on('data', (d: Buffer) => { probe.bytes += d.length; });
    rpc.onNotification(Notifications.vnatChanged, () => { probe.vnatNotifications++; });
    rpc.onNotification(Notifications.vnatDelta, () => { probe.vnatNotifications++; });
    rpc.onNotification(Notifications.statusChanged, () => undefined);
    rpc.listen();
    if (follow) {
      await rpc.sendRequest(Methods.vnatSubscribe, { mode: 'delta' });
      probe.bytes = 0;
      probe.vnatNotifications = 0;
    }
    return probe;
  }

  /** Wall time (ms) and bytes received while the request was out (nothing else runs meanwhile). */
  async timed<R>(call: (rpc: MessageConnection) => Promise<R>): Promise<{ ms: number; bytes: number; result: R }> {
    const b0 = this.bytes;
    const t0 = process.hrtime.bigint();
    const result = await call(this.rpc);
    return { ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes: this.bytes - b0, result };
  }

  close(): void {
    this.rpc.dispose();
    this.socket.destroy();
  }
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function benchLabVnat(opts: {
  dir: string; workstationNetns: string; podNetns: string; clusterDns: string; daemonPid: number;
  podCidr: string; namespace: string; clusterDomain: string; socketPath: string;
  /** Runs `tpv ARGS` in the workstation namespace with the bench's daemon environment. */
  tpv: (args: string[]) => Promise<string>;
  mappings: number; chunks: number; runs: number; log: (l: string) => void;
}): Promise<LabVnatRow[]> {
  const { log } = opts;
  const script = join(opts.dir, 'vnat-client.js');
  writeFileSync(script, SCALE_CLIENT);
  const resolver = readFileSync(`/etc/netns/${opts.workstationNetns}/resolv.conf`, 'utf8').match(/^nameserver\s+(\S+)/m)?.[1];
  if (!resolver) throw new Error(`no nameserver in /etc/netns/${opts.workstationNetns}/resolv.conf`);
  const [podBase, podPrefix] = opts.podCidr.split('/');
  const first = parseIpv4(podBase!);

  // The plan must give the pod subnet room for every mapping asked for; say what it gave.
  const before: DaemonStatus = JSON.parse(await opts.tpv(['status', '--json'])) as DaemonStatus;
  const podEntry = before.connection.plan?.subnets.find((s) => s.subnet === opts.podCidr);
  if (!podEntry?.virtualRange) throw new Error(`the daemon's plan has no virtual range for ${opts.podCidr}: ${JSON.stringify(before.connection.plan)}`);
  const capacity = Math.min(2 ** (32 - Number(podPrefix)), 2 ** (32 - Number(podEntry.virtualRange.split('/')[1])));
  const total = Math.min(opts.mappings, capacity);
  log(`vnat: ${opts.podCidr} (${podEntry.resolution}) → ${podEntry.virtualRange} of ${before.connection.plan!.virtualSubnet}: room for ${capacity}; asking ${total} pod names (${before.vnatMappingCount} mappings already)`);
  const suffix = `${opts.namespace}.pod.${opts.clusterDomain}`;
  const ask = (netns: string, server: string, offset: number, count: number) =>
    run('ip', ['netns', 'exec', netns, process.execPath, script, 'pods', server, formatIpv4(first + offset), String(count), '64', suffix]).then((o) => JSON.parse(o) as DnsRun);

  const rssBefore = usage(opts.daemonPid).rssMiB;
  // A small table first: the RPCs' reference point.
  const warm = Math.min(1024, total);
  const w = await ask(opts.workstationNetns, resolver, 0, warm);
  if (w.failed) log(`vnat warm-up: ${w.failed} of ${warm} failed`);
  await sleep(500);
  const rpcAt = async (runs: number) => {
    const probe = await RpcProbe.open(opts.socketPath);
    try {
      await sleep(300); // a vnat.changed due from before the probe connected has gone out
      const status: number[] = [];
      const list: Array<{ ms: number; bytes: number; entries: number; pod: number }> = [];
      for (let i = 0; i < runs; i++) {
        status.push((await probe.timed((rpc) => rpc.sendRequest(Methods.status))).ms);
        const l = await probe.timed((rpc) => rpc.sendRequest(Methods.vnatList));
        const inPods = (l.result as VnatMapping[]).filter((m) => m.subnet === opts.podCidr).length;
        list.push({ ms: l.ms, bytes: l.bytes, entries: l.result.length, pod: inPods });
      }
      const ms = median(list.map((x) => x.ms));
      return { statusMs: median(status), listMs: ms, listBytes: median(list.map((x) => x.bytes)), entries: list[0]!.entries, pod: list[0]!.pod };
    } finally {
      probe.close();
    }
  };
  const small = await rpcAt(opts.runs);

  // The rest in chunks, daemon and cluster DNS interleaved; a client connected in every other chunk.
  const rest = total - warm;
  const size = Math.ceil(rest / opts.chunks);
  const acc = {
    attached: { daemonS: 0, clusterS: 0, names: 0, pushed: 0, notifications: 0 },
    alone: { daemonS: 0, clusterS: 0, names: 0, pushed: 0, notifications: 0 },
  };
  let failed = 0, distinct = w.distinct;
  for (let c = 0, offset = warm; offset < total; c++, offset += size) {
    const count = Math.min(size, total - offset);
    const attached = c % 2 === 0;
    const probe = attached ? await RpcProbe.open(opts.socketPath, true) : undefined;
    const d = await ask(opts.workstationNetns, resolver, offset, count);
    await sleep(400); // the last coalesced vnat.delta of the chunk (250 ms) arrives
    probe?.close();
    const k = await ask(opts.podNetns, opts.clusterDns, offset, count);
    const a = attached ? acc.attached : acc.alone;
    a.daemonS += count / d.qps; a.clusterS += count / k.qps; a.names += count;
    if (probe) { a.pushed += probe.bytes; a.notifications += probe.vnatNotifications; }
    failed += d.failed; distinct += d.distinct;
    log(`vnat chunk ${c + 1}: ${count} names from ${formatIpv4(first + offset)}, daemon RSS ${usage(opts.daemonPid).rssMiB.toFixed(0)} MiB, ${attached ? `client connected (${probe!.vnatNotifications} vnat.delta, ${(probe!.bytes / (1 << 20)).toFixed(1)} MiB pushed)` : 'no client'}: ` +
      `daemon ${d.qps.toFixed(0)}/s (p99 ${d.p99.toFixed(1)} ms, ${d.failed} failed), cluster DNS ${k.qps.toFixed(0)}/s (${k.failed} failed)`);
  }
  await sleep(2000);
  const rssAfter = usage(opts.daemonPid).rssMiB;
  const after: DaemonStatus = JSON.parse(await opts.tpv(['status', '--json'])) as DaemonStatus;
  const big = await rpcAt(Math.max(3, Math.ceil(opts.runs / 2)));
  log(`vnat: tpv status vnatMappingCount = ${after.vnatMappingCount} (${big.pod} in ${opts.podCidr}, ${big.entries - big.pod} elsewhere); ` +
    `${distinct} distinct virtual IPs answered, ${failed} queries failed; daemon RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MiB; ` +
    `vnat.list ${big.listMs.toFixed(0)} ms, ${(big.listBytes / (1 << 20)).toFixed(1)} MiB; status ${big.statusMs.toFixed(1)} ms`);

  const n = total.toLocaleString('en-US');
  const rows: LabVnatRow[] = [];
  for (const [what, a] of [['a client connected (as VS Code)', acc.attached], ['no client connected', acc.alone]] as const) {
    if (a.names === 0) continue;
    const b = a.names / a.clusterS, m = a.names / a.daemonS;
    rows.push({ name: `${n} pod names, ${what}: mappings/s through the daemon vs cluster DNS from a pod`, baseline: b, measured: m, ratio: m / b, unit: 'q/s' });
  }
  if (acc.attached.names > 0) {
    const entry = big.listBytes / big.entries;
    const perMapping = acc.attached.pushed / acc.attached.names;
    rows.push({ name: `vnat.delta while allocating (${acc.attached.notifications} pushes): bytes per new mapping vs one entry's JSON (ratio: pushed/entry)`, baseline: entry, measured: perMapping, ratio: perMapping / entry, unit: 'B' });
  }
  rows.push({ name: `daemon RSS after ${n} pod names vs before`, baseline: rssBefore, measured: rssAfter, ratio: rssAfter / rssBefore, unit: 'MiB' });
  rows.push({ name: `status RPC at ${big.entries} mappings vs at ${small.entries} (ratio: small/big)`, baseline: small.statusMs, measured: big.statusMs, ratio: small.statusMs / big.statusMs, unit: 'ms' });
  const perEntryUs = (x: typeof small) => (x.listMs * 1000) / Math.max(1, x.entries);
  rows.push({ name: `vnat.list RPC (${big.listMs.toFixed(0)} ms at ${big.entries}): per entry vs at ${small.entries} (ratio: small/big)`, baseline: perEntryUs(small), measured: perEntryUs(big), ratio: perEntryUs(small) / perEntryUs(big), unit: 'µs' });
  const perEntryB = (x: typeof small) => x.listBytes / Math.max(1, x.entries);
  rows.push({ name: `vnat.list payload (${(big.listBytes / (1 << 20)).toFixed(1)} MiB at ${big.entries}): per entry vs at ${small.entries} (ratio: big/small)`, baseline: perEntryB(small), measured: perEntryB(big), ratio: perEntryB(big) / perEntryB(small), unit: 'B' });
  rows.push({ name: `mappings in ${opts.podCidr} (vnat.list; tpv status: ${after.vnatMappingCount} in all) vs distinct answers`, baseline: distinct, measured: big.pod, ratio: big.pod / distinct, unit: 'maps' });
  return rows;
}
