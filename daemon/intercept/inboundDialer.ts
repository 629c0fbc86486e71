// The workstation's side of an intercept: the agent opens a stream for each
// connection the cluster sent to the intercepted port, and the daemon joins
// it to 127.0.0.1:LOCAL. The stream is accepted only once the local
// connection is up, so "nothing listens locally" travels back as
// ECONNREFUSED and the agent resets the cluster client, as the app would.
import { connect as tcpConnect } from 'node:net';
import { bridgeTcp } from '../relay/relayDialer';
import type { IncomingOpen } from '../tunnel/tunnelSession';
import { remoteCodeOf } from '../tunnel/tunnelErrors';
import { InboundMeta } from '../relay/agentListener';
import type { RelayLogger } from '../relay/relayLog';

export interface InboundDialerOptions {
  /** The local port for an app port the agent names; undefined refuses the connection. */
  localPortFor: (appPort: number) => number | undefined;
  /** Default 127.0.0.1. */
  localHost?: string;
  dialTimeoutMs?: number;
  log: RelayLogger;
  /** Told about every connection, for counters. */
  onConnection?: (outcome: 'connected' | 'refused') => void;
}

export function inboundDialer(opts: InboundDialerOptions): (req: IncomingOpen) => void {
  const host = opts.localHost ?? '127.0.0.1';
  return (req) => {
    if (req.kind !== 'tcp') {
      req.reject('ENOTSUP', 'the workstation accepts only TCP streams from an agent');
      return;
    }
    const local = opts.localPortFor(req.port);
    if (local === undefined) {
      req.reject('ECONNREFUSED', `no intercept on this workstation serves port ${req.port}`);
      opts.onConnection?.('refused');
      return;
    }
    const client = req.meta?.[InboundMeta.client] ?? 'the cluster';
    const socket = tcpConnect({ host, port: local, allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`${host}:${local} did not accept within ${opts.dialTimeoutMs ?? 10_000} ms`), { code: 'ETIMEDOUT' })), opts.dialTimeoutMs ?? 10_000);
    const onDialError = (e: Error) => {
      clearTimeout(timer);
      opts.log('info', `intercepted connection from ${client}: nothing accepts on ${host}:${local} (${e.message}); the cluster client is reset`);
      opts.onConnection?.('refused');
      req.reject(remoteCodeOf(e), `${host}:${local} on the workstation: ${e.message}`);
    };
    socket.once('error', onDialError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onDialError);
      if (req.cancelled) { socket.destroy(); return; }
      let stream;
      try {
        stream = req.acceptStream();
      } catch {
        socket.destroy();
        return;
      }
      opts.onConnection?.('connected');
      opts.log('debug', `intercepted connection from ${client} → ${host}:${local}`);
      bridgeTcp(stream, socket, `${host}:${local}`, opts.log);
    });
  };
}
