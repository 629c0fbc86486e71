// Reads the pod's resolver configuration: where DNS queries go and which
// search domains and ndots the daemon must apply to mirror in-pod lookups.
import type { RelayDnsConfig } from '../tunnel/handshake';

export function parseResolvConf(text: string): RelayDnsConfig {
  const out: RelayDnsConfig = { nameservers: [], search: [], ndots: 1 };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) out.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') out.search = rest.filter(Boolean);
    else if (key === 'options') {
      for (const opt of rest) {
        const m = /^ndots:(\d+)$/.exec(opt);
        if (m) out.ndots = Math.min(15, Number(m[1]));
      }
    }
  }
  return out;
}

export interface DnsServerAddress {
  host: string;
  port: number;
}

/** Parses `host[:port]` entries (IPv6 as `[addr]:port` or bare), comma separated. */
export function parseDnsServers(value: string): DnsServerAddress[] {
  const out: DnsServerAddress[] = [];
  for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(part);
    if (bracket) { out.push({ host: bracket[1]!, port: bracket[2] ? Number(bracket[2]) : 53 }); continue; }
    const colons = part.split(':').length - 1;
    if (colons === 1) {
      const [host, port] = part.split(':');
      out.push({ host: host!, port: Number(port) });
    } else {
      out.push({ host: part, port: 53 });
    }
  }
  for (const s of out) {
    if (!Number.isInteger(s.port) || s.port <= 0 || s.port > 65535) throw new Error(`DNS server port in "${value}" is not 1..65535`);
  }
  return out;
}
