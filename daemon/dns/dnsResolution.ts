// The local DNS server's brain: one wire-format query in, one wire-format
// reply out (or nothing, for bytes that are not worth answering). No sockets:
// the cluster, the original resolver and the VNAT allocator are injected, so
// every decision is unit tested.
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, Question } from 'dns-packet';
import { rewriteClusterAnswers, type DnsMapping } from './answerRewrite';
import type { ClusterLookup, ClusterResolver } from './clusterResolver';
import { ClusterAnswerCache } from './clusterAnswerCache';
import { normalizeName, parseClusterDomain, routeName, type NameContext } from './clusterNames';
import {
  DNS_HEADER_BYTES, FLAG_RA, FLAG_RD, FLAG_TC, Rcode,
  errorReply, firstQuestionName, isResponse, opcodeOf, questionCount, udpReplyLimit,
} from './dnsMessages';
import { addressFromPtrName, parseSubnet, ptrNameFromAddress, subnetContains, type Subnet } from './reverseNames';
import { withDeadline } from '../deadline';

export type QueryTransport = 'udp' | 'tcp';

/**
 * Relays a raw query to the resolver(s) the workstation used before we
 * changed anything and returns the raw reply (same id as the query).
 */
export type UpstreamForward = (query: Buffer, transport: QueryTransport, signal: AbortSignal) => Promise<Buffer>;

export interface DnsResolutionOptions {
  /** Default `cluster.local`. */
  clusterDomain?: string;
  /** Namespace for single-label names (the connected namespace). */
  namespace: string;
  /** The cluster's namespaces; update with `setNamespaces`. */
  namespaces?: Iterable<string>;
  /** The workstation's resolver search list (see clusterNames.ts for why). */
  searchDomains?: readonly string[];
  clusterResolver: ClusterResolver;
  forward: UpstreamForward;
  /** Recognizes our forwarder's own queries coming back to us (a redirect loop): answered SERVFAIL, never forwarded again. */
  isOwnQuery?: (query: Uint8Array) => boolean;
  /** The VNAT allocator: virtual IP for a real IP in a VNAT subnet, else undefined. */
  toVirtual: (realIp: string) => string | undefined;
  /** Reverse of `toVirtual`, for PTR of virtual IPs we did not hand out through DNS. */
  toReal?: (virtualIp: string) => string | undefined;
  /** Called for each address rewritten in an answer (VNAT sidebar names). */
  onMapping?: (mapping: DnsMapping) => void;
  /** Cap on every TTL of a cluster answer; default 5 seconds. */
  maxTtlSeconds?: number;
  /** Deadline for the cluster's answer; default 2000 ms, then SERVFAIL. */
  clusterTimeoutMs?: number;
  /** Deadline for the original resolver's answer; default 4000 ms, then SERVFAIL. */
  forwardTimeoutMs?: number;
  /** Virtual subnets: PTR questions for them are answered here. */
  virtualSubnets?: readonly string[];
  /** Cluster subnets routed to the cluster: their PTR questions go to the cluster. */
  clusterSubnets?: readonly string[];
}

export interface ResolutionStats {
  queries: number;
  cluster: number;
  forwarded: number;
  malformed: number;
  servfail: number;
  loops: number;
}

type PtrTarget = { kind: 'virtual'; address: string } | { kind: 'cluster' } | { kind: 'none' };

class DeadlineError extends Error {}
const noAnswerWithin = (ms: number): DeadlineError => new DeadlineError(`no answer within ${ms} ms`);

export class DnsResolution {
  private readonly clusterDomain: string;
  private namespaces: ReadonlySet<string>;
  private searchDomains: readonly string[];
  private readonly maxTtl: number;
  private readonly clusterTimeoutMs: number;
  private readonly forwardTimeoutMs: number;
  private readonly virtualSubnets: Subnet[];
  private readonly clusterSubnets: Subnet[];
  /** virtual IP → the cluster name whose answer produced it (for PTR). */
  private readonly virtualNames = new Map<string, string>();
  private readonly cache: ClusterAnswerCache;
  readonly stats: ResolutionStats = { queries: 0, cluster: 0, forwarded: 0, malformed: 0, servfail: 0, loops: 0 };

  constructor(private readonly opts: DnsResolutionOptions) {
    this.clusterDomain = parseClusterDomain(opts.clusterDomain ?? 'cluster.local');
    this.namespaces = new Set([...(opts.namespaces ?? [])].map((n) => n.toLowerCase()));
    this.searchDomains = normalizeSearch(opts.searchDomains ?? []);
    this.maxTtl = opts.maxTtlSeconds ?? 5;
    this.clusterTimeoutMs = opts.clusterTimeoutMs ?? 2000;
    this.forwardTimeoutMs = opts.forwardTimeoutMs ?? 4000;
    this.virtualSubnets = (opts.virtualSubnets ?? []).map(parseSubnet);
    this.clusterSubnets = (opts.clusterSubnets ?? []).map(parseSubnet);
    this.cache = new ClusterAnswerCache({ maxTtlSeconds: this.maxTtl });
  }

  setNamespaces(namespaces: Iterable<string>): void {
    this.namespaces = new Set([...namespaces].map((n) => n.toLowerCase()));
  }

  setSearchDomains(searchDomains: readonly string[]): void {
    this.searchDomains = normalizeSearch(searchDomains);
  }

  /** The cluster name last answered with this virtual IP. */
  nameForVirtualIp(virtualIp: string): string | undefined {
    return this.virtualNames.get(virtualIp);
  }

  /**
   * Answers one query. Resolves to undefined when the bytes should be
   * dropped (too short to carry an id, or a response rather than a query).
   * Never rejects.
   */
  async answer(query: Buffer, transport: QueryTransport): Promise<Buffer | undefined> {
    this.stats.queries++;
    if (query.length < DNS_HEADER_BYTES || isResponse(query)) {
      this.stats.malformed++;
      return undefined;
    }
    if (opcodeOf(query) !== 0) return errorReply(query, Rcode.NOTIMP);
    if (this.opts.isOwnQuery?.(query)) { this.stats.loops++; return errorReply(query, Rcode.SERVFAIL); }
    if (questionCount(query) !== 1) { this.stats.malformed++; return errorReply(query, Rcode.FORMERR); }
    let decoded: DecodedPacket;
    try {
      decoded = dnsPacket.decode(query);
    } catch {
      this.stats.malformed++;
      return errorReply(query, Rcode.FORMERR);
    }
    const question = decoded.questions?.[0];
    if (!question || typeof question.name !== 'string') { this.stats.malformed++; return errorReply(query, Rcode.FORMERR); }
    try {
      return await this.resolve(query, decoded, question, transport);
    } catch {
      this.stats.servfail++;
      return errorReply(query, Rcode.SERVFAIL);
    }
  }

  private async resolve(query: Buffer, decoded: DecodedPacket, question: Question, transport: QueryTransport): Promise<Buffer> {
    if ((question.class ?? 'IN') !== 'IN') return this.forward(query, transport);
    // Names are handled as dotted UTF-8 text, in which a label holding a "." cannot be told
    // apart from two labels, and bytes that are not UTF-8 do not survive: a reply built from
    // that text would carry another question than the one asked. No cluster name looks like
    // that, so the original resolver gets such a query exactly as it came.
    if (!nameIsFaithful(query, question.name)) return this.forward(query, transport);

    if (question.type === 'PTR') {
      const target = this.ptrTarget(question.name);
      if (target.kind === 'virtual') return this.answerVirtualPtr(decoded, question, target.address, transport);
      if (target.kind === 'cluster') return this.fromCluster(query, decoded, question, normalizeName(question.name), false, transport);
    }

    const route = routeName(question.name, this.nameContext());
    switch (route.kind) {
      case 'forward': return this.forward(query, transport);
      case 'nxdomain': return this.reply(decoded, question, [], Rcode.NXDOMAIN, transport);
      case 'cluster': return this.fromCluster(query, decoded, question, route.clusterName, false, transport);
      case 'clusterFirst': return this.fromCluster(query, decoded, question, route.clusterName, true, transport);
    }
  }

  private nameContext(): NameContext {
    return {
      clusterDomain: this.clusterDomain,
      namespace: this.opts.namespace.toLowerCase(),
      namespaces: this.namespaces,
      searchDomains: this.searchDomains,
    };
  }

  private ptrTarget(name: string): PtrTarget {
    const address = addressFromPtrName(name);
    if (address === undefined) return { kind: 'none' };
    if (this.virtualSubnets.some((s) => subnetContains(s, address))) return { kind: 'virtual', address };
    if (this.clusterSubnets.some((s) => subnetContains(s, address))) return { kind: 'cluster' };
    return { kind: 'none' };
  }

  private async fromCluster(
    query: Buffer, decoded: DecodedPacket, question: Question, clusterName: string, fallBackToForward: boolean, transport: QueryTransport,
  ): Promise<Buffer> {
    this.stats.cluster++;
    const lookup = await this.askCluster(clusterName, question);
    if (lookup.rcode === 'NXDOMAIN') {
      if (fallBackToForward) return this.forward(query, transport);
      return this.reply(decoded, question, [], Rcode.NXDOMAIN, transport);
    }
    const { answers, mappings } = rewriteClusterAnswers(lookup.answers, {
      clusterName,
      questionName: question.name,
      maxTtlSeconds: this.maxTtl,
      toVirtual: this.opts.toVirtual,
    });
    for (const m of mappings) {
      this.virtualNames.set(m.virtualIp, m.name);
      try { this.opts.onMapping?.(m); } catch { /* a listener's bug must not fail the answer */ }
    }
    return this.reply(decoded, question, answers, Rcode.NOERROR, transport);
  }

  private async answerVirtualPtr(decoded: DecodedPacket, question: Question, virtualIp: string, transport: QueryTransport): Promise<Buffer> {
    const known = this.virtualNames.get(virtualIp);
    if (known) {
      const ptr: Answer = { type: 'PTR', name: question.name, ttl: this.maxTtl, class: 'IN', data: known };
      return this.reply(decoded, question, [ptr], Rcode.NOERROR, transport);
    }
    const realIp = this.opts.toReal?.(virtualIp);
    if (realIp === undefined) return this.reply(decoded, question, [], Rcode.NXDOMAIN, transport);
    const lookup = await this.askCluster(ptrNameFromAddress(realIp), question);
    if (lookup.rcode === 'NXDOMAIN') return this.reply(decoded, question, [], Rcode.NXDOMAIN, transport);
    const { answers } = rewriteClusterAnswers(lookup.answers, {
      clusterName: ptrNameFromAddress(realIp),
      questionName: question.name,
      maxTtlSeconds: this.maxTtl,
      toVirtual: () => undefined,
    });
    return this.reply(decoded, question, answers, Rcode.NOERROR, transport);
  }

  private askCluster(clusterName: string, question: Question): Promise<ClusterLookup> {
    return this.cache.lookup(clusterName, question.type, () =>
      withDeadline(this.clusterTimeoutMs, (signal) => this.opts.clusterResolver(clusterName, question.type, signal), () => noAnswerWithin(this.clusterTimeoutMs)));
  }

  private forward(query: Buffer, transport: QueryTransport): Promise<Buffer> {
    this.stats.forwarded++;
    return withDeadline(this.forwardTimeoutMs, (signal) => this.opts.forward(query, transport, signal), () => noAnswerWithin(this.forwardTimeoutMs));
  }

  private reply(decoded: DecodedPacket, question: Question, answers: Answer[], rcode: number, transport: QueryTransport): Buffer {
    const opt = decoded.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
    const flags = (decoded.flag_rd ? FLAG_RD : 0) | FLAG_RA | rcode;
    const packet: Packet = {
      type: 'response',
      id: decoded.id ?? 0,
      flags,
      questions: [question],
      answers,
      additionals: opt ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
    };
    const encoded = dnsPacket.encode(packet);
    if (transport === 'udp' && encoded.length > udpReplyLimit(opt?.udpPayloadSize)) {
      return dnsPacket.encode({ ...packet, flags: flags | FLAG_TC, answers: [] });
    }
    return encoded;
  }
}

/** Whether the decoded name encodes back to the query's own bytes. */
function nameIsFaithful(query: Buffer, name: string): boolean {
  const raw = firstQuestionName(query);
  if (!raw) return false;
  const labels = name === '.' || name === '' ? [] : name.split('.');
  let off = 0;
  for (const label of labels) {
    const bytes = Buffer.from(label, 'utf8');
    if (bytes.length === 0 || bytes.length > 63 || raw[off] !== bytes.length) return false;
    for (let i = 0; i < bytes.length; i++) if (raw[off + 1 + i] !== bytes[i]) return false;
    off += 1 + bytes.length;
  }
  return off === raw.length - 1 && raw[off] === 0;
}

function normalizeSearch(domains: readonly string[]): string[] {
  return domains.map((d) => normalizeName(d.trim()).replace(/^\.+/, '')).filter((d) => d.length > 0);
}
