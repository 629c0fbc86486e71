// The "system stack": TCP to routed (cluster or virtual) addresses is
// terminated by the kernel's own TCP stack, not by one of ours.
//
//   client A:a -> V:v            (read from the TUN)
//   rewritten fake:n -> tun:L    (written back; the kernel delivers it to our listener)
//   listener reply tun:L -> fake:n   (read from the TUN: fake routes into the device)
//   rewritten V:v -> A:a         (written back; the client sees V answering)
//
// n, the NAT port, is the key of the flow: the accepted socket's remote port.
// Known flows are rewritten in the TUN reader worker (see tcpNatRewrite.ts),
// so the main thread sees only SYNs, UDP, ICMP and strays.
//
// A new connection is admitted or refused *before* its handshake completes:
// the SYN waits here until the daemon's `admitTcp` answers, so a refused port
// in the cluster is a refused connect() locally (RST to the SYN), fast —
// resetting an already accepted socket would only give ECONNRESET after the
// client believed it was connected.
//
// ICMP echo to routed addresses is dropped: answering locally would claim that
// the cluster address is reachable before anyone has checked, and the relay
// cannot forward ICMP without privileges in the cluster. IPv4 fragments and
// IPv6 extension headers are dropped (with a TUN MTU of 65535 the kernel sends
// none for TCP or for UDP datagrams up to 64 KiB).
import net from 'node:net';
import { bytesEqual, formatIpAddress, parseIpAddress } from '../packet/ipAddress';
import { IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_RST, TCP_SYN, newIpPacketView, parseIpPacket, readU16, readU32, type IpPacketView } from '../packet/ipPacket';
import { buildIcmpUnreachableFor, buildTcpResetFor, buildUdpPacket } from '../packet/packetBuilders';
import type { TunDevice } from '../tun/tunDevice';
import { forEachPacket, type FastPathFamily, type PacketBatch, type TunReader, type TunReaderOptions, type TunReaderStats } from '../tun/tunReader';
import type { FlowEndpoints, TcpVerdict, UdpDatagram } from './flowTypes';
import { NatPortAllocator } from './natPortAllocator';
import { NatTable } from './natTable';
import { NAT_DROP, NAT_FORWARD, rewriteClientPacket, translateTcpPacket } from './tcpNatRewrite';

export type { FlowEndpoints, TcpVerdict, UdpDatagram } from './flowTypes';

export interface StackFamilyAddresses {
  /** An address of the TUN device: the local listener binds here. */
  tunIp: string;
  /** Source of rewritten client packets. It must route into the device (e.g. tunIp/30 holds both). */
  fakeIp: string;
}

export interface SystemStackOptions<C> {
  /** The stack starts its reader and closes it (removing the device) on close(). */
  device: TunDevice;
  ipv4?: StackFamilyAddresses;
  ipv6?: StackFamilyAddresses;
  /** Decides each new TCP connection before its handshake completes. Default: accept with context undefined. */
  admitTcp?: (flow: FlowEndpoints) => TcpVerdict<C> | Promise<TcpVerdict<C>>;
  /** An admitted connection, accepted by the kernel; `original` is what the client dialed. */
  onTcpFlow: (socket: net.Socket, original: FlowEndpoints, context: C) => void;
  /**
   * An admitted connection that never reached onTcpFlow (the client gave up on its
   * handshake, the NAT was full, or the stack closed): release what its context holds.
   */
  onAbandoned?: (original: FlowEndpoints, context: C) => void;
  /** A UDP datagram to a routed address. Default: answer ICMP port unreachable. */
  onUdp?: (datagram: UdpDatagram) => void;
  /** Non-fatal trouble (NAT table full, admission errors); the stack keeps running. */
  onError?: (err: Error) => void;
  /** The reader died: the data path is gone and the daemon should disconnect. */
  onFatal?: (err: Error) => void;
  /** Open TCP flows at most (each holds a NAT port; default 60000, at most 65535). */
  maxFlows?: number;
  /** An admitted flow the kernel never hands to accept() is released after this (default 20 s). */
  acceptTimeoutMs?: number;
  /** After its socket closes, a flow's NAT entry stays this long for the last FIN/ACKs (default 5 s). */
  lingerMs?: number;
  /** Destroy flows idle this long (default 0: never; the kernel's keepalive rules apply). */
  idleTimeoutMs?: number;
  /** false: the main thread rewrites every TCP packet instead of the reader worker (for measurements). */
  fastPathInWorker?: boolean;
  reader?: Pick<TunReaderOptions, 'ringSize'>;
}

export interface SystemStackStats extends TunReaderStats {
  activeFlows: number;
  pendingAdmissions: number;
  refused: number;
  udpIn: number;
  udpOut: number;
  resetsSent: number;
  mainForwarded: number;
  dropped: number;
}

interface Flow<C> {
  natPort: number;
  key: string;
  original: FlowEndpoints;
  context: C;
  socket: net.Socket | undefined;
  timer: NodeJS.Timeout | undefined;
  /** The client's initial sequence number: tells a retransmitted SYN from a new connection on the same four-tuple. */
  synSeq: number;
}

interface FamilyState {
  tunIp: Uint8Array;
  fakeIp: Uint8Array;
  fakeIpText: string;
  server: net.Server;
  listenPort: number;
}

async function listen(host: string): Promise<net.Server> {
  // Half-open: a client that shuts down its sending side still reads the answer,
  // so the flow handler must see 'end' without our side closing on its own.
  const server = net.createServer({ noDelay: true, allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`cannot listen on ${host} for the TCP NAT (is the address on the TUN device yet?): ${e.message}`)));
    server.listen({ host, port: 0, backlog: 4096 }, resolve);
  });
  return server;
}

export class SystemStack<C = undefined> {
  private readonly table: NatTable;
  private readonly ports: NatPortAllocator;
  private readonly flowsByPort = new Map<number, Flow<C>>();
  private readonly flowsByKey = new Map<string, Flow<C>>();
  private readonly pending = new Set<string>();
  private readonly view = newIpPacketView();
  private reader!: TunReader;
  private closed = false;
  private lastFullError = 0;
  private readonly counters = { refused: 0, udpIn: 0, udpOut: 0, resetsSent: 0, mainForwarded: 0, dropped: 0 };
  private readonly onBatch = (batch: PacketBatch) => forEachPacket(batch, this.onPacket);

  private constructor(private readonly opts: SystemStackOptions<C>, private readonly v4: FamilyState | null, private readonly v6: FamilyState | null) {
    const fam = (f: FamilyState | null): FastPathFamily | null => f && { tunIp: f.tunIp, fakeIp: f.fakeIp, listenPort: f.listenPort };
    this.table = new NatTable(fam(v4), fam(v6));
    this.ports = new NatPortAllocator(opts.maxFlows ?? 60000);
  }

  /** Listens on the TUN addresses (which must already be configured) and starts reading the device. */
  static async start<C = undefined>(opts: SystemStackOptions<C>): Promise<SystemStack<C>> {
    if (!opts.ipv4 && !opts.ipv6) throw new Error('the system stack needs IPv4 and/or IPv6 TUN addresses');
    const family = async (a: StackFamilyAddresses | undefined, len: 4 | 16): Promise<FamilyState | null> => {
      if (!a) return null;
      const tunIp = parseIpAddress(a.tunIp);
      const fakeIp = parseIpAddress(a.fakeIp);
      if (tunIp.length !== len || fakeIp.length !== len) throw new Error(`ipv${len === 4 ? 4 : 6} tunIp and fakeIp must both be IPv${len === 4 ? 4 : 6} addresses`);
      if (bytesEqual(tunIp, 0, fakeIp, 0, len)) throw new Error('tunIp and fakeIp must differ');
      const server = await listen(a.tunIp);
      return { tunIp, fakeIp, fakeIpText: formatIpAddress(fakeIp, 0, len), server, listenPort: (server.address() as net.AddressInfo).port };
    };
    const v4 = await family(opts.ipv4, 4);
    let v6: FamilyState | null;
    try {
      v6 = await family(opts.ipv6, 16);
    } catch (e) {
      v4?.server.close();
      throw e;
    }
    const stack = new SystemStack<C>(opts, v4, v6);
    for (const f of [v4, v6]) f?.server.on('connection', (s) => stack.onAccept(s, f));
    const inWorker = opts.fastPathInWorker ?? true;
    stack.reader = opts.device.startReader({
      ...opts.reader,
      fastPath: inWorker ? { v4: stack.table.v4, v6: stack.table.v6 } : null,
      onPackets: stack.onBatch,
      onFatal: (e) => opts.onFatal?.(e),
      onHandlerError: (e) => opts.onError?.(new Error(`packet handling failed (a bug; the batch was skipped): ${e.stack ?? e.message}`)),
    });
    return stack;
  }

  get device(): TunDevice { return this.opts.device; }

  /** Where the kernel side listens, per family (for diagnostics and tests). */
  get listenPorts(): { v4?: number; v6?: number } {
    return { v4: this.v4?.listenPort, v6: this.v6?.listenPort };
  }

  // ------------------------------------------------------------ packets from the TUN

  private readonly onPacket = (buf: Uint8Array, off: number, len: number): void => {
    if (this.closed) return;
    const p = this.view;
    if (!parseIpPacket(buf, off, len, p) || p.fragment) { this.counters.dropped++; return; }
    if (p.protocol === IPPROTO_TCP && p.l4Length >= 20) this.onTcp(p);
    else if (p.protocol === IPPROTO_UDP && p.l4Length >= 8) this.onUdpPacket(p);
    else this.counters.dropped++; // ICMP echo, IPv6 extension headers, router solicitations...
  };

  private onTcp(p: IpPacketView): void {
    const { buf, offset, length, l4Offset } = p;
    if (!this.family(p.addressLength)) { this.counters.dropped++; return; }
    if (this.opts.fastPathInWorker === false) {
      const verdict = translateTcpPacket(this.table, buf, offset, length);
      if (verdict === NAT_FORWARD) { this.counters.mainForwarded++; this.opts.device.write(buf.subarray(offset, offset + length)); return; }
      if (verdict === NAT_DROP) { this.counters.dropped++; return; }
    }
    const flags = buf[l4Offset + 13]!;
    if ((flags & (TCP_SYN | TCP_ACK)) !== TCP_SYN) {
      // A stray of a flow we do not know (released, or from before we started): a closed port's answer.
      this.sendReset(p);
      return;
    }
    const original = this.endpoints(p);
    const key = `${original.srcIp}|${original.srcPort}|${original.dstIp}|${original.dstPort}`;
    const known = this.flowsByKey.get(key);
    if (known) {
      if (known.synSeq === readU32(buf, l4Offset + 4)) {
        // The client retransmitted its SYN after we admitted it: pass it on again.
        rewriteClientPacket(this.table, known.natPort, buf, offset);
        this.opts.device.write(buf.subarray(offset, offset + length));
        return;
      }
      // Same four-tuple, another initial sequence number: a new connection. A kernel
      // reuses a source port at once when the other side closed first, while our flow
      // still lingers; on the old NAT port this SYN would land on the old, accepted
      // socket. The old connection is over on the client's side: release it.
      this.release(known);
    }
    if (this.pending.has(key)) return; // retransmission while the daemon decides
    if (this.ports.size + this.pending.size >= this.ports.capacity) {
      this.reportFull();
      this.sendReset(p);
      return;
    }
    this.pending.add(key);
    const syn = buf.slice(offset, offset + length); // the ring space is reused once this batch returns
    let verdict: TcpVerdict<C> | Promise<TcpVerdict<C>>;
    try {
      verdict = this.opts.admitTcp ? this.opts.admitTcp(original) : { action: 'accept', context: undefined as C };
    } catch (e) {
      verdict = Promise.reject(e);
    }
    if (verdict instanceof Promise) {
      verdict.then((v) => this.decide(key, original, syn, v), (e: unknown) => {
        this.opts.onError?.(new Error(`admitting ${describe(original)} failed, refusing it: ${(e as Error)?.message ?? String(e)}`));
        this.decide(key, original, syn, { action: 'refuse' });
      });
    } else {
      this.decide(key, original, syn, verdict);
    }
  }

  private decide(key: string, original: FlowEndpoints, syn: Uint8Array, verdict: TcpVerdict<C>): void {
    this.pending.delete(key);
    if (this.closed) {
      if (verdict.action === 'accept') this.abandon(original, verdict.context);
      return;
    }
    const p = this.view;
    parseIpPacket(syn, 0, syn.length, p);
    if (verdict.action === 'refuse') { this.counters.refused++; this.sendReset(p); return; }
    if (verdict.action === 'unreachable') { this.counters.refused++; this.opts.device.write(buildIcmpUnreachableFor(p, 'host')); return; }
    if (verdict.action === 'drop') return;
    const natPort = this.ports.allocate();
    if (natPort === 0) { this.reportFull(); this.sendReset(p); this.abandon(original, verdict.context); return; }
    const client = syn.slice(p.srcOffset, p.srcOffset + p.addressLength);
    const dst = syn.slice(p.dstOffset, p.dstOffset + p.addressLength);
    const clientPort = readU16(syn, p.l4Offset);
    const originalPort = readU16(syn, p.l4Offset + 2);
    this.table.insert(natPort, client, clientPort, dst, originalPort);
    // The worker learns the entry before the kernel can answer the SYN written below.
    if (this.opts.fastPathInWorker !== false) this.reader.command({ type: 'nat-insert', natPort, client, clientPort, original: dst, originalPort });
    const flow: Flow<C> = { natPort, key, original, context: verdict.context, socket: undefined, timer: undefined, synSeq: readU32(syn, p.l4Offset + 4) };
    flow.timer = setTimeout(() => this.release(flow), this.opts.acceptTimeoutMs ?? 20000);
    this.flowsByPort.set(natPort, flow);
    this.flowsByKey.set(key, flow);
    rewriteClientPacket(this.table, natPort, syn, 0);
    this.opts.device.write(syn);
  }

  private onAccept(socket: net.Socket, fam: FamilyState): void {
    const flow = socket.remoteAddress === fam.fakeIpText ? this.flowsByPort.get(socket.remotePort ?? 0) : undefined;
    if (!flow || flow.socket || this.closed) { socket.destroy(); return; }
    clearTimeout(flow.timer);
    flow.timer = undefined;
    flow.socket = socket;
    socket.once('close', () => { flow.timer = setTimeout(() => this.release(flow), this.opts.lingerMs ?? 5000); });
    if (this.opts.idleTimeoutMs) socket.setTimeout(this.opts.idleTimeoutMs, () => socket.destroy());
    try {
      this.opts.onTcpFlow(socket, flow.original, flow.context);
    } catch (e) {
      this.opts.onError?.(new Error(`the TCP flow handler threw for ${describe(flow.original)}: ${(e as Error).message}`));
      socket.resetAndDestroy();
    }
  }

  private release(flow: Flow<C>): void {
    clearTimeout(flow.timer);
    if (this.flowsByPort.get(flow.natPort) !== flow) return;
    this.flowsByPort.delete(flow.natPort);
    this.flowsByKey.delete(flow.key);
    this.table.remove(flow.natPort);
    if (this.opts.fastPathInWorker !== false) this.reader.command({ type: 'nat-remove', natPort: flow.natPort });
    this.ports.release(flow.natPort);
    if (flow.socket) flow.socket.destroy();
    else this.abandon(flow.original, flow.context);
  }

  private abandon(original: FlowEndpoints, context: C): void {
    try {
      this.opts.onAbandoned?.(original, context);
    } catch (e) {
      this.opts.onError?.(new Error(`releasing the abandoned flow ${describe(original)} failed: ${(e as Error).message}`));
    }
  }

  private onUdpPacket(p: IpPacketView): void {
    this.counters.udpIn++;
    if (!this.opts.onUdp) {
      this.opts.device.write(buildIcmpUnreachableFor(p, 'port'));
      return;
    }
    const { buf, l4Offset } = p;
    const udpLen = Math.min(readU16(buf, l4Offset + 4), p.l4Length);
    if (udpLen < 8) { this.counters.dropped++; return; }
    const d: UdpDatagram = { ...this.endpoints(p), payload: buf.slice(l4Offset + 8, l4Offset + udpLen) };
    this.opts.onUdp(d);
  }

  // ------------------------------------------------------------ packets we originate

  /**
   * Writes one UDP datagram into the TUN, addressed as given: for a reply to
   * datagram `d`, pass src = d.dstIp:d.dstPort (the routed address the client
   * sent to) and dst = d.srcIp:d.srcPort.
   */
  sendUdp(d: UdpDatagram): boolean {
    if (this.closed) return false;
    this.counters.udpOut++;
    return this.opts.device.write(buildUdpPacket({ src: parseIpAddress(d.srcIp), srcPort: d.srcPort, dst: parseIpAddress(d.dstIp), dstPort: d.dstPort, payload: d.payload }));
  }

  /** ICMP port unreachable for a datagram that nobody serves: the sender's connected UDP socket sees ECONNREFUSED. */
  refuseUdp(d: UdpDatagram): boolean {
    const pkt = buildUdpPacket({ src: parseIpAddress(d.srcIp), srcPort: d.srcPort, dst: parseIpAddress(d.dstIp), dstPort: d.dstPort, payload: d.payload });
    const p = newIpPacketView();
    parseIpPacket(pkt, 0, pkt.length, p);
    return this.opts.device.write(buildIcmpUnreachableFor(p, 'port'));
  }

  private sendReset(p: IpPacketView): void {
    if (p.buf[p.l4Offset + 13]! & TCP_RST) return;
    const rst = buildTcpResetFor(p);
    if (rst) { this.counters.resetsSent++; this.opts.device.write(rst); }
  }

  // ------------------------------------------------------------ helpers

  private family(addressLength: number): FamilyState | null {
    return addressLength === 4 ? this.v4 : this.v6;
  }

  private endpoints(p: IpPacketView): FlowEndpoints {
    return {
      srcIp: formatIpAddress(p.buf, p.srcOffset, p.addressLength),
      srcPort: readU16(p.buf, p.l4Offset),
      dstIp: formatIpAddress(p.buf, p.dstOffset, p.addressLength),
      dstPort: readU16(p.buf, p.l4Offset + 2),
    };
  }

  private reportFull(): void {
    const now = Date.now();
    if (now - this.lastFullError < 10000) return;
    this.lastFullError = now;
    this.opts.onError?.(new Error(`the TCP NAT table is full (${this.ports.capacity} open flows): new connections are refused until some close; raise maxFlows or find the process that leaks connections`));
  }

  stats(): SystemStackStats {
    return { ...this.reader.stats(), ...this.counters, activeFlows: this.flowsByPort.size, pendingAdmissions: this.pending.size };
  }

  /** Closes listeners and flows, stops the reader and closes the device (which removes it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const flow of this.flowsByPort.values()) {
      clearTimeout(flow.timer);
      if (flow.socket) flow.socket.destroy();
      else this.abandon(flow.original, flow.context);
    }
    this.flowsByPort.clear();
    this.flowsByKey.clear();
    await Promise.all([this.v4, this.v6].map((f) => f && new Promise<void>((r) => f.server.close(() => r()))));
    await this.opts.device.close();
  }
}

function describe(f: FlowEndpoints): string {
  return `${f.srcIp}:${f.srcPort} -> ${f.dstIp}:${f.dstPort}`;
}
