// The cluster DNS server (the lab's CoreDNS): serves the index built from the
// watched Services, Endpoints and Pods on the node's bridge address, port 53,
// over UDP and TCP. Reached by pods through the kube-dns Service's ClusterIP.
import type { V1Endpoints, V1Pod, V1Service } from '@kubernetes/client-node';
import type { Informer } from '../kubelet/informer';
import { answerQuestion, buildDnsIndex, type DnsIndex } from './clusterDnsRecords';
import { startLabDnsServer, type LabDnsServer } from './labDnsServer';

export interface ClusterDnsOptions {
  address: string;
  port: number;
  domain: string;
  services: Informer<V1Service>;
  endpoints: Informer<V1Endpoints>;
  pods: Informer<V1Pod>;
}

export async function startClusterDns(opts: ClusterDnsOptions): Promise<LabDnsServer> {
  let index: DnsIndex | undefined;
  const dirty = () => { index = undefined; };
  opts.services.on(dirty);
  opts.endpoints.on(dirty);
  opts.pods.on(dirty);
  // Rebuilt lazily on the first query after a change: cheap at lab scale, never stale.
  const current = () => (index ??= buildDnsIndex(opts.domain, opts.services.list(), opts.endpoints.list(), opts.pods.list()));
  return startLabDnsServer(opts.address, opts.port, (name, type) => answerQuestion(current(), name, type));
}
