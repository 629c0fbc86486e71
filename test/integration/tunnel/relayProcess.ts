// Runs the built relay (dist/relay.js) as a child process on loopback, the
// way the pod runs it, and connects daemon-side sessions to it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { TunnelSession, type ConnectOptions } from '../../../daemon/tunnel/tunnelSession';
import { RelayEnv } from '../../../daemon/relay/relayConstants';
import { onTestProcessExit } from '../../support/netns';

export const RELAY_SCRIPT = join(__dirname, '../../../dist/relay.js');
export const SECRET = 'integration-secret-4f1c9a';

export interface RelayProcess {
  child: ChildProcess;
  port: number;
  healthPort: number;
  output: () => string;
  /** Resolves with the exit code/signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

export async function startRelayProcess(env: Record<string, string> = {}, fixedPort?: number): Promise<RelayProcess> {
  if (!existsSync(RELAY_SCRIPT)) throw new Error(`${RELAY_SCRIPT} is missing: run \`node scripts/build.mjs\` first`);
  const child = spawn(process.execPath, [RELAY_SCRIPT], {
    env: {
      PATH: process.env.PATH ?? '',
      [RelayEnv.secret]: SECRET,
      [RelayEnv.port]: String(fixedPort ?? 0),
      [RelayEnv.healthPort]: '0',
      [RelayEnv.listenHost]: '127.0.0.1',
      [RelayEnv.dnsServer]: '127.0.0.1:9', // never contacted unless a test sets its own
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const forget = onTestProcessExit(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => { forget(); resolve({ code, signal }); });
  });
  const ports = await new Promise<{ port: number; healthPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the relay did not start within 5 s:\n${out}`)), 5000);
    const check = () => {
      const m = /ready tunnel=(\d+) health=(\d+)/.exec(out);
      if (m) { clearTimeout(timer); child.stdout!.off('data', check); resolve({ port: Number(m[1]), healthPort: Number(m[2]) }); }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the relay exited with ${code}:\n${out}`)); });
  });
  return { child, ...ports, output: () => out, exited, kill: (sig = 'SIGKILL') => { child.kill(sig); } };
}

export function tcpTransport(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, noDelay: true }, () => { s.off('error', reject); resolve(s); });
    s.once('error', reject);
  });
}

export async function connectSession(port: number, opts: Partial<ConnectOptions> = {}): Promise<TunnelSession> {
  return TunnelSession.connect(await tcpTransport(port), { secret: SECRET, software: 'tpv-daemon/test', ...opts });
}

export async function relayHealth(healthPort: number): Promise<{ status: string; version: string; bufferedBytes: number; sessions: number; streams: number; tcpConnections: number }> {
  const r = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
  return (await r.json()) as never;
}

/** A TCP echo server on loopback. */
export async function echoServer(): Promise<{ port: number; server: Server; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

/** A loopback port with nothing listening (bound, read, released). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
