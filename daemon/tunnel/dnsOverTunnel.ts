// Convenience for the daemon's DNS server: ask the cluster's resolver (via
// the relay, wire format both ways) and get decoded records with their TTLs.
// Daemon only: the relay forwards raw bytes and never imports dns-packet.
import { decode, encode, type Answer, type Packet, type RecordType } from 'dns-packet';

export type DnsExchange = (query: Buffer, timeoutMs?: number) => Promise<Buffer>;

export interface ClusterDnsAnswer {
  /** NOERROR, NXDOMAIN, SERVFAIL, ... */
  rcode: string;
  answers: Answer[];
  authorities: Answer[];
  /** The raw reply, for forwarding as-is. */
  wire: Buffer;
}

/** Looks `name` up as-is (no search paths: the caller applies the pod's search list, from HelloAccept.dns). */
export async function dnsQuery(exchange: DnsExchange, name: string, type: RecordType, timeoutMs?: number): Promise<ClusterDnsAnswer> {
  const id = (Math.random() * 0xffff) >>> 0;
  const query = encode({ type: 'query', id, flags: 256 /* RD */, questions: [{ type, name, class: 'IN' }] } as Packet);
  const wire = await exchange(query, timeoutMs);
  // dns-packet decodes the rcode but its typings omit it.
  const reply = decode(wire) as ReturnType<typeof decode> & { rcode?: string };
  if (reply.id !== id) throw new Error(`the cluster DNS answered another query (id ${reply.id}, expected ${id})`);
  return { rcode: reply.rcode ?? 'NOERROR', answers: reply.answers ?? [], authorities: reply.authorities ?? [], wire };
}
