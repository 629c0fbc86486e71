// The HTTPS server: TLS with optional client certificates, authentication on
// every request, the REST surface, and the streaming upgrades (exec and
// port-forward over WebSocket, port-forward over SPDY).
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { PodRuntime } from '../contracts';
import { ApiStatusError } from './apiStatus';
import { authenticate, authorize, type UserInfo } from './auth';
import type { LabPki } from './pki';
import type { Registry } from './registry';
import { parseRequestInfo } from './requestInfo';
import { handleNonResource, handleResource, sendJson, type RestContext } from './restHandler';
import { serveExecWebSocket } from './streaming/execWebSocket';
import { servePortForwardWebSocket } from './streaming/portForwardWebSocket';
import { serveSpdyTunnel, serveSpdyUpgrade, SPDY_PORTFORWARD_TUNNEL } from './streaming/spdyPortForward';

const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

/**
 * ws answers 400 "Invalid Sec-WebSocket-Protocol header" when an offered
 * protocol is not an RFC 7230 token, and kubectl's SPDY tunnel offers
 * `SPDY/3.1+portforward.k8s.io` ('/' is no token character): kubectl then
 * silently fell back to a raw SPDY upgrade. ws sees this alias instead; the
 * 101 answer carries the real name again (the 'headers' hook below).
 */
const TUNNEL_ALIAS = SPDY_PORTFORWARD_TUNNEL.replace(/\//g, '_');
const PORTFORWARD_PROTOCOLS = ['v4.channel.k8s.io', 'portforward.k8s.io', TUNNEL_ALIAS];

/** The Sec-WebSocket-Protocol header with the tunnel protocol replaced by its token alias. */
export function aliasTunnelProtocol(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return header.split(',').map((p) => (p.trim() === SPDY_PORTFORWARD_TUNNEL ? TUNNEL_ALIAS : p.trim())).join(', ');
}

export interface ApiServerDeps {
  registry: Registry;
  pki: LabPki;
  podRuntime: PodRuntime;
  serverAddress: string;
  log: (msg: string) => void;
}

function statusOf(err: unknown, log: (msg: string) => void): ApiStatusError {
  if (err instanceof ApiStatusError) return err;
  log(`internal error: ${(err as Error).stack ?? err}`);
  return new ApiStatusError('InternalError', `Internal error occurred: ${(err as Error).message}`);
}

function rejectUpgrade(socket: Duplex, err: ApiStatusError): void {
  const body = JSON.stringify(err.toStatus());
  socket.end(`HTTP/1.1 ${err.code} ${err.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

export function createApiServer(deps: ApiServerDeps): https.Server {
  const ctx: RestContext = { registry: deps.registry, serverAddress: deps.serverAddress };
  const server = https.createServer({
    cert: deps.pki.serverCertPem, key: deps.pki.serverKeyPem, ca: deps.pki.caPem,
    requestCert: true, rejectUnauthorized: false,
    keepAlive: true,
  }, (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      try {
        const user = authenticate(req, deps.pki.tokens);
        const url = new URL(req.url ?? '/', 'https://apiserver');
        const info = parseRequestInfo(req.method ?? 'GET', url.pathname, url.searchParams);
        if (info.kind === 'nonresource') await handleNonResource(ctx, req, res, info.path);
        else await handleResource(ctx, user, info, req, res, url.searchParams);
      } catch (err) {
        const st = statusOf(err, deps.log);
        if (res.headersSent) { res.end(); return; }
        sendJson(res, st.code, st.toStatus());
      }
    })();
  });

  const wss = new WebSocketServer({
    noServer: true, perMessageDeflate: false,
    handleProtocols: (protocols, req) => {
      const wanted = req.url?.includes('/portforward') ? PORTFORWARD_PROTOCOLS : EXEC_PROTOCOLS;
      return wanted.find((p) => protocols.has(p)) ?? false;
    },
  });

  wss.on('headers', (headers) => {
    const i = headers.indexOf(`Sec-WebSocket-Protocol: ${TUNNEL_ALIAS}`);
    if (i >= 0) headers[i] = `Sec-WebSocket-Protocol: ${SPDY_PORTFORWARD_TUNNEL}`;
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    let user: UserInfo;
    try {
      user = authenticate(req, deps.pki.tokens);
      const url = new URL(req.url ?? '/', 'https://apiserver');
      const info = parseRequestInfo(req.method ?? 'GET', url.pathname, url.searchParams);
      if (info.kind !== 'resource' || info.resource !== 'pods' || !info.name || (info.subresource !== 'exec' && info.subresource !== 'portforward')) {
        throw new ApiStatusError('BadRequest', `${url.pathname} does not support an upgrade: only pods/exec and pods/portforward stream`);
      }
      authorize(user, { verb: 'create', group: '', resource: 'pods', subresource: info.subresource, namespace: info.namespace!, name: info.name });
      const podsType = deps.registry.type('', 'pods');
      const pod = deps.registry.get(podsType, info.namespace, info.name);
      if (pod.status?.phase !== 'Running') throw new ApiStatusError('BadRequest', `pod ${info.name} is not running (phase ${pod.status?.phase ?? 'unknown'}): wait until it runs`);
      const q = url.searchParams;
      const namespace = info.namespace!;
      const podName = info.name;
      const isWebSocket = (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
      if (info.subresource === 'portforward') {
        const ports = q.getAll('ports').flatMap((p) => p.split(',')).map(Number).filter((n) => n > 0 && n < 65536);
        if (!isWebSocket) {
          if (!/^spdy\/3\.1$/i.test(req.headers.upgrade ?? '')) throw new ApiStatusError('BadRequest', 'unable to upgrade: only WebSocket and SPDY/3.1 are supported');
          serveSpdyUpgrade(socket, req, head, { runtime: deps.podRuntime, namespace, pod: podName, log: deps.log });
          return;
        }
        const offered = aliasTunnelProtocol(req.headers['sec-websocket-protocol']);
        if (offered !== undefined) req.headers['sec-websocket-protocol'] = offered;
        wss.handleUpgrade(req, socket, head, (ws) => {
          if (ws.protocol === TUNNEL_ALIAS) {
            serveSpdyTunnel(ws, { runtime: deps.podRuntime, namespace, pod: podName, log: deps.log });
            return;
          }
          if (ports.length === 0) { ws.close(1008, 'the query must name at least one port: ?ports=8080'); return; }
          servePortForwardWebSocket(ws, deps.podRuntime, namespace, podName, ports);
        });
        return;
      }
      if (!isWebSocket) throw new ApiStatusError('BadRequest', 'exec needs a WebSocket upgrade (v5.channel.k8s.io or v4.channel.k8s.io): SPDY exec is not supported by the lab');
      const flag = (name: string) => ['1', 'true'].includes(q.get(name) ?? '');
      const command = q.getAll('command');
      if (command.length === 0) throw new ApiStatusError('BadRequest', 'you must specify at least 1 command');
      const container = q.get('container') ?? undefined;
      wss.handleUpgrade(req, socket, head, (ws) => {
        void serveExecWebSocket(ws, deps.podRuntime, { namespace, pod: podName, ...(container ? { container } : {}), command, stdin: flag('stdin'), tty: flag('tty') }, { stdout: flag('stdout'), stderr: flag('stderr') })
          .catch((err: Error) => { deps.log(`exec: ${err.message}`); ws.terminate(); });
      });
    } catch (err) {
      rejectUpgrade(socket, statusOf(err, deps.log));
    }
  });
  return server;
}
