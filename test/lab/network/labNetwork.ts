// The lab's fixed topology:
//
//   <name>-ws (workstation)                <name>-vpn (VPN far side)
//     vpn0 192.168.231.2 ──────────────────── ws0 192.168.231.1 (gateway)
//       routes: VPN CIDRs via the gateway       lo: corporate host + DNS
//     api0 192.168.230.2 ──┐
//                          │ (API server traffic only: /32 peers)
//   <name>-node            │
//     ws0 192.168.230.1 ───┘   API server :6443
//     cbr0 <pod cidr>.1        bridge of the pod veths, cluster DNS :53
//
// Every interface is created inside a namespace (never in the host's); no
// namespace has a default route, so nothing reaches the host's network.
import { mkdirSync, writeFileSync } from 'node:fs';
import type { LabPlan } from '../labPlan';
import { ipBatch, run } from './run';

export function workstationResolvConf(plan: LabPlan): string {
  return `# Written by the Telepresence lab: the workstation's resolver is the corporate DNS behind the VPN.\nnameserver ${plan.vpnDns}\n`;
}

export async function createLabNetwork(plan: LabPlan): Promise<void> {
  const { workstation: ws, node, vpn } = plan.netns;
  for (const ns of [ws, node, vpn]) await run('ip', ['netns', 'add', ns]);

  // Workstation ⇄ VPN far side. Its links get no IPv6 link-local address: one would appear a
  // moment after `up` (after DAD) and race every before/after snapshot of the routing table.
  const v = plan.vpnLink;
  await ipBatch(ws, [
    'link set lo up',
    `link add ${v.workstationDevice} type veth peer name ${v.vpnDevice} netns ${vpn}`,
    `addr add ${v.workstationAddress}/32 peer ${v.gateway}/32 dev ${v.workstationDevice}`,
    `link set dev ${v.workstationDevice} addrgenmode none`,
    `link set ${v.workstationDevice} up`,
    ...plan.vpnCidrs.map((c) => `route add ${c} via ${v.gateway} dev ${v.workstationDevice}`),
  ]);
  const corporate = [...new Set([plan.vpnHost, plan.vpnDns])].filter((a) => a !== v.gateway);
  await ipBatch(vpn, [
    'link set lo up',
    `addr add ${v.gateway}/32 peer ${v.workstationAddress}/32 dev ${v.vpnDevice}`,
    `link set ${v.vpnDevice} up`,
    ...corporate.map((a) => `addr add ${a}/32 dev lo`),
  ]);

  // Workstation ⇄ node: the API server only.
  const a = plan.apiLink;
  await ipBatch(ws, [
    `link add ${a.workstationDevice} type veth peer name ${a.nodeDevice} netns ${node}`,
    `addr add ${a.workstationAddress}/32 peer ${a.nodeAddress}/32 dev ${a.workstationDevice}`,
    `link set dev ${a.workstationDevice} addrgenmode none`,
    `link set ${a.workstationDevice} up`,
  ]);
  await ipBatch(node, [
    'link set lo up',
    `addr add ${a.nodeAddress}/32 peer ${a.workstationAddress}/32 dev ${a.nodeDevice}`,
    `link set ${a.nodeDevice} up`,
    `link add ${plan.bridge.device} type bridge`,
    `addr add ${plan.bridge.address}/${plan.bridge.prefix} dev ${plan.bridge.device}`,
    `link set ${plan.bridge.device} up`,
    // Service addresses go towards the bridge so that kube-proxy's DNAT (or its reject) sees them.
    `route add ${plan.serviceCidr} dev ${plan.bridge.device}`,
  ]);
  // Pods route everything through the node (see podNetwork.ts), so the node forwards cbr0 → cbr0: no redirects.
  await run('ip', ['netns', 'exec', node, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.send_redirects=0', `net.ipv4.conf.${plan.bridge.device}.send_redirects=0`]);
  // With br_netfilter loaded, a pod reaching itself through its Service would be DNATed while
  // still a bridged frame and sent back out its own port (dropped without hairpin mode).
  // Everything here is routed anyway, so bridged frames need no netfilter.
  await run('ip', ['netns', 'exec', node, 'sysctl', '-e', '-q', '-w', 'net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-ip6tables=0', 'net.bridge.bridge-nf-call-arptables=0']);

  mkdirSync(`/etc/netns/${ws}`, { recursive: true });
  writeFileSync(`/etc/netns/${ws}/resolv.conf`, workstationResolvConf(plan));
}
