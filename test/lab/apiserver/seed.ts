// What a fresh cluster has before anyone writes: the system namespaces and
// the lab's nodes (Ready, with their pod CIDRs) .
import type { Registry } from './registry';

export function seedCluster(registry: Registry, nodes: Array<{ name: string; podCidr: string; internalIp: string }>): void {
  const nsType = registry.type('', 'namespaces');
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    if (!registry.find(nsType, undefined, name)) registry.create(nsType, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  const nodeType = registry.type('', 'nodes');
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  for (const n of nodes) {
    registry.create(nodeType, undefined, {
      apiVersion: 'v1', kind: 'Node',
      metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'node-role.kubernetes.io/control-plane': '' } },
      spec: { podCIDR: n.podCidr, podCIDRs: [n.podCidr] },
      status: {
        addresses: [{ type: 'InternalIP', address: n.internalIp }, { type: 'Hostname', address: n.name }],
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'lab node', lastHeartbeatTime: now, lastTransitionTime: now }],
        capacity: { cpu: '2', memory: '4Gi', pods: '110' }, allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
        nodeInfo: { kubeletVersion: 'v1.32.0-tpv-lab', kubeProxyVersion: 'v1.32.0-tpv-lab', operatingSystem: 'linux', architecture: 'amd64', containerRuntimeVersion: 'tpv-lab://1', osImage: 'tpv lab', kernelVersion: '', machineID: '', systemUUID: '', bootID: '' },
      },
    });
  }
}
