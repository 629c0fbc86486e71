// The records a cluster DNS server (CoreDNS's `kubernetes` plugin) serves,
// built from Services, Endpoints and Pods, and the answer to one question.
// Pure: the server rebuilds the index whenever the watched objects change.
import type { Answer } from 'dns-packet';
import type { V1Endpoints, V1Pod, V1Service } from '@kubernetes/client-node';

export const CLUSTER_DNS_TTL = 5;

export interface DnsIndex {
  domain: string;
  a: Map<string, string[]>;
  srv: Map<string, Array<{ port: number; target: string }>>;
  ptr: Map<string, string>;
  /** Names that exist (with or without records of a type): NODATA instead of NXDOMAIN. */
  names: Set<string>;
}

export interface DnsAnswer {
  rcode: 'NOERROR' | 'NXDOMAIN';
  answers: Answer[];
  authority: Answer[];
}

function dashed(ip: string): string {
  return ip.replace(/\./g, '-');
}

function reverseName(ip: string): string {
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}

function addAll(index: DnsIndex, name: string): void {
  // Every ancestor inside the cluster domain exists as an empty non-terminal.
  for (let n = name; n.length >= index.domain.length; n = n.slice(n.indexOf('.') + 1)) {
    index.names.add(n);
    if (!n.includes('.')) break;
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function buildDnsIndex(domain: string, services: V1Service[], endpoints: V1Endpoints[], pods: V1Pod[]): DnsIndex {
  const index: DnsIndex = { domain: domain.toLowerCase(), a: new Map(), srv: new Map(), ptr: new Map(), names: new Set() };
  const eps = new Map(endpoints.map((e) => [`${e.metadata?.namespace}/${e.metadata?.name}`, e]));
  const podsByIp = new Map<string, V1Pod>();
  for (const p of pods) if (p.status?.podIP) podsByIp.set(p.status.podIP, p);
  for (const s of services) {
    const ns = s.metadata?.namespace ?? 'default';
    const svcName = `${s.metadata?.name}.${ns}.svc.${index.domain}`.toLowerCase();
    addAll(index, svcName);
    const clusterIp = s.spec?.clusterIP;
    const headless = !clusterIp || clusterIp === 'None';
    if (s.spec?.type === 'ExternalName') continue;
    if (!headless) {
      push(index.a, svcName, clusterIp);
      index.ptr.set(reverseName(clusterIp), svcName);
      for (const p of s.spec?.ports ?? []) {
        if (!p.name) continue;
        const srvName = `_${p.name}._${(p.protocol ?? 'TCP').toLowerCase()}.${svcName}`;
        addAll(index, srvName);
        push(index.srv, srvName, { port: p.port, target: svcName });
      }
      continue;
    }
    // Headless: one A record per ready endpoint, and a name per endpoint.
    const ep = eps.get(`${ns}/${s.metadata?.name}`);
    for (const subset of ep?.subsets ?? []) {
      for (const addr of subset.addresses ?? []) {
        push(index.a, svcName, addr.ip);
        const pod = podsByIp.get(addr.ip);
        const hostname = addr.hostname ?? (pod?.spec?.subdomain === s.metadata?.name ? pod?.spec?.hostname : undefined);
        const member = `${(hostname ?? dashed(addr.ip)).toLowerCase()}.${svcName}`;
        addAll(index, member);
        push(index.a, member, addr.ip);
        index.ptr.set(reverseName(addr.ip), member);
        for (const p of subset.ports ?? []) {
          if (!p.name) continue;
          const srvName = `_${p.name}._${(p.protocol ?? 'TCP').toLowerCase()}.${svcName}`;
          addAll(index, srvName);
          push(index.srv, srvName, { port: p.port, target: member });
        }
      }
    }
  }
  return index;
}

function soa(domain: string): Answer {
  return {
    type: 'SOA', name: domain, ttl: CLUSTER_DNS_TTL, class: 'IN',
    data: { mname: `ns.dns.${domain}`, rname: `hostmaster.${domain}`, serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: CLUSTER_DNS_TTL },
  };
}

// CoreDNS's `pods insecure` (kubeadm's default): a-b-c-d.<namespace>.pod.<domain>
// answers a.b.c.d for any address and any namespace, whether or not a pod has
// it; the VNAT benchmark resolves every IP of the pod subnet this way.
const POD_NAME = /^(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})\.[a-z0-9-]+\.pod\.(.+)$/;

export function answerQuestion(index: DnsIndex, rawName: string, type: string): DnsAnswer {
  const name = rawName.toLowerCase().replace(/\.$/, '');
  const domain = index.domain;
  const nodata = (): DnsAnswer => ({ rcode: 'NOERROR', answers: [], authority: [soa(domain)] });
  const nx = (): DnsAnswer => ({ rcode: 'NXDOMAIN', answers: [], authority: [soa(domain)] });
  const record = (t: 'A' | 'PTR', data: string): Answer => ({ type: t, name: rawName.replace(/\.$/, ''), ttl: CLUSTER_DNS_TTL, class: 'IN', data });

  if (name.endsWith('.in-addr.arpa')) {
    const target = index.ptr.get(name);
    if (!target) return { rcode: 'NXDOMAIN', answers: [], authority: [] };
    return type === 'PTR' ? { rcode: 'NOERROR', answers: [record('PTR', target)], authority: [] } : { rcode: 'NOERROR', answers: [], authority: [] };
  }
  if (name !== domain && !name.endsWith(`.${domain}`)) return { rcode: 'NXDOMAIN', answers: [], authority: [] };

  const pod = POD_NAME.exec(name);
  if (pod && pod[5] === domain) {
    const octets = pod.slice(1, 5).map(Number);
    if (octets.some((o) => o > 255)) return nx();
    return type === 'A' ? { rcode: 'NOERROR', answers: [record('A', octets.join('.'))], authority: [] } : nodata();
  }
  if (!index.names.has(name)) return nx();
  if (type === 'A') {
    const ips = index.a.get(name);
    return ips?.length ? { rcode: 'NOERROR', answers: ips.map((ip) => record('A', ip)), authority: [] } : nodata();
  }
  if (type === 'SRV') {
    const srv = index.srv.get(name);
    if (!srv?.length) return nodata();
    return {
      rcode: 'NOERROR',
      answers: srv.map((s) => ({ type: 'SRV', name: rawName.replace(/\.$/, ''), ttl: CLUSTER_DNS_TTL, class: 'IN', data: { priority: 0, weight: 100, port: s.port, target: s.target } }) as Answer),
      authority: [],
    };
  }
  return nodata();
}
