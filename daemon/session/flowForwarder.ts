// Joins the system stack to the tunnel: a TCP flow to a cluster or virtual
// IP is admitted only once the relay has dialled the real address (so a
// refused port is a refused connect locally), unless the destination has
// just answered other connections (earlyOpenPolicy.ts): then it is admitted
// at once and its first bytes ride with the open. Bytes are piped both ways
// with back-pressure; UDP datagrams ride per-flow associations.
import type { Socket } from 'node:net';
import type { ScopedLogger } from '../log/logger';
import type { FlowEndpoints, TcpVerdict, UdpDatagram } from '../stack/flowTypes';
import { pipeUntilPeerEnds } from '../net/peerEnd';
import { TunnelError, isTunnelError, remoteCodeOf } from '../tunnel/tunnelErrors';
import type { TunnelDatagrams } from '../tunnel/tunnelDatagrams';
import type { TunnelStream } from '../tunnel/tunnelStream';
import type { EarlyTcpOpen, OpenTarget } from '../tunnel/tunnelSession';
import { EarlyOpenPolicy } from './earlyOpenPolicy';
import type { MappingRegistry } from './mappingRegistry';

export interface TunnelOpener {
  openTcp(target: OpenTarget): Promise<TunnelStream>;
  /** A stream usable before the dial is confirmed; undefined when the tunnel cannot (down, or an old relay). */
  openTcpEarly?(target: OpenTarget): EarlyTcpOpen | undefined;
  openUdp(target: OpenTarget): Promise<TunnelDatagrams>;
}

export interface UdpReplySink {
  sendUdp(d: UdpDatagram): boolean;
  refuseUdp(d: UdpDatagram): boolean;
}

export interface TcpFlowContext {
  stream: TunnelStream;
  realIp: string;
}

/** Maps a tunnel failure to what the local client should see. */
export function verdictForFailure(code: string | undefined): TcpVerdict<never> {
  switch (code) {
    case 'ECONNREFUSED':
    case 'ETUNNELDOWN':
      return { action: 'refuse' };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
      return { action: 'unreachable' };
    default:
      // Timeouts and unknown failures: tell the client now rather than let it retry for minutes.
      return { action: 'unreachable' };
  }
}

const UDP_IDLE_MS = 60_000;

function ignoreUntilJoined(): void { /* the flow's own handlers take over in onTcpFlow */ }

interface UdpFlow {
  assoc: Promise<TunnelDatagrams | undefined>;
  last: number;
  countOut: (n: number) => void;
}

export class FlowForwarder {
  private readonly udp = new Map<string, UdpFlow>();
  private readonly sweep: NodeJS.Timeout;
  private readonly earlyOpens = new EarlyOpenPolicy();

  constructor(
    private readonly tunnel: TunnelOpener,
    private readonly mappings: MappingRegistry,
    /** Real IP for a destination: virtual IPs are translated, routed IPs are themselves, unknown virtual IPs undefined. */
    private readonly realDestination: (dstIp: string) => string | undefined,
    private readonly log: ScopedLogger,
  ) {
    this.sweep = setInterval(() => this.expireUdp(), 10_000);
    this.sweep.unref();
  }

  /**
   * Synchronous when it can answer at once (early opens, unknown addresses):
   * the stack then writes the SYN on before the open's frame is flushed to the
   * tunnel, which keeps the handshake off the tunnel's latency entirely.
   */
  admitTcp(flow: FlowEndpoints): TcpVerdict<TcpFlowContext> | Promise<TcpVerdict<TcpFlowContext>> {
    const realIp = this.realDestination(flow.dstIp);
    if (realIp === undefined) return { action: 'unreachable' };
    // Nothing listens on port 0 anywhere; a relay need not be asked.
    if (flow.dstPort === 0) return { action: 'refuse' };
    const target = { host: realIp, port: flow.dstPort };
    const destination = EarlyOpenPolicy.key(realIp, flow.dstPort);
    const early = this.earlyOpens.mayOpenEarly(destination, Date.now()) ? this.tunnel.openTcpEarly?.(target) : undefined;
    if (early) {
      early.opened.then(() => this.earlyOpens.dialled(destination, Date.now()), (e: Error) => {
        this.earlyOpens.failed(destination);
        this.log.debug(`tcp ${flow.srcIp}:${flow.srcPort} → ${flow.dstIp}:${flow.dstPort} (${realIp}) failed after an early open; the client sees a reset: ${e.message}`);
      });
      // Until the kernel hands over the client's socket (onTcpFlow) nobody else listens
      // on this stream: a tunnel that drops meanwhile must not become an uncaught error.
      early.stream.on('error', ignoreUntilJoined);
      return { action: 'accept', context: { stream: early.stream, realIp } };
    }
    return this.tunnel.openTcp(target).then((stream): TcpVerdict<TcpFlowContext> => {
      this.earlyOpens.dialled(destination, Date.now());
      stream.on('error', ignoreUntilJoined);
      return { action: 'accept', context: { stream, realIp } };
    }, (e: unknown) => {
      this.earlyOpens.failed(destination);
      const code = isTunnelError(e) ? e.code : undefined;
      this.log.debug(`tcp ${flow.srcIp}:${flow.srcPort} → ${flow.dstIp}:${flow.dstPort} (${realIp}) failed: ${(e as Error).message}`);
      return verdictForFailure(code);
    });
  }

  /** An admitted flow whose client never completed the handshake: give its stream (and the relay's connection) back. */
  abandon(ctx: TcpFlowContext): void {
    ctx.stream.destroy();
  }

  onTcpFlow(socket: Socket, _original: FlowEndpoints, ctx: TcpFlowContext): void {
    const { stream } = ctx;
    stream.off('error', ignoreUntilJoined);
    if (stream.destroyed) {
      // An early open whose dial failed before the kernel handed the socket over.
      socket.resetAndDestroy();
      return;
    }
    const counter = this.mappings.flowStarted(ctx.realIp);
    if (counter) {
      socket.on('data', (b: Buffer) => counter.out(b.length));
      stream.on('data', (b: Buffer) => counter.in(b.length));
    }
    // pipe() keeps back-pressure in both directions; half-closes pass through. The client's
    // side ends the stream on its real FIN only: Node may report a reset as an end.
    pipeUntilPeerEnds(socket, stream, (e) => { socket.destroy(); stream.destroy(new TunnelError('ECONNRESET', `the client reset the connection (${e.message})`)); });
    stream.pipe(socket);
    // The cluster side reset, or the tunnel died: the client must see a reset too. A plain
    // close would send FIN, and a client reading until EOF would take a cut-off transfer for a
    // complete one.
    socket.on('error', (e: NodeJS.ErrnoException) => { socket.destroy(); stream.destroy(new TunnelError(remoteCodeOf(e), `the client's connection failed: ${e.message}`)); });
    stream.on('error', () => { if (!socket.destroyed) socket.resetAndDestroy(); });
    socket.on('close', () => { if (!stream.destroyed) stream.end(); });
    stream.on('close', () => {
      if (socket.destroyed) return;
      // Only a stream that delivered the cluster side's FIN ('end') may end the client's
      // connection with a FIN; closed any other way, a FIN would pass a cut-off transfer
      // for a complete one.
      if (stream.readableEnded) socket.end();
      else socket.resetAndDestroy();
    });
  }

  onUdp(d: UdpDatagram, sink: UdpReplySink): void {
    const realIp = this.realDestination(d.dstIp);
    if (realIp === undefined || d.dstPort === 0) { sink.refuseUdp(d); return; }
    const key = `${d.srcIp}|${d.srcPort}|${d.dstIp}|${d.dstPort}`;
    let entry = this.udp.get(key);
    if (!entry) {
      const counter = this.mappings.flowStarted(realIp);
      const assoc = this.tunnel.openUdp({ host: realIp, port: d.dstPort }).then((a) => {
        a.on('message', (payload) => {
          counter?.in(payload.length);
          sink.sendUdp({ srcIp: d.dstIp, srcPort: d.dstPort, dstIp: d.srcIp, dstPort: d.srcPort, payload });
        });
        a.on('close', () => this.udp.delete(key));
        return a;
      }, (e: Error) => {
        this.log.debug(`udp → ${realIp}:${d.dstPort} failed: ${e.message}`);
        this.udp.delete(key);
        sink.refuseUdp(d);
        return undefined;
      });
      entry = { assoc, last: Date.now(), countOut: (n) => counter?.out(n) };
      this.udp.set(key, entry);
    }
    entry.last = Date.now();
    const payload = Buffer.from(d.payload.buffer, d.payload.byteOffset, d.payload.byteLength);
    const flow = entry;
    void flow.assoc.then((a) => { if (a?.send(payload)) flow.countOut(payload.length); });
  }

  private expireUdp(): void {
    const now = Date.now();
    for (const [key, e] of this.udp) {
      if (now - e.last > UDP_IDLE_MS) {
        this.udp.delete(key);
        void e.assoc.then((a) => a?.close());
      }
    }
  }

  close(): void {
    clearInterval(this.sweep);
    for (const e of this.udp.values()) void e.assoc.then((a) => a?.close());
    this.udp.clear();
  }
}
