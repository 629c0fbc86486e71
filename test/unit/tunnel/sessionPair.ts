// A daemon-side and a relay-side session joined by an in-memory pipe.
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { TunnelSession, type AcceptOptions, type ConnectOptions } from '../../../daemon/tunnel/tunnelSession';
import { memoryPipe } from './memoryPipe';

export const TEST_SECRET = 'test-secret-0123456789';

export interface SessionPair {
  daemon: TunnelSession;
  relay: TunnelSession;
  daemonEnd: Duplex;
  relayEnd: Duplex;
}

export async function sessionPair(
  daemonOpts: Partial<ConnectOptions> = {},
  relayOpts: Partial<AcceptOptions> = {},
  pipeHighWaterMark?: number,
  latencyMs?: number,
): Promise<SessionPair> {
  const [daemonEnd, relayEnd] = memoryPipe({ highWaterMark: pipeHighWaterMark, latencyMs });
  const relayP = TunnelSession.accept(relayEnd, {
    expectedSecret: TEST_SECRET,
    hello: { software: 'tpv-relay', softwareVersion: 'test', mode: 'relay' },
    keepaliveIntervalMs: 0,
    ...relayOpts,
  });
  const daemonP = TunnelSession.connect(daemonEnd, { secret: TEST_SECRET, software: 'tpv-daemon/test', keepaliveIntervalMs: 0, ...daemonOpts });
  const [daemon, relay] = await Promise.all([daemonP, relayP]);
  return { daemon, relay, daemonEnd, relayEnd };
}

/** Reads a stream to its end without destroying it (its write side may still be in use). */
export function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (c: Buffer) => parts.push(c));
    s.once('end', () => resolve(Buffer.concat(parts)));
    s.once('error', reject);
  });
}

/** Waits for an event while keeping the event loop alive (session timers are unref'd). */
export async function onceAlive<T extends unknown[]>(emitter: NodeJS.EventEmitter, event: string, ms = 5000): Promise<T> {
  const keep = setTimeout(() => {}, ms);
  try {
    return (await once(emitter, event)) as T;
  } finally {
    clearTimeout(keep);
  }
}

export function patterned(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; b[i] = x & 0xff; }
  return b;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves when `cond` holds, polling; rejects after `ms`. */
export async function until(cond: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
