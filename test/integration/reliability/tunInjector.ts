// Writes fuzz packets into a live daemon's TUN device, run inside the
// workstation namespace (`ip netns exec ... node --import tsx tunInjector.ts JSON`).
//
// A second descriptor on the daemon's TUN cannot be opened while the daemon
// holds it, so the packets are *transmitted* on the device through an
// AF_PACKET socket: the kernel queues each one, byte for byte and unchecked,
// for the daemon's read(2), exactly like a packet a local program routed
// there. The device's tx_packets/tx_dropped counters tell how many reached
// the daemon's queue. Prints one JSON line.
import { readFileSync } from 'node:fs';
import { fuzzPacket, ipv4Bytes, seededRandom, type FuzzKind } from './packetFuzz';

export interface InjectTask {
  device: string;
  seed: number;
  /** Packets that must reach the device's queue. */
  accepted: number;
  /** Give up after this many attempts. */
  maxAttempts: number;
  sources: string[];
  destinations: string[];
  validPorts: number[];
  /** Only packets of this kind (e.g. valid SYNs nobody will complete). */
  only?: FuzzKind;
}

export interface InjectResult {
  attempts: number;
  sendErrors: number;
  firstSendError?: string;
  txPackets: number;
  txDropped: number;
  ms: number;
  kinds: Partial<Record<FuzzKind, number>>;
}

const AF_PACKET = 17;
const SOCK_DGRAM = 2;
const ETH_P_ALL = 0x0003;
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;

function counter(device: string, name: string): number {
  return Number(readFileSync(`/sys/class/net/${device}/statistics/${name}`, 'utf8').trim());
}

async function main(task: InjectTask): Promise<InjectResult> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const koffi = require('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  const socket = lib.func('int socket(int domain, int type, int protocol)');
  const sendto = lib.func('long sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)');
  const ifIndex = lib.func('unsigned int if_nametoindex(const char *name)');
  const strerror = lib.func('const char *strerror(int errnum)');
  const htons = (n: number) => ((n & 0xff) << 8) | (n >> 8);

  const fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL)) as number;
  if (fd < 0) throw new Error(`socket(AF_PACKET): ${strerror(koffi.errno())}`);
  const index = ifIndex(task.device) as number;
  if (!index) throw new Error(`no device ${task.device} in this namespace`);
  // struct sockaddr_ll { u16 family; be16 protocol; i32 ifindex; u16 hatype; u8 pkttype; u8 halen; u8 addr[8]; }
  const addrFor = (proto: number) => {
    const a = Buffer.alloc(20);
    a.writeUInt16LE(AF_PACKET, 0);
    a.writeUInt16BE(proto, 2);
    a.writeInt32LE(index, 4);
    return a;
  };
  const v4 = addrFor(ETH_P_IP);
  const v6 = addrFor(ETH_P_IPV6);

  const r = seededRandom(task.seed);
  const addresses = { sources: task.sources.map(ipv4Bytes), destinations: task.destinations.map(ipv4Bytes), validPorts: task.validPorts };
  const tx0 = counter(task.device, 'tx_packets');
  const drop0 = counter(task.device, 'tx_dropped');
  const kinds: Partial<Record<FuzzKind, number>> = {};
  let attempts = 0, sendErrors = 0, firstSendError: string | undefined;
  let lastDrops = drop0;
  const t0 = Date.now();
  while (attempts < task.maxAttempts) {
    if (attempts % 250 === 0 || task.accepted < 1000) {
      if (counter(task.device, 'tx_packets') - tx0 >= task.accepted) break;
      // The device queue holds 500 packets: when the daemon falls behind, wait for it instead of counting drops.
      const drops = counter(task.device, 'tx_dropped');
      if (drops > lastDrops) await new Promise((res) => setTimeout(res, 5));
      lastDrops = drops;
    }
    const p = fuzzPacket(r, addresses, task.only);
    kinds[p.kind] = (kinds[p.kind] ?? 0) + 1;
    attempts++;
    const addr = (p.bytes[0]! >> 4) === 6 ? v6 : v4;
    if ((sendto(fd, p.bytes, p.bytes.length, 0, addr, addr.length) as number) < 0) {
      sendErrors++;
      firstSendError ??= `${strerror(koffi.errno())} (${p.kind}, ${p.bytes.length} bytes)`;
    }
  }
  return {
    attempts, sendErrors, firstSendError, kinds, ms: Date.now() - t0,
    txPackets: counter(task.device, 'tx_packets') - tx0,
    txDropped: counter(task.device, 'tx_dropped') - drop0,
  };
}

main(JSON.parse(process.argv[2]!) as InjectTask).then(
  (res) => { process.stdout.write(`${JSON.stringify(res)}\n`); process.exit(0); },
  (e: Error) => { process.stdout.write(`${JSON.stringify({ error: e.stack ?? e.message })}\n`); process.exit(1); },
);
