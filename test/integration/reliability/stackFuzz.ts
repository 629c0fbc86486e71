// The daemon's packet handling, fuzzed in process: the real SystemStack (main
// thread: parsing, admission, resets, ICMP, UDP) behind a TUN stand-in that
// hands it batches exactly as the reader worker does, plus the worker's NAT
// rewrite (`translateTcpPacket`) on every packet as read. Checks that
// nothing throws, that nothing is written outside the packet, and that every
// packet the stack writes back is well formed.
import { finishChecksum, pseudoHeaderSum, sumWords } from '../../../daemon/packet/checksum';
import { newIpPacketView, parseIpPacket } from '../../../daemon/packet/ipPacket';
import { NatTable } from '../../../daemon/stack/natTable';
import type { FlowEndpoints, TcpVerdict } from '../../../daemon/stack/flowTypes';
import { SystemStack } from '../../../daemon/stack/systemStack';
import { NAT_DROP, NAT_FORWARD, translateTcpPacket } from '../../../daemon/stack/tcpNatRewrite';
import type { PacketBatch, TunReaderOptions } from '../../../daemon/tun/tunReader';
import type { TunDevice } from '../../../daemon/tun/tunDevice';
import { FUZZ_KINDS, fuzzPacket, ipv4Bytes, seededRandom, type FuzzAddresses, type FuzzKind } from './packetFuzz';

export interface StackFuzzResult {
  packets: number;
  kinds: Record<FuzzKind, number>;
  /** Exceptions out of the stack's packet handler (the reader would log "a bug" and skip the batch). */
  handlerErrors: string[];
  /** Other errors the stack reported (admission failures are expected: some are injected). */
  otherErrors: number;
  written: number;
  /** Packets the stack wrote that do not parse or whose checksums are wrong. */
  malformedWrites: string[];
  admitted: number;
  abandoned: number;
  udpDelivered: number;
  nat: { forwarded: number; dropped: number; toMain: number; outOfBounds: number; threw: string[] };
}

const TUN_IP = '127.0.0.1';
const FAKE_IP = '127.0.0.2';
const CANARY = 0xa5;

/** Whether the IPv4 header and transport checksums hold, over the packet as its header bounds it; undefined when it does not parse. */
function checksumsValid(pkt: Uint8Array): boolean | undefined {
  const v = newIpPacketView();
  if (!parseIpPacket(pkt, 0, pkt.length, v)) return undefined;
  if (v.version !== 4) return true;
  const ihl = (pkt[0]! & 0x0f) * 4;
  if (finishChecksum(sumWords(pkt, 0, ihl)) !== 0) return false;
  const proto = v.protocol;
  if (v.fragment || (proto !== 6 && proto !== 17 && proto !== 1)) return true;
  const pseudo = proto === 1 ? 0 : pseudoHeaderSum(pkt, 12, 16, 4, proto, v.l4Length);
  return finishChecksum(sumWords(pkt, ihl, v.length, pseudo)) === 0;
}

/** What is wrong with a packet the stack built itself, if anything. */
function builtPacketProblem(pkt: Uint8Array): string | undefined {
  const v = newIpPacketView();
  if (!parseIpPacket(pkt, 0, pkt.length, v)) return 'does not parse';
  if (v.length !== pkt.length) return `IP length ${v.length} but ${pkt.length} bytes written`;
  return checksumsValid(pkt) ? undefined : 'bad checksum';
}

/** Sets both checksums of a parseable IPv4 TCP packet right. */
function fixChecksums(p: Uint8Array): void {
  const v = newIpPacketView();
  if (!parseIpPacket(p, 0, p.length, v) || v.version !== 4 || v.protocol !== 6 || v.fragment || v.l4Length < 18) return;
  const ihl = (p[0]! & 0x0f) * 4;
  p[10] = 0; p[11] = 0;
  const h = finishChecksum(sumWords(p, 0, ihl));
  p[10] = h >> 8; p[11] = h & 0xff;
  p[ihl + 16] = 0; p[ihl + 17] = 0;
  const t = finishChecksum(sumWords(p, ihl, v.length, pseudoHeaderSum(p, 12, 16, 4, 6, v.l4Length)));
  p[ihl + 16] = t >> 8; p[ihl + 17] = t & 0xff;
}

/**
 * Rewrites the addresses and ports of an IPv4 TCP packet (keeping whatever else is broken
 * about it) so that it belongs to a NAT entry, or to a listener reply for a NAT port that
 * may or may not exist: without this, random packets would almost never reach the rewrite.
 */
function aimAtNatEntry(p: Uint8Array, r: () => number, table: NatTable, listenPort: number): void {
  if (p.length < 20 || (p[0]! >> 4) !== 4 || p[9] !== 6) return;
  const l4 = (p[0]! & 0x0f) * 4;
  if (p.length < l4 + 4) return;
  const fam = table.v4!;
  const port = 1 + Math.floor(r() * 2500);
  if (r() < 0.5) {
    p.set(fam.tunIp, 12); p.set(fam.fakeIp, 16);
    p[l4] = listenPort >> 8; p[l4 + 1] = listenPort & 0xff;
    p[l4 + 2] = port >> 8; p[l4 + 3] = port & 0xff;
  } else if (table.addressLength[port]) {
    const base = port * 32;
    p.set(table.addresses.subarray(base, base + 4), 12); p.set(table.addresses.subarray(base + 16, base + 20), 16);
    const cp = table.clientPort[port]!, op = table.originalPort[port]!;
    p[l4] = cp >> 8; p[l4 + 1] = cp & 0xff;
    p[l4 + 2] = op >> 8; p[l4 + 3] = op & 0xff;
  }
  if (r() < 0.7) fixChecksums(p);
}

export async function runStackFuzz(count: number, seed: number): Promise<StackFuzzResult> {
  const r = seededRandom(seed);
  const res: StackFuzzResult = {
    packets: 0, kinds: Object.fromEntries(FUZZ_KINDS.map((k) => [k, 0])) as Record<FuzzKind, number>,
    handlerErrors: [], otherErrors: 0, written: 0, malformedWrites: [], admitted: 0, abandoned: 0, udpDelivered: 0,
    nat: { forwarded: 0, dropped: 0, toMain: 0, outOfBounds: 0, threw: [] },
  };
  const tunIp = ipv4Bytes(TUN_IP);
  const ring = new Uint8Array(4 * 1024 * 1024);
  /** Ring offset of a packet → whether its checksums held when it went in. */
  const inputValid = new Map<number, boolean | undefined>();
  let reader: TunReaderOptions | undefined;
  const device = {
    name: 'fuzz0',
    mtu: 65535,
    startReader(opts: TunReaderOptions) {
      reader = opts;
      return { command() { /* the worker's copy of the NAT table is not simulated */ }, stats: () => ({}), stop: async () => undefined };
    },
    write(pkt: Uint8Array): boolean {
      res.written++;
      let problem: string | undefined;
      if (pkt.buffer === ring.buffer) {
        // Rewritten in place (NAT): RFC 1624 updates keep a right checksum right and a wrong one wrong.
        const before = inputValid.get(pkt.byteOffset);
        const after = checksumsValid(pkt);
        if (after === undefined) problem = 'a rewritten packet does not parse';
        else if (before !== undefined && before !== after) problem = `the rewrite turned a ${before ? 'right' : 'wrong'} checksum ${after ? 'right' : 'wrong'}`;
      } else if (pkt.length >= 20 && (pkt[0]! >> 4) === 4 && pkt[16] === tunIp[0] && pkt[17] === tunIp[1] && pkt[18] === tunIp[2] && pkt[19] === tunIp[3]) {
        // An admitted SYN, rewritten towards the listener: its checksum is the client's.
        if (!parseIpPacket(pkt, 0, pkt.length, newIpPacketView())) problem = 'a rewritten SYN does not parse';
      } else {
        problem = builtPacketProblem(pkt);
      }
      if (problem && res.malformedWrites.length < 10) res.malformedWrites.push(`${problem}: ${Buffer.from(pkt.subarray(0, 64)).toString('hex')}`);
      return true;
    },
    close: async () => undefined,
  } as unknown as TunDevice;

  let verdicts = 0;
  const stack = await SystemStack.start<number>({
    device,
    ipv4: { tunIp: TUN_IP, fakeIp: FAKE_IP },
    fastPathInWorker: false, // the main thread runs the NAT rewrite too: both halves see every packet
    acceptTimeoutMs: 20,
    lingerMs: 20,
    admitTcp: (flow: FlowEndpoints): TcpVerdict<number> | Promise<TcpVerdict<number>> => {
      const n = verdicts++;
      const v: TcpVerdict<number> = [{ action: 'accept', context: n } as const, { action: 'refuse' } as const, { action: 'unreachable' } as const, { action: 'drop' } as const][n % 4]!;
      if (v.action === 'accept') res.admitted++;
      if (n % 7 === 0) return Promise.reject(new Error(`injected admission failure for ${flow.dstIp}:${flow.dstPort}`));
      return n % 2 === 0 ? Promise.resolve(v) : v;
    },
    onTcpFlow: (socket) => socket.destroy(),
    onAbandoned: () => { res.abandoned++; },
    onUdp: (d) => {
      res.udpDelivered++;
      // Answer some, refuse some: the builders run on whatever the fuzz sent.
      if (res.udpDelivered % 3 === 0) stack.sendUdp({ srcIp: d.dstIp, srcPort: d.dstPort, dstIp: d.srcIp, dstPort: d.srcPort, payload: d.payload });
      else if (res.udpDelivered % 3 === 1) stack.refuseUdp(d);
    },
    onError: (e) => {
      if (/packet handling failed/.test(e.message)) { if (res.handlerErrors.length < 10) res.handlerErrors.push(e.message); }
      else res.otherErrors++;
    },
  });

  // The worker's NAT table, with entries for flows the fuzz hits (its sources and the first destinations).
  const listenPort = stack.listenPorts.v4!;
  const table = new NatTable({ tunIp, fakeIp: ipv4Bytes(FAKE_IP), listenPort }, null);
  const addresses: FuzzAddresses = {
    sources: [ipv4Bytes('198.18.0.1'), ipv4Bytes('10.1.2.3')],
    destinations: [ipv4Bytes('246.246.0.0'), ipv4Bytes('246.246.0.7'), tunIp, ipv4Bytes(FAKE_IP), ipv4Bytes('10.130.0.20')],
    validPorts: [80, 9000, 9001, 53, 0, listenPort],
  };
  for (let port = 1; port <= 2000; port++) table.insert(port, addresses.sources[0]!, 1024 + port * 31, addresses.destinations[port % 2]!, addresses.validPorts[port % 4]!);

  const scratch = new Uint8Array(65536 + 64);
  const batchSize = 256;
  try {
    for (let done = 0; done < count;) {
      let pos = 0;
      let n = 0;
      for (; n < batchSize && done + n < count; n++) {
        const p = fuzzPacket(r, addresses);
        res.kinds[p.kind]++;
        if (r() < 0.15) aimAtNatEntry(p.bytes, r, table, listenPort);
        // The worker's view: the packet as read, in a buffer with a canary behind it.
        scratch.set(p.bytes, 0);
        scratch.fill(CANARY, p.bytes.length, p.bytes.length + 64);
        try {
          const verdict = translateTcpPacket(table, scratch, 0, p.bytes.length);
          if (verdict === NAT_FORWARD) res.nat.forwarded++;
          else if (verdict === NAT_DROP) res.nat.dropped++;
          else res.nat.toMain++;
        } catch (e) {
          if (res.nat.threw.length < 10) res.nat.threw.push(`${(e as Error).message} on ${Buffer.from(p.bytes.subarray(0, 64)).toString('hex')}`);
        }
        for (let i = p.bytes.length; i < p.bytes.length + 64; i++) if (scratch[i] !== CANARY) { res.nat.outOfBounds++; break; }
        // The main thread's view: the same bytes as a ring record.
        new DataView(ring.buffer).setUint32(pos, p.bytes.length, true);
        ring.set(p.bytes, pos + 4);
        inputValid.set(pos + 4, checksumsValid(p.bytes));
        pos += 4 + ((p.bytes.length + 3) & ~3);
      }
      const batch: PacketBatch = { bytes: ring, start: 0, end: pos, count: n };
      try {
        reader!.onPackets(batch);
      } catch (e) {
        reader!.onHandlerError?.(e as Error);
      }
      // The ring space is reused as soon as a batch returns: anything the stack kept a view of is now garbage.
      ring.fill(0xee, 0, pos);
      inputValid.clear();
      done += n;
      res.packets = done;
      // Let admissions, accept timeouts and abandoned flows run between batches.
      if ((done / batchSize) % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    await stack.close();
  }
  return res;
}
