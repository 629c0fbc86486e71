// The relay's configuration, from its environment. Pure: the file reader is
// passed in, so the rules are unit tested without a pod.
import { DEFAULT_RELAY_HEALTH_PORT, DEFAULT_RELAY_PORT, RelayEnv } from './relayConstants';
import { isRelayLogLevel, type RelayLogLevel } from './relayLog';
import { parseDnsServers, parseResolvConf, type DnsServerAddress } from './resolvConf';
import type { RelayDnsConfig } from '../tunnel/handshake';

export interface RelayConfig {
  port: number;
  healthPort: number;
  /** undefined: all addresses. */
  listenHost: string | undefined;
  /** Returns the accepted secrets, read fresh (a mounted Secret file may change). */
  secrets: () => string[];
  dnsServers: DnsServerAddress[];
  /** Reported to the daemon so it can apply the pod's search paths. */
  dns: RelayDnsConfig;
  logLevel: RelayLogLevel;
  mode: 'relay' | 'agent';
  pod: { name?: string; namespace?: string; ip?: string };
  dialTimeoutMs: number;
  /** Agent mode: the ports the service's traffic lands on, each with the app port behind it. */
  agentListen: AgentForward[];
}

export interface AgentForward {
  /** Where the agent accepts the service's connections (0: any free port, for tests). */
  port: number;
  /** The app container's port on 127.0.0.1. */
  appPort: number;
}

export type Env = Record<string, string | undefined>;

export function relayConfigFromEnv(env: Env, readText: (path: string) => string): RelayConfig {
  const port = portFrom(env, RelayEnv.port, DEFAULT_RELAY_PORT);
  const healthPort = portFrom(env, RelayEnv.healthPort, DEFAULT_RELAY_HEALTH_PORT);
  const secrets = secretSource(env, readText);
  // Fail at start, not at the first connection, when no secret is configured.
  if (secrets().length === 0) {
    throw new Error(`the relay needs a session secret: set ${RelayEnv.secret} or ${RelayEnv.secretFile} (the daemon stores it in the relay's Secret)`);
  }
  let resolv: RelayDnsConfig = { nameservers: [], search: [], ndots: 1 };
  const resolvPath = env[RelayEnv.resolvConf] || '/etc/resolv.conf';
  try { resolv = parseResolvConf(readText(resolvPath)); } catch { /* no resolv.conf: DNS only works with TPV_RELAY_DNS_SERVER */ }
  const dnsServers = env[RelayEnv.dnsServer]
    ? parseDnsServers(env[RelayEnv.dnsServer]!)
    : resolv.nameservers.map((host) => ({ host, port: 53 }));
  const logLevel = env[RelayEnv.logLevel] ?? 'info';
  if (!isRelayLogLevel(logLevel)) throw new Error(`${RelayEnv.logLevel}="${logLevel}" is not one of debug, info, warn, error`);
  const mode = env[RelayEnv.mode] ?? 'relay';
  if (mode !== 'relay' && mode !== 'agent') throw new Error(`${RelayEnv.mode}="${mode}" is not relay or agent`);
  const listenText = env[RelayEnv.agentListen] ?? '';
  const agentListen = listenText.trim() === AGENT_LISTEN_NONE ? [] : parseAgentListen(listenText);
  // An agent with nothing to listen on would pass its readiness probe and serve nobody,
  // unless that is what it is for: a --proxy-via agent only dials for the daemon.
  if (mode === 'agent' && agentListen.length === 0 && listenText.trim() !== AGENT_LISTEN_NONE) {
    throw new Error(`agent mode needs ${RelayEnv.agentListen}=LISTEN:APP (e.g. 9900:8080), or ${RelayEnv.agentListen}=${AGENT_LISTEN_NONE} for an agent that only dials (--proxy-via)`);
  }
  return {
    port, healthPort,
    listenHost: env[RelayEnv.listenHost] || undefined,
    secrets,
    dnsServers,
    dns: { ...resolv, nameservers: dnsServers.map((s) => (s.port === 53 ? s.host : `${s.host}:${s.port}`)) },
    logLevel,
    mode,
    pod: { name: env[RelayEnv.podName], namespace: env[RelayEnv.podNamespace], ip: env[RelayEnv.podIp] },
    dialTimeoutMs: 10_000,
    agentListen,
  };
}

/** The TPV_AGENT_LISTEN value of an agent without intercept ports (a --proxy-via agent). */
export const AGENT_LISTEN_NONE = 'none';

/** `LISTEN:APP[,LISTEN:APP...]`; empty text → none. */
export function parseAgentListen(text: string): AgentForward[] {
  const out: AgentForward[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d{1,5}):(\d{1,5})$/.exec(part);
    const port = Number(m?.[1]);
    const appPort = Number(m?.[2]);
    if (!m || port > 65535 || appPort < 1 || appPort > 65535) throw new Error(`${RelayEnv.agentListen}: "${part}" is not LISTEN:APP (two port numbers)`);
    if (port !== 0 && out.some((f) => f.port === port)) throw new Error(`${RelayEnv.agentListen}: port ${port} is listed twice`);
    out.push({ port, appPort });
  }
  return out;
}

function portFrom(env: Env, name: string, dflt: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name}="${v}" is not a port number`);
  return n;
}

function secretSource(env: Env, readText: (path: string) => string): () => string[] {
  const inline = env[RelayEnv.secret];
  const file = env[RelayEnv.secretFile];
  return () => {
    const out: string[] = [];
    if (inline) out.push(inline.trim());
    if (file) {
      try {
        for (const line of readText(file).split('\n')) if (line.trim()) out.push(line.trim());
      } catch { /* an unreadable file accepts nobody; the inline secret may still match */ }
    }
    return out.filter(Boolean);
  };
}
