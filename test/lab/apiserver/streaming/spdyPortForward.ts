// Port-forward over SPDY (`portforward.k8s.io`), as the kubelet serves it to
// kubectl: per local connection the client opens an error stream and a data
// stream that share a `requestID` and name the `port`; the data stream is
// spliced to a TCP connection to the pod's port; a failure is written as text
// to the error stream; the error stream is closed when the forward ends,
// which is what lets kubectl close its local connection.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import type { PodRuntime } from '../../contracts';
import { socketChannel, webSocketChannel } from './spdy/byteChannels';
import { SpdySession, type ByteChannel, type SpdyStream } from './spdy/spdySession';

export const SPDY_PORTFORWARD_PROTOCOL = 'portforward.k8s.io';
export const SPDY_PORTFORWARD_TUNNEL = `SPDY/3.1+${SPDY_PORTFORWARD_PROTOCOL}`;

interface PortForwardTarget {
  runtime: PodRuntime;
  namespace: string;
  pod: string;
  log: (msg: string) => void;
}

/** Raw `Upgrade: SPDY/3.1`: answers the upgrade itself, then speaks SPDY on the socket. */
export function serveSpdyUpgrade(socket: Duplex, req: IncomingMessage, head: Buffer, target: PortForwardTarget): void {
  const offered = String(req.headers['x-stream-protocol-version'] ?? '').split(',').map((p) => p.trim());
  if (!offered.includes(SPDY_PORTFORWARD_PROTOCOL)) {
    const body = `unable to upgrade: the client must offer X-Stream-Protocol-Version ${SPDY_PORTFORWARD_PROTOCOL}\n`;
    socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    return;
  }
  socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n'
    + `X-Stream-Protocol-Version: ${SPDY_PORTFORWARD_PROTOCOL}\r\n\r\n`);
  servePortForwardStreams(socketChannel(socket, head), target);
}

/** `SPDY/3.1+portforward.k8s.io` over an accepted WebSocket. */
export function serveSpdyTunnel(ws: WebSocket, target: PortForwardTarget): void {
  servePortForwardStreams(webSocketChannel(ws), target);
}

function servePortForwardStreams(channel: ByteChannel, target: PortForwardTarget): void {
  const session = new SpdySession(channel);
  const waiting = new Map<string, { error?: SpdyStream; data?: SpdyStream }>();
  session.on('error', (err) => target.log(`port-forward to ${target.namespace}/${target.pod}: ${err.message}`));
  session.on('stream', (stream) => {
    void session.reply(stream);
    const type = stream.headers.streamtype;
    const requestId = stream.headers.requestid ?? String(stream.id);
    if (type !== 'error' && type !== 'data') { stream.reset(); return; }
    const pair = waiting.get(requestId) ?? {};
    pair[type] = stream;
    if (!pair.error || !pair.data) { waiting.set(requestId, pair); return; }
    waiting.delete(requestId);
    forward(session, pair.error, pair.data, target);
  });
}

function forward(session: SpdySession, errorStream: SpdyStream, dataStream: SpdyStream, target: PortForwardTarget): void {
  const portText = dataStream.headers.port ?? '';
  const port = Number(portText);
  const finish = (message?: string) => {
    if (message) errorStream.write(Buffer.from(message));
    errorStream.end();
    dataStream.end();
  };
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    finish(`invalid port "${portText}": the port header must be an integer between 1 and 65535`);
    return;
  }
  // The client may send before the pod connection is up: hold its bytes until then.
  let conn: Duplex | undefined;
  let early: Buffer[] = [];
  let earlyEnd = false;
  let earlyReset = false;
  dataStream.on('data', (chunk) => {
    if (!conn) { early.push(chunk); return; }
    if (!conn.write(chunk)) {
      session.pauseInput();
      conn.once('drain', () => session.resumeInput());
    }
  });
  dataStream.on('end', () => { if (conn) conn.end(); else earlyEnd = true; });
  dataStream.on('reset', () => { if (conn) conn.destroy(); else earlyReset = true; });
  target.runtime.portForward(target.namespace, target.pod, port).then((c) => {
    conn = c;
    if (earlyReset) { c.destroy(); return; }
    for (const chunk of early) c.write(chunk);
    early = [];
    if (earlyEnd) c.end();
    let ended = false;
    const resumeConn = () => c.resume();
    c.on('data', (chunk: Buffer) => {
      if (!dataStream.write(chunk)) {
        c.pause();
        session.once('drain', resumeConn);
      }
    });
    const done = (message?: string) => {
      if (ended) return;
      ended = true;
      session.off('drain', resumeConn);
      finish(message);
    };
    c.on('end', () => done());
    c.on('close', () => done());
    c.on('error', (err: Error) => done(`error forwarding port ${port} to pod ${target.pod}: ${err.message}`));
  }, (err: Error) => {
    finish(`error forwarding port ${port} to pod ${target.pod}, uid : ${err.message}`);
  });
}
