// Pod subnets: the nodes' `spec.podCIDRs` when the cluster sets them (most
// do); otherwise the /16s that cover the pods' IPs, so that new pods on the
// same nodes stay reachable.
import type { CoreV1Api } from '@kubernetes/client-node';

export interface NodeCidrInfo {
  podCIDR?: string;
  podCIDRs?: string[];
}

export function podCidrsFromNodes(nodes: NodeCidrInfo[]): string[] {
  const set = new Set<string>();
  for (const n of nodes) {
    for (const c of n.podCIDRs ?? []) set.add(c);
    if (n.podCIDR) set.add(n.podCIDR);
  }
  return [...set].sort();
}

/** Covers IPv4 pod IPs by /16 and IPv6 pod IPs by /64. */
export function coverPodIps(ips: string[]): string[] {
  const set = new Set<string>();
  for (const ip of ips) {
    if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) {
      const [a, b] = ip.split('.');
      set.add(`${a}.${b}.0.0/16`);
    } else if (ip.includes(':')) {
      const groups = expandV6(ip).slice(0, 4).map((g) => g.replace(/^0+(?=.)/, ''));
      set.add(`${groups.join(':')}::/64`);
    }
  }
  return [...set].sort();
}

function expandV6(ip: string): string[] {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t];
}

export async function discoverPodCidrs(core: CoreV1Api): Promise<string[]> {
  const nodes = await core.listNode();
  const fromNodes = podCidrsFromNodes(nodes.items.map((n) => n.spec ?? {}));
  if (fromNodes.length > 0) return fromNodes;
  const pods = await core.listPodForAllNamespaces();
  const ips = pods.items.flatMap((p) => (p.status?.podIPs ?? []).map((x) => x.ip)).filter((x): x is string => !!x);
  // Host-network pods carry node addresses, which are not pod subnets.
  const hostIps = new Set(pods.items.filter((p) => p.spec?.hostNetwork).map((p) => p.status?.podIP));
  return coverPodIps(ips.filter((ip) => !hostIps.has(ip)));
}
