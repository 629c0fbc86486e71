// A minimal Kubernetes-style API server for port-forward only: HTTPS with a
// throw-away CA, bearer-token auth, `Status` errors, and the server side of
// `v4.channel.k8s.io` (port prefix on each channel, data on channel 0, dial
// errors on channel 1). Pods are names mapped to loopback ports.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

export interface FakeApiServer {
  url: string;
  caPem: string;
  token: string;
  /** pod name → loopback port its forwarded port reaches. */
  pods: Map<string, number>;
  /** Open WebSockets (for back-pressure checks). */
  sockets: Set<WebSocket>;
  /** When set, the first data-channel prefix is sent split over two messages, the second together with data. */
  splitPrefix: boolean;
  close(): Promise<void>;
}

let pki: { caPem: string; certPem: string; keyPem: string } | undefined;

/** A CA and a localhost serving certificate, made once per test process with openssl. */
function testPki(): { caPem: string; certPem: string; keyPem: string } {
  if (pki) return pki;
  const dir = mkdtempSync(join(tmpdir(), 'tpv-pf-pki-'));
  try {
    const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=tpv-test-ca');
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=localhost');
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    run('x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.pem', '-days', '2', '-extfile', 'ext.cnf');
    pki = { caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'), certPem: readFileSync(join(dir, 'srv.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'srv.key'), 'utf8') };
    return pki;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function status(code: number, reason: string, message: string): string {
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
  return `HTTP/1.1 ${code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

export async function startFakeApiServer(): Promise<FakeApiServer> {
  const { caPem, certPem, keyPem } = testPki();
  const token = 'test-token-7d1e';
  const pods = new Map<string, number>();
  const sockets = new Set<WebSocket>();
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has('v4.channel.k8s.io') ? 'v4.channel.k8s.io' : false),
  });
  const server: Server = createHttpsServer({ cert: certPem, key: keyPem });
  const api: FakeApiServer = {
    url: '', caPem, token, pods, sockets, splitPrefix: false,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.terminate(); wss.close(); server.close(() => r()); server.closeAllConnections(); }),
  };

  server.on('upgrade', (req, socket: Duplex, head) => {
    const url = new URL(req.url ?? '/', 'https://x');
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward$/.exec(url.pathname);
    if (req.headers.authorization !== `Bearer ${token}`) {
      socket.end(status(403, 'Forbidden', `pods "${m?.[2] ?? '?'}" is forbidden: User "system:anonymous" cannot create resource "pods/portforward" in API group "" in the namespace "${m?.[1] ?? '?'}"`));
      return;
    }
    if (!m) { socket.end(status(404, 'NotFound', 'the server could not find the requested resource')); return; }
    const podName = decodeURIComponent(m[2]!);
    const target = pods.get(podName);
    if (target === undefined) { socket.end(status(404, 'NotFound', `pods "${podName}" not found`)); return; }
    const port = Number(url.searchParams.get('ports'));
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      serveForward(ws, podName, port, target, api.splitPrefix);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  api.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return api;
}

function serveForward(ws: WebSocket, pod: string, port: number, target: number, splitPrefix: boolean): void {
  const prefix = (ch: number) => Buffer.from([ch, port & 0xff, port >> 8]);
  if (splitPrefix) ws.send(prefix(0).subarray(0, 2));
  else ws.send(prefix(0));
  ws.send(prefix(1));
  const upstream = connect({ host: '127.0.0.1', port: target });
  let prefixRest: Buffer | undefined = splitPrefix ? prefix(0).subarray(2) : undefined;
  upstream.on('data', (c: Buffer) => {
    const head = prefixRest ? Buffer.concat([Buffer.from([0]), prefixRest, c]) : Buffer.concat([Buffer.from([0]), c]);
    prefixRest = undefined;
    ws.send(head);
    // Like the kubelet: stop reading the pod while the client is not keeping up.
    if (ws.bufferedAmount > 1024 * 1024) {
      upstream.pause();
      const wait = setInterval(() => { if (ws.bufferedAmount < 256 * 1024 || ws.readyState !== ws.OPEN) { clearInterval(wait); upstream.resume(); } }, 5);
    }
  });
  upstream.on('error', (e: NodeJS.ErrnoException) => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(Buffer.concat([Buffer.from([1]), Buffer.from(`error forwarding port ${port} to pod ${pod}, uid : failed to execute portforward in network namespace "/var/run/netns/cni-1": failed to connect to localhost:${port} inside namespace: ${e.code === 'ECONNREFUSED' ? 'connection refused' : e.message}`)]));
  });
  upstream.on('close', () => { if (ws.readyState === ws.OPEN) ws.close(1000); });
  ws.on('message', (data: Buffer) => {
    // Like the kubelet: stop reading the client while the pod is not keeping up.
    if (data[0] === 0 && data.length > 1 && !upstream.write(data.subarray(1))) {
      ws.pause();
      upstream.once('drain', () => ws.resume());
    }
  });
  ws.on('close', () => upstream.destroy());
}
