// Reads resolv.conf(5): the nameservers the workstation used before we
// changed anything (where non-cluster names are forwarded, and what the
// nftables redirect matches) and the search list (which names the stub
// resolver built from the user's input). Pure parser plus a reader.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

export interface ResolvConf {
  /** Addresses in file order, without scope ids. */
  nameservers: string[];
  /** `search` (or the last `domain`) entries, lower case. */
  searchDomains: string[];
  ndots: number;
}

export const RESOLV_CONF = '/etc/resolv.conf';
/** systemd-resolved's view of the real upstream servers (not its stub). */
export const RESOLVED_UPSTREAM_RESOLV_CONF = '/run/systemd/resolve/resolv.conf';

export function parseResolvConf(text: string): ResolvConf {
  const nameservers: string[] = [];
  let searchDomains: string[] = [];
  let ndots = 1;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const [keyword, ...values] = line.split(/\s+/);
    switch (keyword) {
      case 'nameserver': {
        const address = (values[0] ?? '').replace(/%.*$/, '');
        if (isIP(address) && !nameservers.includes(address)) nameservers.push(address);
        break;
      }
      // The last of `search` / `domain` wins, as in glibc.
      case 'search': searchDomains = values.map((v) => v.toLowerCase().replace(/\.$/, '')).filter((v) => v && v !== '.'); break;
      case 'domain': searchDomains = values.slice(0, 1).map((v) => v.toLowerCase().replace(/\.$/, '')); break;
      case 'options':
        for (const option of values) {
          const m = /^ndots:(\d+)$/.exec(option);
          if (m) ndots = Math.min(15, Number(m[1]));
        }
        break;
      default: break;
    }
  }
  return { nameservers, searchDomains, ndots };
}

export function readResolvConf(path = RESOLV_CONF): ResolvConf {
  return parseResolvConf(readFileSync(path, 'utf8'));
}
