// The traffic agent's side of an intercept. The Service's target port lands
// on the agent's listener (the injection moved it there); each connection
// goes either to the daemon holding the intercept, as an INBOUND stream over
// its tunnel session, or, when no daemon is connected, to the app container
// on 127.0.0.1 (same pod network namespace), so an agent left behind never
// breaks the service.
import { connect as tcpConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { pipeUntilPeerEnds } from '../net/peerEnd';
import type { TunnelSession } from '../tunnel/tunnelSession';
import { bridgeTcp } from './relayDialer';
import type { AgentForward } from './relayConfig';
import type { RelayLogger } from './relayLog';

export interface AgentListenerDeps {
  /** undefined: all addresses. */
  listenHost: string | undefined;
  /** The session of the daemon holding the intercept, if one is connected. */
  interceptor: () => TunnelSession | undefined;
  log: RelayLogger;
  /** Live connections, for stats and shutdown. */
  tcpSockets: Set<Socket>;
  dialTimeoutMs: number;
}

export interface AgentListeners {
  /** The ports listened on, in the order of the forwards (resolved when 0 was asked for). */
  ports: number[];
  stats(): { intercepted: number; passedThrough: number; refused: number };
  close(): void;
}

/** Meta keys of the INBOUND open, read by the daemon's inbound dialer. */
export const InboundMeta = { client: 'client', agentPort: 'agent-port' } as const;

export async function startAgentListeners(forwards: AgentForward[], deps: AgentListenerDeps): Promise<AgentListeners> {
  const servers: Server[] = [];
  const counts = { intercepted: 0, passedThrough: 0, refused: 0 };
  const ports: number[] = [];
  try {
    for (const f of forwards) {
      const server = createServer({ noDelay: true, allowHalfOpen: true }, (client) => onConnection(client, f, ports[forwards.indexOf(f)] ?? f.port));
      ports.push(await listen(server, f.port, deps.listenHost));
      servers.push(server);
    }
  } catch (e) {
    for (const s of servers) s.close();
    throw e;
  }

  function track(s: Socket): void {
    deps.tcpSockets.add(s);
    s.once('close', () => deps.tcpSockets.delete(s));
  }

  function onConnection(client: Socket, f: AgentForward, listenPort: number): void {
    track(client);
    const from = `${client.remoteAddress}:${client.remotePort}`;
    client.on('error', (e) => deps.log('debug', `intercept port ${listenPort}: ${from}: ${e.message}`));
    const session = deps.interceptor();
    if (session) toDaemon(client, session, f, listenPort, from);
    else toApp(client, f, from);
  }

  function toDaemon(client: Socket, session: TunnelSession, f: AgentForward, listenPort: number, from: string): void {
    counts.intercepted++;
    const target = { host: '127.0.0.1', port: f.appPort, meta: { [InboundMeta.client]: from, [InboundMeta.agentPort]: String(listenPort) } };
    // The client is connected to this listener already, so a refusal by the workstation can only
    // be a reset either way: the request may as well ride with the open (tunnel early data) and
    // save the intercepted connection a round trip to the workstation.
    const early = session.openTcpEarly(target);
    if (early) {
      early.opened.catch((e: Error) => {
        counts.refused++;
        deps.log('info', `intercepted connection from ${from} refused by the workstation: ${e.message}`);
      });
      bridgeTcp(early.stream, client, `intercepted ${from}`, deps.log);
      return;
    }
    // A protocol-1 daemon: nothing is read until it has a local connection; a refused one resets the client cleanly.
    client.pause();
    session.openTcp(target).then(
      (stream) => {
        if (client.destroyed) { stream.destroy(); return; }
        bridgeTcp(stream, client, `intercepted ${from}`, deps.log);
      },
      (e: Error) => {
        counts.refused++;
        deps.log('info', `intercepted connection from ${from} refused by the workstation: ${e.message}`);
        if (!client.destroyed) client.resetAndDestroy();
      },
    );
  }

  function toApp(client: Socket, f: AgentForward, from: string): void {
    counts.passedThrough++;
    client.pause();
    const app = tcpConnect({ host: '127.0.0.1', port: f.appPort, allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(() => app.destroy(new Error(`the app did not accept within ${deps.dialTimeoutMs} ms`)), deps.dialTimeoutMs);
    app.once('connect', () => {
      clearTimeout(timer);
      track(app);
      spliceSockets(client, app);
    });
    app.once('error', (e) => {
      clearTimeout(timer);
      deps.log('debug', `${from} → app port ${f.appPort}: ${e.message}`);
      // The app refused: the client sees what it would have seen without the agent.
      if (!client.destroyed) client.resetAndDestroy();
    });
  }

  return {
    ports,
    stats: () => ({ ...counts }),
    close() {
      for (const s of servers) s.close();
    },
  };
}

/** Joins two sockets both ways, with half-close and resets passed on. */
export function spliceSockets(a: Socket, b: Socket): void {
  const reset = (other: Socket) => () => { if (!other.destroyed) other.resetAndDestroy(); };
  // Each side ends the other on its real FIN only: Node may report a reset as an end.
  pipeUntilPeerEnds(a, b, reset(b));
  pipeUntilPeerEnds(b, a, reset(a));
  a.on('error', reset(b));
  b.on('error', reset(a));
  a.once('close', () => { if (!b.destroyed && !b.writableEnded) b.destroy(); });
  b.once('close', () => { if (!a.destroyed && !a.writableEnded) a.destroy(); });
}

function listen(server: Server, port: number, host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      if (host === undefined && (e.code === 'EAFNOSUPPORT' || e.code === 'EADDRNOTAVAIL')) {
        server.listen(port, '0.0.0.0', () => resolve((server.address() as AddressInfo).port));
        return;
      }
      reject(new Error(`the agent cannot listen on intercept port ${port}: ${e.message}`));
    };
    server.once('error', onError);
    server.listen({ port, host: host ?? '::', ipv6Only: false }, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
