// DNS integration through systemd-resolved: our link gets our DNS server and
// routing-only domains (`~cluster.local`, `~<namespace>`), and is never the
// default route for DNS, so only cluster names reach us. `resolvectl revert`
// undoes all of it; the settings also vanish with the link itself.
import { CommandFailedError, type CommandRunner } from './commandRunner';
import type { HostOperation, ResolvedLinkRecord } from './hostOperation';

export interface ResolvedLinkSpec {
  /** Our TUN device. */
  link: string;
  /** Our DNS server(s): `ip` or `ip:port` when the port is not 53. */
  servers: Array<{ address: string; port?: number }>;
  /** Routed to us without becoming search domains, e.g. `cluster.local` and each namespace. */
  routingDomains: readonly string[];
  /**
   * Real search domains on our link; `<namespace>.svc.<cluster domain>` makes
   * single-label names (`echo`) reach us as `echo.<namespace>.svc.cluster.local`.
   */
  searchDomains: readonly string[];
}

const DOMAIN = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/i;

function serverArg(s: { address: string; port?: number }): string {
  if (!s.port || s.port === 53) return s.address;
  return s.address.includes(':') ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`;
}

/** `resolvectl domain <link> ...` arguments: routing domains with `~`, search domains as they are. Pure. */
export function resolvedDomainArgs(spec: Pick<ResolvedLinkSpec, 'link' | 'routingDomains' | 'searchDomains'>): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  const push = (d: string, routingOnly: boolean) => {
    const name = d.toLowerCase().replace(/^[~.]+|\.$/g, '');
    if (!DOMAIN.test(name)) throw new Error(`"${d}" is not a DNS domain`);
    const arg = routingOnly ? `~${name}` : name;
    if (!seen.has(arg)) { seen.add(arg); out.push(arg); }
  };
  for (const d of spec.searchDomains) push(d, false);
  for (const d of spec.routingDomains) push(d, true);
  return ['domain', spec.link, ...out];
}

/** Every `resolvectl` invocation that applies a spec, in order. Pure. */
export function resolvedApplyCommands(spec: ResolvedLinkSpec): string[][] {
  if (spec.servers.length === 0) throw new Error('systemd-resolved needs at least one DNS server for our link');
  return [
    ['dns', spec.link, ...spec.servers.map(serverArg)],
    resolvedDomainArgs(spec),
    ['default-route', spec.link, 'false'],
  ];
}

export function resolvedRevertCommand(link: string): string[] {
  return ['revert', link];
}

/** The link no longer exists (the TUN went away): nothing left to revert. */
const LINK_GONE = /Failed to resolve interface|No such device|Unknown interface|Link .* not known|not found/i;

export class ResolvedLinkOperation implements HostOperation {
  readonly record: ResolvedLinkRecord;

  constructor(private readonly spec: ResolvedLinkSpec | undefined, private readonly run: CommandRunner, link = spec?.link ?? '') {
    if (!link) throw new Error('systemd-resolved DNS needs the link name');
    this.record = { kind: 'resolvedLink', link };
  }

  static fromRecord(record: ResolvedLinkRecord, run: CommandRunner): ResolvedLinkOperation {
    return new ResolvedLinkOperation(undefined, run, record.link);
  }

  describe(): string {
    return `systemd-resolved DNS on ${this.record.link}`;
  }

  async apply(): Promise<void> {
    if (!this.spec) throw new Error('this operation was rebuilt from the journal and can only be reverted');
    for (const args of resolvedApplyCommands(this.spec)) {
      const result = await this.run('resolvectl', args);
      if (result.code !== 0) throw new CommandFailedError('resolvectl', args, result);
    }
  }

  /** Namespaces come and go: re-send the domain list (replaces the previous one). */
  async updateDomains(routingDomains: readonly string[], searchDomains: readonly string[]): Promise<void> {
    const args = resolvedDomainArgs({ link: this.record.link, routingDomains, searchDomains });
    const result = await this.run('resolvectl', args);
    if (result.code !== 0) throw new CommandFailedError('resolvectl', args, result);
  }

  async revert(): Promise<void> {
    const args = resolvedRevertCommand(this.record.link);
    const result = await this.run('resolvectl', args);
    if (result.code === 0 || LINK_GONE.test(result.stderr)) return;
    throw new CommandFailedError('resolvectl', args, result);
  }
}

/** The domains a connection routes to us through systemd-resolved. Pure. */
export function clusterRoutingDomains(clusterDomain: string, namespaces: Iterable<string>): string[] {
  return [clusterDomain, ...namespaces];
}
