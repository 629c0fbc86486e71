// kube-proxy's job as one nftables table, rebuilt whole on every change and
// applied in one `nft -f` transaction (no window with half a ruleset):
// - ClusterIP:port → a ready endpoint, chosen with `numgen random`;
// - NodePorts on every local address of the node;
// - masquerade when a pod reaches itself through its Service (hairpin; it
//   would otherwise see a packet from its own address) and for NodePort
//   traffic, like kube-proxy's mark-for-masquerade;
// - a reject for service addresses that nothing DNATed (no ready endpoint),
//   so clients get "connection refused" instead of a timeout.
import type { V1Endpoints, V1Service } from '@kubernetes/client-node';

export const PROXY_TABLE = 'tpvlab';
const MASQ_MARK = '0x00004000';

export interface ProxyBackend { ip: string; port: number }
export interface ProxyServicePort {
  key: string;
  clusterIP: string;
  protocol: 'tcp' | 'udp' | 'sctp';
  port: number;
  nodePort?: number;
  backends: ProxyBackend[];
}

/** Service ports with their ready backends, matched by port name and protocol as kube-proxy does. */
export function proxyServicePorts(services: V1Service[], endpoints: V1Endpoints[]): ProxyServicePort[] {
  const byKey = new Map(endpoints.map((e) => [`${e.metadata?.namespace}/${e.metadata?.name}`, e]));
  const out: ProxyServicePort[] = [];
  for (const s of services) {
    const ip = s.spec?.clusterIP;
    if (!ip || ip === 'None') continue;
    const key = `${s.metadata?.namespace}/${s.metadata?.name}`;
    const ep = byKey.get(key);
    for (const sp of s.spec?.ports ?? []) {
      const protocol = (sp.protocol ?? 'TCP').toLowerCase() as ProxyServicePort['protocol'];
      const backends: ProxyBackend[] = [];
      for (const subset of ep?.subsets ?? []) {
        const port = (subset.ports ?? []).find((p) => (p.name ?? '') === (sp.name ?? '') && (p.protocol ?? 'TCP').toLowerCase() === protocol);
        if (!port) continue;
        for (const a of subset.addresses ?? []) backends.push({ ip: a.ip, port: port.port });
      }
      backends.sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1));
      out.push({
        key: `${key}/${protocol}/${sp.name || sp.port}`,
        clusterIP: ip, protocol, port: sp.port,
        ...(sp.nodePort && (s.spec?.type === 'NodePort' || s.spec?.type === 'LoadBalancer') ? { nodePort: sp.nodePort } : {}),
        backends,
      });
    }
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function chainName(prefix: string, key: string): string {
  // nft identifiers allow letters, digits, / - _ . — keep the service's name readable.
  return `${prefix}-${key.replace(/[^A-Za-z0-9/_.-]/g, '_')}`;
}

export function proxyRuleset(serviceCidr: string, ports: ProxyServicePort[], table = PROXY_TABLE): string {
  const lines: string[] = [];
  const services: string[] = [];
  const nodePorts: string[] = [];
  const chains: string[] = [];
  for (const sp of ports) {
    if (sp.backends.length === 0) continue; // left to the reject rule
    const svc = chainName('svc', sp.key);
    services.push(`    ip daddr ${sp.clusterIP} ${sp.protocol} dport ${sp.port} jump ${svc}`);
    if (sp.nodePort) nodePorts.push(`    ${sp.protocol} dport ${sp.nodePort} meta mark set meta mark | ${MASQ_MARK} jump ${svc}`);
    const epChains = sp.backends.map((b) => chainName('ep', `${sp.key}/${b.ip}/${b.port}`));
    const pick = sp.backends.length === 1
      ? `    jump ${epChains[0]}`
      : `    numgen random mod ${sp.backends.length} vmap { ${epChains.map((c, i) => `${i} : jump ${c}`).join(', ')} }`;
    chains.push(`  chain ${svc} {`, pick, '  }');
    sp.backends.forEach((b, i) => {
      chains.push(
        `  chain ${epChains[i]} {`,
        `    ip saddr ${b.ip} meta mark set meta mark | ${MASQ_MARK}`,
        `    meta l4proto ${sp.protocol} dnat to ${b.ip}:${b.port}`,
        '  }',
      );
    });
  }
  lines.push(
    `table ip ${table}`,
    `delete table ip ${table}`,
    `table ip ${table} {`,
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    '    jump services',
    '  }',
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    '    jump services',
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    meta mark & ${MASQ_MARK} == ${MASQ_MARK} masquerade`,
    '  }',
    '  chain reject-forward {',
    '    type filter hook forward priority filter; policy accept;',
    `    ip daddr ${serviceCidr} reject`,
    '  }',
    '  chain reject-output {',
    '    type filter hook output priority filter; policy accept;',
    `    ip daddr ${serviceCidr} reject`,
    '  }',
    '  chain services {',
    ...services,
    '    fib daddr type local jump nodeports',
    '  }',
    '  chain nodeports {',
    ...nodePorts,
    '  }',
    ...chains,
    '}',
  );
  return lines.join('\n') + '\n';
}
