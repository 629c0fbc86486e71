// The `lab/echo` image: tells every caller which pod answered and who called.
//   HTTP :8080  GET  /         → `pod=<name> namespace=<ns> ip=<pod ip> caller=<ip>:<port> path=<path>` (JSON with Accept: application/json or ?format=json)
//               GET  /healthz  → ok (readiness)
//               GET  /bytes/N  → N bytes (throughput checks)
//               POST any       → the request body, unchanged (integrity checks)
//   TCP  :9000  echoes every byte back
//   UDP  :9001  answers each datagram with `<pod> <caller ip>:<port> ` + the datagram
// Ports come from HTTP_PORT / TCP_ECHO_PORT / UDP_ECHO_PORT; names from POD_NAME,
// POD_NAMESPACE, POD_IP (downward API), else HOSTNAME.
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as net from 'node:net';

export interface EchoIdentity {
  pod: string;
  namespace: string;
  podIP: string;
}

function plainAddress(a: string | undefined): string {
  return (a ?? '').replace(/^::ffff:/, '');
}

export function httpReply(id: EchoIdentity, req: { method?: string; url?: string; headers: http.IncomingHttpHeaders }, caller: { address: string; port: number }): { contentType: string; body: string } {
  const url = new URL(req.url ?? '/', 'http://echo');
  const fields = { pod: id.pod, namespace: id.namespace, podIP: id.podIP, caller: caller.address, callerPort: caller.port, method: req.method ?? 'GET', path: url.pathname, host: req.headers.host ?? '' };
  const json = url.searchParams.get('format') === 'json' || (req.headers.accept ?? '').includes('application/json');
  if (json) return { contentType: 'application/json', body: JSON.stringify(fields) + '\n' };
  return { contentType: 'text/plain', body: `pod=${id.pod} namespace=${id.namespace} ip=${id.podIP} caller=${caller.address}:${caller.port} path=${url.pathname}\n` };
}

const CHUNK = Buffer.alloc(64 * 1024, 'x');

export async function runEcho(env: NodeJS.ProcessEnv = process.env): Promise<() => Promise<void>> {
  const id: EchoIdentity = { pod: env.POD_NAME || env.HOSTNAME || 'unknown', namespace: env.POD_NAMESPACE || 'unknown', podIP: env.POD_IP || '' };
  const httpPort = Number(env.HTTP_PORT || 8080);
  const tcpPort = Number(env.TCP_ECHO_PORT || 9000);
  const udpPort = Number(env.UDP_ECHO_PORT || 9001);

  const web = http.createServer((req, res) => {
    const caller = { address: plainAddress(req.socket.remoteAddress), port: req.socket.remotePort ?? 0 };
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'POST' || req.method === 'PUT') {
      res.writeHead(200, { 'Content-Type': req.headers['content-type'] ?? 'application/octet-stream', 'X-Pod': id.pod });
      req.pipe(res);
      return;
    }
    if (path === '/healthz') { res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n'); return; }
    const bytes = /^\/bytes\/(\d+)$/.exec(path);
    if (bytes) {
      let left = Number(bytes[1]);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(left), 'X-Pod': id.pod });
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, CHUNK.length);
          left -= n;
          if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) { res.once('drain', pump); return; }
        }
        res.end();
      };
      pump();
      return;
    }
    const r = httpReply(id, req, caller);
    res.writeHead(200, { 'Content-Type': r.contentType, 'X-Pod': id.pod }).end(r.body);
  });
  const tcp = net.createServer((s) => { s.on('error', () => s.destroy()); s.pipe(s); });
  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    udp.send([Buffer.from(`${id.pod} ${rinfo.address}:${rinfo.port} `), msg], rinfo.port, rinfo.address);
  });
  await Promise.all([
    new Promise<void>((r) => web.listen(httpPort, '0.0.0.0', r)),
    new Promise<void>((r) => tcp.listen(tcpPort, '0.0.0.0', r)),
    new Promise<void>((r) => udp.bind(udpPort, '0.0.0.0', r)),
  ]);
  return async () => {
    web.closeAllConnections();
    await Promise.all([new Promise((r) => web.close(r)), new Promise((r) => tcp.close(r)), new Promise<void>((r) => udp.close(() => r()))]);
  };
}

/** Entry point of the image: serve until SIGTERM/SIGINT, then exit 0. */
export async function echoImageMain(): Promise<void> {
  const stop = await runEcho();
  console.log(`echo: ${process.env.POD_NAME || process.env.HOSTNAME} serving HTTP, TCP and UDP echo`);
  const shutdown = () => { void stop().finally(() => process.exit(0)); setTimeout(() => process.exit(0), 2000).unref(); };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
