// Answers the daemon's opens by dialing inside the cluster: a TCP connection
// or a connected UDP socket to host:port, then joins it to the tunnel stream.
// Dial failures go back as the socket's errno (ECONNREFUSED, ETIMEDOUT,
// EHOSTUNREACH, ENOTFOUND...), which the daemon mirrors locally.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP, connect as tcpConnect, type Socket } from 'node:net';
import { pipeUntilPeerEnds } from '../net/peerEnd';
import type { IncomingOpen } from '../tunnel/tunnelSession';
import type { TunnelDatagrams } from '../tunnel/tunnelDatagrams';
import type { TunnelStream } from '../tunnel/tunnelStream';
import { TunnelError, remoteCodeOf } from '../tunnel/tunnelErrors';
import type { RelayLogger } from './relayLog';

export interface DialerOptions {
  dialTimeoutMs: number;
  log: RelayLogger;
  /** Live connections, for stats and shutdown. */
  tcpSockets: Set<Socket>;
  udpSockets: Set<UdpSocket>;
}

export function handleOpenByDialing(opts: DialerOptions): (req: IncomingOpen) => void {
  return (req) => {
    // Port 0 (or anything out of range) would make dgram.connect throw: one odd
    // datagram from a workstation must not take the shared relay down.
    if (!Number.isInteger(req.port) || req.port < 1 || req.port > 65535) {
      req.reject('EINVAL', `port ${req.port} of ${req.host} cannot be dialed`);
      return;
    }
    if (req.kind === 'tcp') {
      dialTcp(req, opts);
      return;
    }
    dialUdp(req, opts).catch((e: unknown) => {
      opts.log('debug', `udp ${req.host}:${req.port} failed: ${(e as Error)?.message ?? String(e)}`);
      req.reject(remoteCodeOf(e), (e as Error)?.message ?? String(e));
    });
  };
}

function dialTcp(req: IncomingOpen, opts: DialerOptions): void {
  const target = `${req.host}:${req.port}`;
  const socket = tcpConnect({ host: req.host, port: req.port, allowHalfOpen: true, noDelay: true });
  const timer = setTimeout(() => {
    socket.destroy();
    req.reject('ETIMEDOUT', `connect ETIMEDOUT ${target} (no answer within ${opts.dialTimeoutMs} ms)`);
  }, opts.dialTimeoutMs);
  const onDialError = (e: Error) => {
    clearTimeout(timer);
    opts.log('debug', `dial ${target} failed: ${e.message}`);
    req.reject(remoteCodeOf(e), e.message);
  };
  socket.once('error', onDialError);
  socket.once('connect', () => {
    clearTimeout(timer);
    socket.off('error', onDialError);
    if (req.cancelled) { socket.destroy(); return; }
    let stream: TunnelStream;
    try {
      stream = req.acceptStream();
    } catch {
      socket.destroy();
      return;
    }
    opts.tcpSockets.add(socket);
    socket.once('close', () => opts.tcpSockets.delete(socket));
    bridgeTcp(stream, socket, target, opts.log);
  });
}

/**
 * Joins a tunnel stream and a socket in both directions with back-pressure
 * (pipe), half-close (FIN ↔ end) and resets (RST ↔ error / TCP RST).
 */
export function bridgeTcp(stream: TunnelStream, socket: Socket, target: string, log: RelayLogger): void {
  // The stream ends on the socket's real FIN only: Node may report a reset as an end.
  pipeUntilPeerEnds(socket, stream, (e) => { stream.destroy(new TunnelError('ECONNRESET', `${target} reset the connection (${e.message})`)); });
  stream.pipe(socket);
  socket.on('error', (e) => {
    log('debug', `${target}: ${e.message}`);
    stream.destroy(new TunnelError(remoteCodeOf(e), e.message));
  });
  socket.on('close', () => {
    // Closed without both directions ending cleanly: the peer must not wait forever.
    if (!stream.destroyed && !stream.writableEnded) stream.destroy(new TunnelError('ECONNRESET', `${target} closed the connection`));
  });
  stream.on('error', () => {
    // The daemon reset the stream or the tunnel died: reset the cluster side too.
    if (!socket.destroyed) socket.resetAndDestroy();
  });
}

async function dialUdp(req: IncomingOpen, opts: DialerOptions): Promise<void> {
  const target = `${req.host}:${req.port}`;
  let address = req.host;
  try {
    if (!isIP(address)) address = (await lookup(req.host)).address;
  } catch (e) {
    req.reject(remoteCodeOf(e), `cannot resolve ${req.host}: ${(e as Error).message}`);
    return;
  }
  const sock = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
  const onDialError = (e: Error) => { sock.close(); req.reject(remoteCodeOf(e), e.message); };
  sock.once('error', onDialError);
  try {
    sock.connect(req.port, address, onConnected);
  } catch (e) {
    sock.close();
    throw e;
  }
  function onConnected(): void {
    sock.off('error', onDialError);
    let assoc: TunnelDatagrams;
    try {
      assoc = req.acceptDatagrams();
    } catch {
      sock.close();
      return;
    }
    opts.udpSockets.add(sock);
    bridgeUdp(assoc, sock, target, opts);
  }
}

function bridgeUdp(assoc: TunnelDatagrams, sock: UdpSocket, target: string, opts: DialerOptions): void {
  let open = true;
  const closeSocket = () => {
    if (!open) return;
    open = false;
    opts.udpSockets.delete(sock);
    try { sock.close(); } catch { /* already closed */ }
  };
  sock.on('message', (m) => assoc.send(m));
  sock.on('error', (e) => {
    // A connected UDP socket reports ICMP port unreachable as ECONNREFUSED.
    opts.log('debug', `udp ${target}: ${e.message}`);
    assoc.abort(Object.assign(new Error(e.message), { code: remoteCodeOf(e) }));
    closeSocket();
  });
  assoc.on('message', (m) => { if (open) sock.send(m); });
  assoc.on('close', closeSocket);
}
