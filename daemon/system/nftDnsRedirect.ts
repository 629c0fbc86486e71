// DNS integration without systemd-resolved: /etc/resolv.conf stays untouched,
// and locally generated DNS traffic to the configured nameservers is DNAT'ed
// (nat/output) to our DNS server. Everything lives in one table of our own;
// reverting deletes that table and nothing else.
//
// Our forwarder sends to the very same nameserver:53 the rule matches. Its
// sockets carry a firewall mark (daemon/dns/markedSockets.ts) and the first
// rule returns on that mark, so its queries leave untouched.
//
// Crash safety beyond the journal: where the kernel supports it the table is
// created with `flags owner` by an `nft -i` child that lives as long as the
// daemon. When the daemon dies, even by SIGKILL, the child's stdin closes, it
// exits, and the kernel removes the owned table at once: DNS on the
// workstation never points at a server that no longer exists, even before the
// next daemon start replays the journal.
import { spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { isIPv4, isIPv6 } from 'node:net';
import { CommandFailedError, runChecked, type CommandRunner } from './commandRunner';
import type { HostOperation, NftTableRecord } from './hostOperation';

export const DNS_REDIRECT_TABLE = 'telepresence_vscode';

/** Starts a long-lived process (`nft -i`); injected so tests can run it inside a namespace. */
export type ProcessSpawner = (command: string, args: readonly string[]) => ChildProcess;
export const spawnDirect: ProcessSpawner = (command, args) => spawnProcess(command, args, { stdio: ['pipe', 'ignore', 'pipe'] });
export function spawnInNetworkNamespace(ns: string): ProcessSpawner {
  return (command, args) => spawnProcess('ip', ['netns', 'exec', ns, command, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
}

export interface DnsRedirectSpec {
  /** Default `telepresence_vscode`. */
  table?: string;
  /** The nameservers from /etc/resolv.conf whose port-53 traffic is redirected. */
  nameservers: readonly string[];
  /** Our DNS server (the TUN address); one per family that should be redirected. */
  targetV4?: string;
  targetV6?: string;
  /** Default 53. */
  targetPort?: number;
  /** The forwarder's socket mark; packets carrying it are never redirected. */
  bypassMark: number;
  /** Create the table with `flags owner` (removed by the kernel when the daemon dies). */
  ownedByProcess?: boolean;
  /**
   * Called if the owning `nft -i` child exits while the redirect should be in
   * place (someone killed it): the kernel has dropped the table, cluster names
   * no longer reach us, and the connection should say so or re-apply.
   */
  onOwnerLost?: (reason: string) => void;
}

export interface RedirectPlan {
  /** One line (as `nft -i` reads it). */
  script: string;
  redirected: string[];
  /** Nameservers of a family without a target: their DNS bypasses the cluster resolver. */
  skipped: string[];
}

/** The nftables script for a spec. Pure. */
export function dnsRedirectScript(spec: DnsRedirectSpec): RedirectPlan {
  const table = spec.table ?? DNS_REDIRECT_TABLE;
  const port = spec.targetPort ?? 53;
  const v4 = spec.nameservers.filter((a) => isIPv4(a));
  const v6 = spec.nameservers.filter((a) => isIPv6(a));
  const rules: string[] = [`meta mark 0x${(spec.bypassMark >>> 0).toString(16)} return`];
  const redirected: string[] = [];
  const skipped: string[] = [];
  if (v4.length && spec.targetV4) {
    if (!isIPv4(spec.targetV4)) throw new Error(`DNS redirect target "${spec.targetV4}" is not an IPv4 address`);
    for (const proto of ['udp', 'tcp']) rules.push(`ip daddr { ${v4.join(', ')} } ${proto} dport 53 dnat ip to ${spec.targetV4}:${port}`);
    redirected.push(...v4);
  } else skipped.push(...v4);
  if (v6.length && spec.targetV6) {
    if (!isIPv6(spec.targetV6)) throw new Error(`DNS redirect target "${spec.targetV6}" is not an IPv6 address`);
    for (const proto of ['udp', 'tcp']) rules.push(`ip6 daddr { ${v6.join(', ')} } ${proto} dport 53 dnat ip6 to [${spec.targetV6}]:${port}`);
    redirected.push(...v6);
  } else skipped.push(...v6);
  if (redirected.length === 0) {
    throw new Error(`none of the nameservers (${spec.nameservers.join(', ') || 'none configured'}) can be redirected to the local DNS server; check /etc/resolv.conf`);
  }
  const flags = spec.ownedByProcess ? 'flags owner; ' : '';
  // nat/output at dstnat priority; `; }` closes blocks (nft's one-line grammar wants it).
  const script = `table inet ${table} { ${flags}chain dns_redirect { type nat hook output priority -100; policy accept; ${rules.join('; ')}; }; }`;
  return { script, redirected, skipped };
}

const GONE = /No such file or directory|does not exist/i;
const BUSY = /Operation not permitted|Device or resource busy/i;

export class NftDnsRedirectOperation implements HostOperation {
  readonly record: NftTableRecord;
  private owner: ChildProcess | undefined;
  private ownerStderr = '';
  private installed = false;

  constructor(
    private readonly spec: DnsRedirectSpec | undefined,
    private readonly run: CommandRunner,
    private readonly spawn: ProcessSpawner = spawnDirect,
    table = spec?.table ?? DNS_REDIRECT_TABLE,
  ) {
    this.record = { kind: 'nftTable', family: 'inet', table };
  }

  static fromRecord(record: NftTableRecord, run: CommandRunner): NftDnsRedirectOperation {
    return new NftDnsRedirectOperation(undefined, run, spawnDirect, record.table);
  }

  describe(): string {
    return `nftables table inet ${this.record.table} (DNS redirect)`;
  }

  /** Whether the live table is owned by our `nft -i` child. */
  get ownedByProcess(): boolean {
    return this.owner !== undefined;
  }

  async apply(): Promise<void> {
    if (!this.spec) throw new Error('this operation was rebuilt from the journal and can only be reverted');
    const table = this.record.table;
    // Replace a leftover table of ours atomically (add+delete+create in one transaction).
    const reset = `add table inet ${table}\ndelete table inet ${table}\n`;
    const wantOwner = this.spec.ownedByProcess !== false;
    if (wantOwner) {
      const owned = dnsRedirectScript({ ...this.spec, ownedByProcess: true });
      const check = await this.run('nft', ['-c', '-f', '-'], owned.script + '\n');
      if (check.code === 0) {
        await runChecked(this.run, 'nft', ['-f', '-'], reset);
        await this.startOwner(owned.script);
        return;
      }
      // Older kernels/nft: no `flags owner`; the journal alone reverts the table.
    }
    const plain = dnsRedirectScript({ ...this.spec, ownedByProcess: false });
    await runChecked(this.run, 'nft', ['-f', '-'], reset + plain.script + '\n');
  }

  private async startOwner(script: string): Promise<void> {
    const child = this.spawn('nft', ['-i']);
    this.owner = child;
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { this.ownerStderr += d; });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.once('exit', (code, signal) => {
      if (this.owner !== child) return;
      this.owner = undefined;
      if (this.installed) this.spec?.onOwnerLost?.(`nft -i exited (${signal ?? `code ${code}`}); the DNS redirect table is gone`);
    });
    child.stdin?.on('error', () => { /* reported through the exit below */ });
    child.stdin?.write(script + '\n');
    // nft -i gives no per-command acknowledgement: poll until the table is there.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const listed = await this.run('nft', ['list', 'table', 'inet', this.record.table]);
      if (listed.code === 0 && listed.stdout.includes('dns_redirect')) { this.installed = true; return; }
      if (!this.owner || this.ownerStderr.trim()) break;
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20))]);
    }
    const why = this.ownerStderr.trim() || (this.owner ? 'the table did not appear within 5 s' : 'nft -i exited');
    await this.stopOwner();
    throw new Error(`could not install the DNS redirect (nftables table inet ${this.record.table}): ${why}`);
  }

  private async stopOwner(): Promise<void> {
    this.installed = false;
    const child = this.owner;
    if (!child) return;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    child.stdin?.end(`delete table inet ${this.record.table}\n`);
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
    this.owner = undefined;
  }

  async revert(): Promise<void> {
    await this.stopOwner();
    const args = ['delete', 'table', 'inet', this.record.table];
    // A table still owned by an exiting `nft -i` (the previous daemon's) refuses
    // deletion for a moment; it disappears by itself when that process is gone.
    for (let attempt = 0; ; attempt++) {
      const result = await this.run('nft', args);
      if (result.code === 0 || GONE.test(result.stderr)) return;
      if (!BUSY.test(result.stderr) || attempt >= 20) throw new CommandFailedError('nft', args, result);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
