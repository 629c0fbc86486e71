// One call for the connect code: given the integration chosen at runtime
// (dnsIntegration.ts), the operation that sends cluster names to our DNS
// server, and the nameservers our forwarder should relay everything else to.
import { parseResolvConf, RESOLV_CONF, RESOLVED_UPSTREAM_RESOLV_CONF, type ResolvConf } from '../dns/resolvConf';
import type { CommandRunner } from './commandRunner';
import type { DnsIntegration } from './dnsIntegration';
import type { HostOperation } from './hostOperation';
import { NftDnsRedirectOperation, spawnDirect, type ProcessSpawner } from './nftDnsRedirect';
import { clusterRoutingDomains, ResolvedLinkOperation } from './resolvedLinkDns';

export interface ClusterDnsWiring {
  integration: DnsIntegration;
  /** Our TUN device. */
  device: string;
  /** Where our DNS server listens (the TUN address). */
  dnsAddress: string;
  dnsPort?: number;
  clusterDomain: string;
  /** The connected namespace. */
  namespace: string;
  namespaces: readonly string[];
  /** The nameservers found before connecting (see `originalResolverConfig`). */
  originalNameservers: readonly string[];
  /** The forwarder's socket mark (DEFAULT_FORWARDER_MARK in daemon/dns/localDns.ts). */
  bypassMark: number;
  onRedirectLost?: (reason: string) => void;
}

/** The host operation wiring cluster DNS for the chosen integration. */
export function clusterDnsOperation(w: ClusterDnsWiring, run: CommandRunner, spawn: ProcessSpawner = spawnDirect): HostOperation {
  switch (w.integration) {
    case 'systemd-resolved':
      return new ResolvedLinkOperation({
        link: w.device,
        servers: [{ address: w.dnsAddress, port: w.dnsPort }],
        routingDomains: clusterRoutingDomains(w.clusterDomain, w.namespaces),
        // Makes `echo` reach us as echo.<namespace>.svc.<domain> through resolved's search logic.
        searchDomains: [`${w.namespace}.svc.${w.clusterDomain}`],
      }, run);
    case 'nft-redirect': {
      const v6 = w.dnsAddress.includes(':');
      return new NftDnsRedirectOperation({
        nameservers: w.originalNameservers,
        targetV4: v6 ? undefined : w.dnsAddress,
        targetV6: v6 ? w.dnsAddress : undefined,
        targetPort: w.dnsPort,
        bypassMark: w.bypassMark,
        onOwnerLost: w.onRedirectLost,
      }, run, spawn);
    }
    case 'macos-resolver':
      throw new Error('cluster DNS on macOS (/etc/resolver files) is not implemented yet; macResolverFiles() gives their contents');
  }
}

/**
 * The resolver configuration before we change anything. With systemd-resolved,
 * /etc/resolv.conf names its stub, which would route our own forwarded
 * questions for `~<namespace>` domains back to us: forward to the upstream
 * servers resolved itself uses instead (keeping /etc/resolv.conf's search list).
 */
export function originalResolverConfig(integration: DnsIntegration, read: (path: string) => string): ResolvConf {
  const system = parseResolvConf(read(RESOLV_CONF));
  if (integration !== 'systemd-resolved') return system;
  let upstream: ResolvConf;
  try {
    upstream = parseResolvConf(read(RESOLVED_UPSTREAM_RESOLV_CONF));
  } catch {
    return system;
  }
  return { ...system, nameservers: upstream.nameservers };
}
