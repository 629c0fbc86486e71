// One pod's network: its own namespace, a veth whose node end joins the
// bridge, a /32 address and a default route through the node. With /32
// addresses even pod-to-pod traffic is routed by the node, so kube-proxy's
// conntrack sees both directions and a client keeps its own address (what
// br_netfilter achieves on real nodes), without masquerading every flow.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { ipBatch, run } from './run';

export interface PodNetworkSpec {
  netns: string;
  nodeNetns: string;
  bridge: string;
  gateway: string;
  /** Node-side veth name (≤ 15 characters). */
  hostVeth: string;
  ip: string;
  hostname: string;
  resolvConf: string;
}

export function podResolvConf(nameserver: string, namespace: string, domain: string): string {
  return `nameserver ${nameserver}\nsearch ${namespace}.svc.${domain} svc.${domain} ${domain}\noptions ndots:5\n`;
}

export function podHosts(ip: string, hostname: string): string {
  return `# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${ip}\t${hostname}\n`;
}

export async function createPodNetwork(s: PodNetworkSpec): Promise<void> {
  // /etc/netns/<ns>/* is bind-mounted over /etc/* by `ip netns exec`.
  mkdirSync(`/etc/netns/${s.netns}`, { recursive: true });
  writeFileSync(`/etc/netns/${s.netns}/resolv.conf`, s.resolvConf);
  writeFileSync(`/etc/netns/${s.netns}/hosts`, podHosts(s.ip, s.hostname));
  await run('ip', ['netns', 'add', s.netns]);
  await ipBatch(s.nodeNetns, [
    `link add ${s.hostVeth} type veth peer name eth0 netns ${s.netns}`,
    `link set ${s.hostVeth} master ${s.bridge}`,
    `link set ${s.hostVeth} up`,
  ]);
  await ipBatch(s.netns, [
    'link set lo up',
    `addr add ${s.ip}/32 dev eth0`,
    'link set eth0 up',
    `route add ${s.gateway} dev eth0 scope link`,
    `route add default via ${s.gateway} dev eth0`,
  ]);
}

/** Removes the namespace (its veth goes with it) and its /etc/netns files; missing parts are fine. */
export async function deletePodNetwork(netns: string, nodeNetns: string, hostVeth: string): Promise<void> {
  await run('ip', ['netns', 'delete', netns]).catch(() => undefined);
  await run('ip', ['-n', nodeNetns, 'link', 'delete', hostVeth]).catch(() => undefined);
  rmSync(`/etc/netns/${netns}`, { recursive: true, force: true });
}
