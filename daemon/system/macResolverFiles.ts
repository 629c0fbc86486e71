// macOS: one /etc/resolver/<domain> file per cluster domain sends those names
// to our DNS server (resolver(5)); everything else keeps the system's
// resolvers. Only the contents are produced here (no macOS runtime yet); the
// operation that writes them will journal each path like the others.

export interface MacResolverSpec {
  /** e.g. `cluster.local` and each namespace. */
  domains: readonly string[];
  nameserver: string;
  /** Default 53. */
  port?: number;
  /** Seconds; default 2. */
  timeoutSeconds?: number;
  /** Lower is tried first; default 1 so ours wins over a VPN's file for the same domain. */
  searchOrder?: number;
}

export interface ResolverFile {
  path: string;
  contents: string;
}

export const MAC_RESOLVER_DIR = '/etc/resolver';
/** First line of every file we write: revert removes only files that start with it. */
export const MAC_RESOLVER_MARKER = '# Written by Telepresence for VS Code; removed on disconnect.';

const DOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** The files for a spec. Pure. Domains become file names, so anything but a plain DNS name is refused. */
export function macResolverFiles(spec: MacResolverSpec): ResolverFile[] {
  const seen = new Set<string>();
  const files: ResolverFile[] = [];
  for (const raw of spec.domains) {
    const domain = raw.toLowerCase().replace(/\.$/, '');
    if (!DOMAIN.test(domain) || domain.length > 253) throw new Error(`"${raw}" is not a DNS domain; refusing to write ${MAC_RESOLVER_DIR}/${raw}`);
    if (seen.has(domain)) continue;
    seen.add(domain);
    const lines = [
      MAC_RESOLVER_MARKER,
      `domain ${domain}`,
      `nameserver ${spec.nameserver}`,
      `port ${spec.port ?? 53}`,
      `timeout ${spec.timeoutSeconds ?? 2}`,
      `search_order ${spec.searchOrder ?? 1}`,
    ];
    files.push({ path: `${MAC_RESOLVER_DIR}/${domain}`, contents: `${lines.join('\n')}\n` });
  }
  return files;
}

/** Whether a file found at revert time is ours to remove. */
export function isOurResolverFile(contents: string): boolean {
  return contents.startsWith(`${MAC_RESOLVER_MARKER}\n`);
}
