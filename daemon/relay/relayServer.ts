// The relay: accepts tunnel connections, one session each, dials inside the
// cluster for the daemon, forwards its DNS queries, and serves a small HTTP
// health endpoint for the pod's readinessProbe. `relay.ts` is the process
// entry; this module is also started in-process by tests.
import type { Socket as UdpSocket } from 'node:dgram';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { TunnelSession, type OpenTarget } from '../tunnel/tunnelSession';
import type { TunnelStream } from '../tunnel/tunnelStream';
import { startAgentListeners, type AgentListeners } from './agentListener';
import { createDnsForwarder } from './dnsForwarder';
import { handleOpenByDialing } from './relayDialer';
import type { RelayConfig } from './relayConfig';
import { RELAY_SOFTWARE, RELAY_VERSION } from './relayConstants';
import type { RelayLogger } from './relayLog';

export interface RelayStats {
  version: string;
  mode: 'relay' | 'agent';
  sessions: number;
  streams: number;
  datagramAssociations: number;
  tcpConnections: number;
  /** Every byte the relay holds for in-flight traffic: session queues, transport and cluster-socket buffers. */
  bufferedBytes: number;
  bytesIn: number;
  bytesOut: number;
  /** Agent mode: connections on the intercept ports, by where they went. */
  agent?: { intercepted: number; passedThrough: number; refused: number };
}

export interface RelayHandle {
  port: number;
  healthPort: number;
  /** Agent mode: the intercept ports listened on (empty for the relay). */
  interceptPorts: number[];
  stats(): RelayStats;
  /** Agent hook: opens a stream towards the daemon of the newest session. */
  openTowardsDaemon(target: OpenTarget): Promise<TunnelStream>;
  /** Stops accepting, tells every daemon (GOAWAY) and closes. */
  close(reason?: string): Promise<void>;
}

export async function startRelay(config: RelayConfig, log: RelayLogger): Promise<RelayHandle> {
  const sessions = new Set<TunnelSession>();
  const tcpSockets = new Set<Socket>();
  const udpSockets = new Set<UdpSocket>();
  const tunnels = new Set<Socket>();
  const handleOpen = handleOpenByDialing({ dialTimeoutMs: config.dialTimeoutMs, log, tcpSockets, udpSockets });
  const handleDns = createDnsForwarder({ servers: config.dnsServers });
  let closing = false;

  const server = createServer({ noDelay: true, allowHalfOpen: false }, (sock) => {
    if (closing) { sock.destroy(); return; }
    const from = `${sock.remoteAddress}:${sock.remotePort}`;
    tunnels.add(sock);
    sock.once('close', () => tunnels.delete(sock));
    sock.on('error', () => { /* reported through the session's close reason */ });
    TunnelSession.accept(sock, {
      expectedSecret: config.secrets,
      hello: { software: RELAY_SOFTWARE, softwareVersion: RELAY_VERSION, mode: config.mode, dns: config.dns, pod: config.pod },
      handleOpen,
      handleDns,
      log: (level, message) => log(level, `${from}: ${message}`),
    }).then(
      (session) => {
        sessions.add(session);
        log('info', `tunnel from ${from} (${session.peerHello?.software ?? '?'}), protocol ${session.version}`);
        session.once('close', (reason) => {
          sessions.delete(session);
          log('info', `tunnel from ${from} closed: ${reason.message}`);
        });
      },
      (e: Error) => log('warn', `rejected a tunnel from ${from}: ${e.message}`),
    );
  });

  const health = createHttpServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) {
      const ready = !closing;
      res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: ready ? 'ok' : 'shutting down', ...stats() }));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: try /healthz\n');
  });

  const port = await listen(server, config.port, config.listenHost);
  // The agent's intercept ports open before the health port: readiness then means "the service's traffic is served".
  let agent: AgentListeners | undefined;
  if (config.mode === 'agent') {
    agent = await startAgentListeners(config.agentListen, {
      listenHost: config.listenHost,
      // The newest session wins: a daemon that reconnected replaces its half-dead predecessor.
      interceptor: () => [...sessions].pop(),
      log,
      tcpSockets,
      dialTimeoutMs: config.dialTimeoutMs,
    });
  }
  const healthPort = await listen(health, config.healthPort, config.listenHost);
  const forwards = agent ? `; intercept ports ${config.agentListen.map((f, i) => `${agent!.ports[i]}→app ${f.appPort}`).join(', ')}` : '';
  log('info', `${RELAY_SOFTWARE} ${RELAY_VERSION} (${config.mode}) listening: tunnel port ${port}, health port ${healthPort}${forwards}; DNS via ${config.dnsServers.map((s) => `${s.host}:${s.port}`).join(', ') || 'nothing'}`);

  function stats(): RelayStats {
    let streams = 0; let datagrams = 0; let buffered = 0; let bytesIn = 0; let bytesOut = 0;
    for (const s of sessions) {
      const st = s.stats();
      streams += st.streams; datagrams += st.datagramAssociations;
      buffered += st.receiveQueuedBytes + st.sendQueuedBytes + st.transportBacklog;
      bytesIn += st.bytesIn; bytesOut += st.bytesOut;
    }
    for (const t of tcpSockets) buffered += t.writableLength + t.readableLength;
    for (const t of tunnels) buffered += t.readableLength;
    return {
      version: RELAY_VERSION, mode: config.mode, sessions: sessions.size, streams, datagramAssociations: datagrams,
      tcpConnections: tcpSockets.size, bufferedBytes: buffered, bytesIn, bytesOut,
      ...(agent ? { agent: agent.stats() } : {}),
    };
  }

  return {
    port,
    healthPort,
    interceptPorts: agent?.ports ?? [],
    stats,
    openTowardsDaemon(target) {
      const newest = [...sessions].pop();
      if (!newest) return Promise.reject(new Error('no daemon is connected to this relay'));
      return newest.openTcp(target);
    },
    async close(reason = 'the relay is shutting down') {
      if (closing) return;
      closing = true;
      server.close();
      agent?.close();
      for (const s of [...sessions]) s.close(reason);
      for (const t of tcpSockets) t.destroy();
      for (const u of udpSockets) { try { u.close(); } catch { /* closed */ } }
      // Give GOAWAY a moment to leave, then drop whatever is left.
      const deadline = Date.now() + 2000;
      while (tunnels.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const t of tunnels) t.destroy();
      await new Promise<void>((r) => health.close(() => r()));
    },
  };
}

function listen(server: Server | HttpServer, port: number, host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      // A pod without IPv6: fall back to IPv4 for "all addresses".
      if (host === undefined && (e.code === 'EAFNOSUPPORT' || e.code === 'EADDRNOTAVAIL')) {
        server.listen(port, '0.0.0.0', () => resolve((server.address() as AddressInfo).port));
        return;
      }
      reject(new Error(`the relay cannot listen on port ${port}: ${e.message}`));
    };
    server.once('error', onError);
    server.listen({ port, host: host ?? '::', ipv6Only: false }, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
