// A Kubernetes pod port-forward over WebSocket (`v4.channel.k8s.io`) as a
// Node Duplex of the forwarded port's bytes.
//
// Wire format, per forwarded port i: channel 2i carries data, channel 2i+1
// errors. Every WebSocket message starts with its channel byte; the first
// message the server sends on each channel starts with the port number as
// 2 bytes little-endian. The client sends no port prefix. A message on the
// error channel (e.g. "connection refused" from the kubelet's dial inside the
// pod) fails the stream with that text. v4 has no half-close: ending the
// writable side closes the WebSocket.
import { Duplex } from 'node:stream';
import WebSocket from 'ws';

export const PORT_FORWARD_PROTOCOL = 'v4.channel.k8s.io';

/**
 * What the daemon needs to talk to the API server, already resolved by the
 * client as the user (no exec plugins run in the daemon). Build it from a
 * KubeConfig with `clusterAccessFromKubeConfig` (portForwardAccess.ts).
 */
export interface ClusterAccess {
  /** API server URL, e.g. https://10.0.0.1:6443 (a path prefix is kept). */
  server: string;
  /** PEM of the CA(s) to trust; omitted: the system's roots. */
  caPem?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  bearerToken?: string;
  basicAuth?: { username: string; password: string };
  /** e.g. Impersonate-User. */
  headers?: Record<string, string>;
  insecureSkipTlsVerify?: boolean;
  /** SNI / certificate name when it differs from the URL's host. */
  tlsServerName?: string;
}

export interface PortForwardTarget {
  namespace: string;
  pod: string;
  port: number;
}

export interface PortForwardOptions {
  /** Limit for the WebSocket upgrade. Default 15 s. */
  timeoutMs?: number;
  /** Writes stall (back-pressure) while more than this is queued in the WebSocket. Default 1 MiB. */
  sendHighWaterMark?: number;
}

export class PortForwardError extends Error {
  override readonly name = 'PortForwardError';
  constructor(message: string, readonly httpStatus?: number) {
    super(message);
  }
}

export function portForwardUrl(server: string, target: PortForwardTarget): URL {
  const url = new URL(server);
  if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol === 'http:') url.protocol = 'ws:';
  else throw new PortForwardError(`the API server URL "${server}" is not http(s)`);
  const prefix = url.pathname.replace(/\/+$/, '');
  url.pathname = `${prefix}/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods/${encodeURIComponent(target.pod)}/portforward`;
  url.search = `ports=${target.port}`;
  return url;
}

/** Opens the port-forward; resolves once the WebSocket is up. */
export function openPortForward(access: ClusterAccess, target: PortForwardTarget, opts: PortForwardOptions = {}): Promise<PortForwardStream> {
  const url = portForwardUrl(access.server, target);
  const what = `port-forward to pod ${target.namespace}/${target.pod} port ${target.port}`;
  const headers: Record<string, string> = { ...access.headers };
  if (access.bearerToken) headers.Authorization = `Bearer ${access.bearerToken}`;
  else if (access.basicAuth) headers.Authorization = `Basic ${Buffer.from(`${access.basicAuth.username}:${access.basicAuth.password}`).toString('base64')}`;
  // ws passes TLS options through to tls.connect; its typings just omit servername.
  const wsOptions: WebSocket.ClientOptions & { servername?: string } = {
    ca: access.caPem,
    cert: access.clientCertPem,
    key: access.clientKeyPem,
    rejectUnauthorized: !access.insecureSkipTlsVerify,
    servername: access.tlsServerName,
    headers,
    handshakeTimeout: opts.timeoutMs ?? 15_000,
    perMessageDeflate: false,
    // RFC 6455 masking protects proxies from payloads a browser script controls; the daemon is
    // not a browser and the bytes travel inside TLS. An all-zero mask lets ws skip XORing every
    // byte (and lets a ws-based server skip unmasking): the tunnel's hottest loop in JS.
    generateMask: (mask: Buffer) => { mask.fill(0); },
  };
  const ws = new WebSocket(url, [PORT_FORWARD_PROTOCOL], wsOptions);
  return new Promise((resolve, reject) => {
    const fail = (e: PortForwardError) => {
      cleanup();
      // Aborting a handshake makes ws emit one more 'error'; it is this one.
      ws.on('error', () => {});
      ws.terminate();
      reject(e);
    };
    const onError = (e: Error) => fail(new PortForwardError(`${what} failed: ${e.message}`));
    const onUnexpected = (_req: unknown, res: import('node:http').IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { if (body.length < 4096) body += c; });
      res.on('end', () => fail(new PortForwardError(`${what} failed: HTTP ${res.statusCode}: ${statusMessage(body) ?? res.statusMessage ?? 'no reason given'}`, res.statusCode)));
      res.on('error', () => fail(new PortForwardError(`${what} failed: HTTP ${res.statusCode}`, res.statusCode)));
    };
    const onOpen = () => {
      cleanup();
      if (ws.protocol !== PORT_FORWARD_PROTOCOL) {
        ws.terminate();
        reject(new PortForwardError(`${what} failed: the API server did not agree to ${PORT_FORWARD_PROTOCOL} (got "${ws.protocol}")`));
        return;
      }
      resolve(new PortForwardStream(ws, target.port, what, opts.sendHighWaterMark ?? 1024 * 1024));
    };
    const cleanup = () => { ws.off('error', onError); ws.off('unexpected-response', onUnexpected); ws.off('open', onOpen); };
    ws.on('error', onError);
    ws.on('unexpected-response', onUnexpected);
    ws.on('open', onOpen);
  });
}

const DATA_CHANNEL = 0;
const ERROR_CHANNEL = 1;
const DATA_PREFIX = Buffer.from([DATA_CHANNEL]);

/** The data channel of one forwarded port. */
export class PortForwardStream extends Duplex {
  private dataPrefixLeft = 2;
  private errorPrefixLeft = 2;
  private readonly portBytes: Buffer;
  private errorText = '';
  private paused = false;

  constructor(private readonly ws: WebSocket, readonly port: number, private readonly what: string, private readonly sendHighWaterMark: number) {
    super({ allowHalfOpen: false, readableHighWaterMark: 256 * 1024, writableHighWaterMark: 256 * 1024 });
    this.portBytes = Buffer.alloc(2);
    this.portBytes.writeUInt16LE(port, 0);
    ws.on('message', (data: Buffer) => this.onMessage(data));
    ws.on('close', (code: number, reason: Buffer) => this.onClose(code, reason.toString()));
    ws.on('error', (e: Error) => this.destroy(new PortForwardError(`${this.what}: ${e.message}`)));
  }

  /** Bytes queued in the WebSocket and not yet handed to the kernel. */
  get webSocketBacklog(): number {
    return this.ws.bufferedAmount;
  }

  private onMessage(msg: Buffer): void {
    if (msg.length === 0) return;
    const channel = msg[0];
    let payload = msg.subarray(1);
    if (channel === DATA_CHANNEL) {
      if (this.dataPrefixLeft > 0) {
        const n = Math.min(this.dataPrefixLeft, payload.length);
        this.dataPrefixLeft -= n;
        payload = payload.subarray(n);
      }
      if (payload.length === 0) return;
      if (!this.push(payload) && !this.paused) {
        // Our reader is full: stop reading the socket (TCP back-pressure to the API server).
        this.paused = true;
        this.ws.pause();
      }
    } else if (channel === ERROR_CHANNEL) {
      if (this.errorPrefixLeft > 0) {
        const n = Math.min(this.errorPrefixLeft, payload.length);
        this.errorPrefixLeft -= n;
        payload = payload.subarray(n);
      }
      if (payload.length === 0) return;
      this.errorText += payload.toString('utf8');
      this.destroy(new PortForwardError(`${this.what} failed inside the cluster: ${this.errorText.trim()}`));
    }
    // Other channels belong to ports we did not ask for: ignore.
  }

  private onClose(code: number, reason: string): void {
    if (this.destroyed) return;
    if (code === 1000 || code === 1005) {
      this.push(null);
      // v4 cannot half-close: once the server closed, nothing we write can arrive.
      if (!this.writableFinished) this.destroy();
      return;
    }
    this.destroy(new PortForwardError(`${this.what} closed by the API server (WebSocket code ${code}${reason ? `: ${reason}` : ''})`));
  }

  override _read(): void {
    if (this.paused) {
      this.paused = false;
      this.ws.resume();
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.send(Buffer.concat([DATA_PREFIX, chunk], chunk.length + 1), cb);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    // Corked frames (header + payload, several frames) leave as one WebSocket message.
    let total = 1;
    for (const c of chunks) total += c.chunk.length;
    const msg = Buffer.allocUnsafe(total);
    msg[0] = DATA_CHANNEL;
    let off = 1;
    for (const c of chunks) off += c.chunk.copy(msg, off);
    this.send(msg, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.closeGracefully();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      if (err) this.ws.terminate();
      else this.closeGracefully();
    }
    cb(err);
  }

  private closeGracefully(): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.close(1000);
    // ws waits 30 s for the server's close frame; a server that stopped reading
    // (back-pressure) never sends it, so do not hold the connection that long.
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  private send(msg: Buffer, cb: (err?: Error | null) => void): void {
    if (this.ws.readyState !== WebSocket.OPEN) {
      cb(new PortForwardError(`${this.what} is closed`));
      return;
    }
    let called = false;
    const below = this.ws.bufferedAmount < this.sendHighWaterMark;
    this.ws.send(msg, { binary: true }, (err) => {
      if (err) { if (!called) { called = true; cb(err); } else this.destroy(err); return; }
      if (!called) { called = true; cb(); }
    });
    // Below the mark: let the next write come now. Above: wait until this message reached the socket.
    if (below && !called && this.ws.bufferedAmount < this.sendHighWaterMark) { called = true; cb(); }
  }
}

function statusMessage(body: string): string | undefined {
  try {
    const s = JSON.parse(body) as { kind?: string; message?: string };
    if (s && s.kind === 'Status' && typeof s.message === 'string') return s.message;
  } catch { /* not a Status */ }
  return body.trim() ? body.trim().slice(0, 300) : undefined;
}
