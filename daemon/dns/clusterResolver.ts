// The seam between the local DNS server and whatever carries questions to the
// cluster's DNS (the tunnel's DNS_QUERY frames, a test fake, ...). The server
// asks in names and types and gets records back; the wire-format adapter below
// lets a transport that only moves raw DNS messages satisfy the interface.
import * as dnsPacket from 'dns-packet';
import type { Answer, RecordType } from 'dns-packet';

/**
 * What the cluster said about one (name, type):
 * - `NOERROR` with records (or none: the name exists without that type);
 * - `NXDOMAIN`: the cluster has no such name.
 * Anything else (SERVFAIL, REFUSED, a timeout) is thrown and becomes SERVFAIL.
 */
export type ClusterLookup =
  | { rcode: 'NOERROR'; answers: Answer[] }
  | { rcode: 'NXDOMAIN' };

/**
 * Asks the cluster's DNS about a fully qualified cluster name (no trailing
 * dot), e.g. `echo.default.svc.cluster.local`. Must reject promptly once
 * `signal` aborts (the server gives each question a deadline).
 */
export type ClusterResolver = (name: string, type: RecordType, signal: AbortSignal) => Promise<ClusterLookup>;

/** Moves one wire-format DNS query to the cluster and returns the wire-format reply. */
export type ClusterDnsExchange = (query: Buffer, signal: AbortSignal) => Promise<Uint8Array>;

export class ClusterDnsError extends Error {
  constructor(message: string, readonly rcode: string) {
    super(message);
    this.name = 'ClusterDnsError';
  }
}

/** Adapts a raw DNS transport (e.g. the tunnel's DNS_QUERY frames) to a ClusterResolver. */
export function clusterResolverOverWire(exchange: ClusterDnsExchange): ClusterResolver {
  return async (name, type, signal) => {
    const id = (Math.random() * 0x10000) | 0;
    const query = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });
    const raw = await exchange(query, signal);
    const reply = dnsPacket.decode(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
    if (reply.id !== id) throw new ClusterDnsError(`cluster DNS answered query ${id} with id ${reply.id}`, 'FORMERR');
    const rcode = (reply as { rcode?: string }).rcode ?? 'NOERROR';
    if (rcode === 'NXDOMAIN') return { rcode: 'NXDOMAIN' };
    if (rcode !== 'NOERROR') throw new ClusterDnsError(`cluster DNS answered ${rcode} for ${name} ${type}`, rcode);
    return { rcode: 'NOERROR', answers: (reply.answers ?? []).filter((a) => a.type !== 'OPT') };
  };
}
