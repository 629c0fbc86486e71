// Turns the cluster's records into what the workstation may see: A/AAAA data
// inside VNAT subnets becomes virtual IPs, every TTL is capped short (the
// virtual IPs are stable, but the cluster may move a service), and records
// about the expanded cluster name are answered under the name that was asked.
// Pure.
import type { Answer } from 'dns-packet';

/** One address rewrite, reported for the VNAT sidebar. */
export interface DnsMapping {
  /** The cluster's name for the address, e.g. `echo.default.svc.cluster.local`. */
  name: string;
  /** What the workstation asked, e.g. `echo`. */
  queriedName: string;
  realIp: string;
  virtualIp: string;
}

export interface RewriteOptions {
  /** The name the cluster was asked (fully qualified). */
  clusterName: string;
  /** The name in the client's question (case as sent). */
  questionName: string;
  maxTtlSeconds: number;
  /** Virtual IP for a real IP inside a VNAT subnet; undefined leaves the address alone. */
  toVirtual: (realIp: string) => string | undefined;
}

export interface RewriteResult {
  answers: Answer[];
  mappings: DnsMapping[];
}

export function rewriteClusterAnswers(answers: readonly Answer[], opts: RewriteOptions): RewriteResult {
  const clusterName = opts.clusterName.toLowerCase().replace(/\.$/, '');
  const mappings: DnsMapping[] = [];
  const out: Answer[] = [];
  for (const answer of answers) {
    if (answer.type === 'OPT') continue;
    const copy = { ...answer } as Answer & { ttl?: number };
    const owner = copy.name.toLowerCase().replace(/\.$/, '');
    if (owner === clusterName) copy.name = opts.questionName;
    const ttl = copy.ttl;
    copy.ttl = ttl === undefined || ttl > opts.maxTtlSeconds ? opts.maxTtlSeconds : Math.max(0, ttl);
    if ((copy.type === 'A' || copy.type === 'AAAA') && typeof copy.data === 'string') {
      const virtualIp = opts.toVirtual(copy.data);
      if (virtualIp !== undefined && virtualIp !== copy.data) {
        mappings.push({ name: owner, queriedName: opts.questionName, realIp: copy.data, virtualIp });
        copy.data = virtualIp;
      }
    }
    out.push(copy);
  }
  return { answers: out, mappings };
}
