// What the daemon and the relay script agree on besides the wire protocol:
// the relay's version, its ports and the environment it reads. The daemon
// imports this module to build the relay's pod spec and to notice a relay
// deployed by an older daemon (compare HelloAccept.softwareVersion).

/** Bump whenever relay behaviour changes; the daemon redeploys a relay reporting another version. */
export const RELAY_VERSION = '0.3.1';
export const RELAY_SOFTWARE = 'tpv-relay';

/** Tunnel port (container port the daemon port-forwards to). */
export const DEFAULT_RELAY_PORT = 8022;
/** HTTP readiness/liveness port: GET /healthz, /readyz (JSON stats). */
export const DEFAULT_RELAY_HEALTH_PORT = 8023;

/**
 * The traffic agent's preferred ports (it shares the app's network namespace,
 * so the injection moves them when an app container already declares one).
 */
export const DEFAULT_AGENT_PORTS = { intercept: 9900, tunnel: 9901, health: 9902 } as const;

export const RelayEnv = {
  /** Tunnel listen port (default 8022; 0 picks a free port, for tests). */
  port: 'TPV_RELAY_PORT',
  /** Health listen port (default 8023; 0 picks a free port). */
  healthPort: 'TPV_RELAY_HEALTH_PORT',
  /** Listen address (default all addresses, IPv6 and IPv4). */
  listenHost: 'TPV_RELAY_LISTEN_HOST',
  /** The session secret itself. */
  secret: 'TPV_RELAY_SECRET',
  /** A file holding the secret (one per line; any line matches, which allows rotation). Read per connection. */
  secretFile: 'TPV_RELAY_SECRET_FILE',
  /** DNS servers to forward to, `host[:port]`, comma separated; default: nameservers of /etc/resolv.conf. */
  dnsServer: 'TPV_RELAY_DNS_SERVER',
  /** resolv.conf to read (default /etc/resolv.conf). */
  resolvConf: 'TPV_RELAY_RESOLV_CONF',
  /** debug | info | warn | error (default info). */
  logLevel: 'TPV_RELAY_LOG_LEVEL',
  /** relay | agent (default relay). */
  mode: 'TPV_RELAY_MODE',
  /**
   * Agent mode: `LISTEN:APP[,LISTEN:APP...]`. The agent accepts the service's
   * traffic on LISTEN and forwards it to 127.0.0.1:APP (the app container, same
   * pod network), or to the daemon holding the intercept.
   */
  agentListen: 'TPV_AGENT_LISTEN',
  /** Downward API values, reported to the daemon in the handshake. */
  podName: 'TPV_POD_NAME',
  podNamespace: 'TPV_POD_NAMESPACE',
  podIp: 'TPV_POD_IP',
} as const;

/** True when a relay reporting `reported` must be redeployed by this daemon. */
export function isRelayOutdated(reported: string): boolean {
  return reported !== RELAY_VERSION;
}
