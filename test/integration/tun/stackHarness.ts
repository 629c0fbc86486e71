// Runs a SystemStack inside a network namespace for the TUN integration tests
// and the packet-path benchmark (a test process cannot enter a namespace, so
// it starts this script with `ip netns exec`). Configuration comes as one JSON
// argument; events go to stdout as JSON lines; "mark" / "stats" / "close" on stdin.
//
// Flows: destination port 81 is refused, 82 is answered "unreachable", every
// other port is echoed, or piped to 127.0.0.1:<pipeToPort> when one is given.
// UDP datagrams are answered with "echo:" + payload from the address they were sent to.
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { TunDevice } from '../../../daemon/tun/tunDevice';
import { SystemStack, type TcpVerdict } from '../../../daemon/stack/systemStack';

export interface HarnessConfig {
  device: string;
  mtu: number;
  tunIp4: string;
  fakeIp4: string;
  tunIp6?: string;
  fakeIp6?: string;
  routes: string[];
  pipeToPort?: number;
  fastPathInWorker?: boolean;
  reportFlows?: boolean;
}

export type HarnessEvent =
  | { event: 'ready'; device: string; listenPorts: { v4?: number; v6?: number }; loopbackProxyPort?: number }
  | { event: 'flow'; srcIp: string; srcPort: number; dstIp: string; dstPort: number }
  | { event: 'stats'; stats: Record<string, number> }
  | { event: 'error'; message: string }
  | { event: 'closed' };

const cfg = JSON.parse(process.argv[2]!) as HarnessConfig;
const emit = (e: HarnessEvent) => process.stdout.write(`${JSON.stringify(e)}\n`);
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

const device = TunDevice.open({ name: cfg.device, mtu: cfg.mtu });
ip('addr', 'add', `${cfg.tunIp4}/30`, 'dev', device.name);
if (cfg.tunIp6) ip('-6', 'addr', 'add', `${cfg.tunIp6}/126`, 'dev', device.name);
ip('link', 'set', device.name, 'up');
for (const r of cfg.routes) ip(r.includes(':') ? '-6' : '-4', 'route', 'add', r, 'dev', device.name);

/** What the daemon does with a flow, minus the tunnel: pipe it to a local server. */
function pipeTo(socket: net.Socket, port: number): void {
  const upstream = net.connect({ host: '127.0.0.1', port, noDelay: true });
  // pipe() carries each direction's end (half-close); errors tear down both.
  upstream.on('error', () => socket.destroy());
  socket.on('error', () => upstream.destroy());
  socket.pipe(upstream);
  upstream.pipe(socket);
}

/** The same piping behind a plain loopback listener: the benchmark's second baseline (no TUN, no NAT). */
async function loopbackProxy(port: number): Promise<number> {
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (s) => pipeTo(s, port));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

async function main(): Promise<void> {
  const stack: SystemStack = await SystemStack.start<undefined>({
    device,
    ipv4: { tunIp: cfg.tunIp4, fakeIp: cfg.fakeIp4 },
    ipv6: cfg.tunIp6 && cfg.fakeIp6 ? { tunIp: cfg.tunIp6, fakeIp: cfg.fakeIp6 } : undefined,
    fastPathInWorker: cfg.fastPathInWorker,
    admitTcp: (flow): TcpVerdict<undefined> =>
      flow.dstPort === 81 ? { action: 'refuse' } : flow.dstPort === 82 ? { action: 'unreachable' } : { action: 'accept', context: undefined },
    onTcpFlow: (socket, original) => {
      if (cfg.reportFlows !== false) emit({ event: 'flow', ...original });
      socket.on('error', () => socket.destroy());
      if (cfg.pipeToPort) pipeTo(socket, cfg.pipeToPort);
      else socket.pipe(socket);
    },
    onUdp: (d) => {
      stack.sendUdp({ srcIp: d.dstIp, srcPort: d.dstPort, dstIp: d.srcIp, dstPort: d.srcPort, payload: Buffer.concat([Buffer.from('echo:'), d.payload]) });
    },
    onError: (e) => emit({ event: 'error', message: e.message }),
    onFatal: (e) => emit({ event: 'error', message: `fatal: ${e.message}` }),
  });
  const loopbackProxyPort = cfg.pipeToPort ? await loopbackProxy(cfg.pipeToPort) : undefined;
  emit({ event: 'ready', device: device.name, listenPorts: stack.listenPorts, loopbackProxyPort });

  // Event-loop utilization since the last "mark": how busy the main thread was (the daemon's scarce resource).
  let mark = performance.eventLoopUtilization();
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'mark') mark = performance.eventLoopUtilization();
    if (line === 'stats') emit({ event: 'stats', stats: { ...stack.stats(), mainThreadBusy: performance.eventLoopUtilization(mark).utilization } });
    if (line === 'close') void stack.close().then(() => { emit({ event: 'closed' }); process.exit(0); });
  });
}

main().catch((e: Error) => { emit({ event: 'error', message: `harness failed: ${e.stack ?? e.message}` }); process.exit(1); });
