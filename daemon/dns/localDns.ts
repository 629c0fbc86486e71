// What the daemon's connect code starts: the local DNS server answering
// cluster names through the cluster, rewriting VNAT addresses, and relaying
// everything else to the original nameservers.
import { readFileSync } from 'node:fs';
import type { DnsMapping } from './answerRewrite';
import type { ClusterResolver } from './clusterResolver';
import { DnsResolution } from './dnsResolution';
import { startDnsServer } from './dnsServer';
import { addressBytes } from './reverseNames';
import { createUpstreamForwarder, type Nameserver } from './upstreamForwarder';

export type { DnsMapping } from './answerRewrite';
export type { ClusterLookup, ClusterResolver, ClusterDnsExchange } from './clusterResolver';
export { clusterResolverOverWire } from './clusterResolver';
export type { Nameserver } from './upstreamForwarder';

/**
 * Default firewall mark of the forwarder's sockets; the nftables redirect in
 * daemon/system skips packets carrying it. Chosen clear of the marks that
 * kube-proxy (0x4000, 0x8000), Tailscale (0xff0000 byte = 0x04/0x08) and
 * wg-quick (0xca6c) use.
 */
export const DEFAULT_FORWARDER_MARK = 0x54500000;

export interface LocalDnsOptions {
  /** The TUN address; port defaults to 53. */
  listen: { address: string; port?: number };
  /** Default `cluster.local`. */
  clusterDomain?: string;
  /** The connected namespace: single-label names are looked up there. */
  namespace: string;
  namespaces?: Iterable<string>;
  /** The workstation's resolver search list (from the original resolv.conf). */
  searchDomains?: readonly string[];
  /** Where non-cluster names go: the nameservers configured before we changed anything. */
  originalNameservers: readonly Nameserver[];
  /** SO_MARK of forwarded queries; set whenever the nftables redirect is used (it must match). */
  socketMark?: number;
  clusterResolver: ClusterResolver;
  toVirtual: (realIp: string) => string | undefined;
  toReal?: (virtualIp: string) => string | undefined;
  onMapping?: (mapping: DnsMapping) => void;
  /** Default 5 s. */
  maxTtlSeconds?: number;
  /** Default 2000 ms, then SERVFAIL. */
  clusterTimeoutMs?: number;
  virtualSubnets?: readonly string[];
  clusterSubnets?: readonly string[];
  maxInFlight?: number;
}

export interface LocalDns {
  readonly address: string;
  readonly port: number;
  readonly resolution: DnsResolution;
  setNamespaces(namespaces: Iterable<string>): void;
  close(): Promise<void>;
}

export async function startLocalDns(opts: LocalDnsOptions): Promise<LocalDns> {
  const port = opts.listen.port ?? 53;
  // Never forward to ourselves: that would loop until the deadline.
  const upstream = opts.originalNameservers.filter((ns) => !(sameIp(ns.address, opts.listen.address) && ns.port === port));
  const upstreamForwarder = createUpstreamForwarder({
    nameservers: upstream,
    socketMark: opts.socketMark,
    // The mark means the nftables redirect is in place, and with it the port reuse portQuarantine.ts explains.
    udpPortHoldMs: opts.socketMark === undefined ? 0 : conntrackUdpHoldMs(),
  });
  const resolution = new DnsResolution({
    clusterDomain: opts.clusterDomain,
    namespace: opts.namespace,
    namespaces: opts.namespaces,
    searchDomains: opts.searchDomains,
    clusterResolver: opts.clusterResolver,
    forward: upstreamForwarder.forward,
    isOwnQuery: upstreamForwarder.isOwnQuery,
    toVirtual: opts.toVirtual,
    toReal: opts.toReal,
    onMapping: opts.onMapping,
    maxTtlSeconds: opts.maxTtlSeconds,
    clusterTimeoutMs: opts.clusterTimeoutMs,
    virtualSubnets: opts.virtualSubnets,
    clusterSubnets: opts.clusterSubnets,
  });
  const server = await startDnsServer({ address: opts.listen.address, port, resolution, maxInFlight: opts.maxInFlight });
  return {
    address: server.address,
    port: server.port,
    resolution,
    setNamespaces: (namespaces) => resolution.setNamespaces(namespaces),
    close: async () => {
      await server.close();
      upstreamForwarder.close();
    },
  };
}

/** How long conntrack remembers a finished UDP exchange here, plus a margin for timer slack. */
export function conntrackUdpHoldMs(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): number {
  let seconds = DEFAULT_CONNTRACK_UDP_TIMEOUT_SECONDS;
  try {
    const value = Number(read('/proc/sys/net/netfilter/nf_conntrack_udp_timeout').trim());
    if (Number.isInteger(value) && value > 0 && value <= 3600) seconds = value;
  } catch {
    /* no conntrack sysctls visible (module not loaded yet): the kernel's default applies */
  }
  return seconds * 1000 + 2000;
}

const DEFAULT_CONNTRACK_UDP_TIMEOUT_SECONDS = 30;

function sameIp(a: string, b: string): boolean {
  try {
    const x = addressBytes(a), y = addressBytes(b);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  } catch {
    return false;
  }
}
