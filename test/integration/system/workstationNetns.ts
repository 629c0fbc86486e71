// A workstation with a VPN, in namespaces of our own:
//
//   [ws]  vpn0 10.0.0.2/8  ←veth→  corp0 10.0.0.53/8 [corp]  (fake corporate DNS on :53)
//         tpv0 198.18.0.1/32 (veth standing in for our TUN)
//         /etc/resolv.conf: search corp.example / nameserver 10.0.0.53
//         nft: a table of the "user" that must survive us
//
// Plus helpers to run the daemon-like fixture and wait for its lines.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createNetns, deleteNetns, ip, nsExec, nsSpawn, onTestProcessExit, uniquePrefix, vethBetween } from '../../support/netns';
import type { DaemonLikeConfig } from './fixtures/daemonLike';

export const ROOT = join(__dirname, '..', '..', '..');
export const TUN_DEVICE = 'tpv0';
export const TUN_ADDRESS = '198.18.0.1';
export const CORP_DNS = '10.0.0.53';
export const USER_TABLE = 'table inet user_rules {\n\tchain out {\n\t\ttype filter hook output priority filter; policy accept;\n\t\tip daddr 192.0.2.99 drop\n\t}\n}\n';

export interface Workstation {
  ws: string;
  corp: string;
  stateDir: string;
  corpDns: LineProcess;
  destroy(): void;
}

export function createWorkstation(tag: string): Workstation {
  const prefix = uniquePrefix(tag);
  const ws = createNetns(`${prefix}ws`);
  const corp = createNetns(`${prefix}corp`);
  // No duplicate address detection: link-local addresses (and their local routes) appear at once.
  for (const ns of [ws, corp]) nsExec(ns, 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
  vethBetween(ws, 'vpn0', corp, 'corp0');
  ip(ws, 'addr', 'add', '10.0.0.2/8', 'dev', 'vpn0');
  ip(corp, 'addr', 'add', `${CORP_DNS}/8`, 'dev', 'corp0');
  ip(ws, 'link', 'add', TUN_DEVICE, 'type', 'veth', 'peer', 'name', 'tpv0peer');
  ip(ws, 'link', 'set', TUN_DEVICE, 'up');
  ip(ws, 'link', 'set', 'tpv0peer', 'up');
  ip(ws, 'addr', 'add', `${TUN_ADDRESS}/32`, 'dev', TUN_DEVICE);
  mkdirSync(`/etc/netns/${ws}`, { recursive: true });
  writeFileSync(`/etc/netns/${ws}/resolv.conf`, `search corp.example\nnameserver ${CORP_DNS}\noptions timeout:2 attempts:2\n`);
  // Deterministic lookups: no mDNS module in the way of *.local names (see the DNS test for why).
  writeFileSync(`/etc/netns/${ws}/nsswitch.conf`, 'passwd: files\ngroup: files\nhosts: files dns\n');
  nsExec(ws, 'nft', ['-f', '-'], USER_TABLE);
  waitForSettledAddresses(ws);
  const tmp = mkdtempSync(join(tmpdir(), 'tpv-ws-'));
  const stateDir = join(tmp, 'state');
  const corpDns = new LineProcess(nsSpawn(corp, process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'corporateDns.ts'), CORP_DNS], { cwd: ROOT }));
  const destroy = () => {
    corpDns.kill();
    deleteNetns(ws);
    deleteNetns(corp);
    rmSync(tmp, { recursive: true, force: true });
  };
  const forget = onTestProcessExit(destroy);
  return { ws, corp, stateDir, corpDns, destroy: () => { forget(); destroy(); } };
}

/**
 * Blocks until every link that is up has its IPv6 link-local address and no
 * address is tentative, so a snapshot taken now is not overtaken by the
 * kernel finishing interface setup.
 */
function waitForSettledAddresses(ns: string): void {
  const deadline = Date.now() + 5000;
  for (;;) {
    const links = ip(ns, '-o', 'link').split('\n').filter((l) => /[<,]LOWER_UP[,>]/.test(l) && !/ lo: /.test(l)).map((l) => l.split(': ')[1]!.split('@')[0]!);
    const tentative = ip(ns, '-6', 'addr', 'show', 'tentative').trim();
    const missing = links.filter((dev) => !ip(ns, '-6', 'route', 'show', 'table', 'local', 'dev', dev).includes('fe80::'));
    if (!tentative && missing.length === 0) return;
    if (Date.now() > deadline) throw new Error(`addresses in ${ns} did not settle: tentative ${tentative || 'none'}, missing link-local on ${missing.join(', ')}`);
    execFileSync('sleep', ['0.05']);
  }
}

/** A child process whose stdout lines are kept and can be awaited. */
export class LineProcess {
  readonly lines: string[] = [];
  private readonly waiters: Array<() => void> = [];
  readonly exited: Promise<number | null>;
  stderr = '';

  constructor(readonly child: ChildProcess) {
    let partial = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      partial += d;
      const parts = partial.split('\n');
      partial = parts.pop()!;
      this.lines.push(...parts);
      for (const w of this.waiters.splice(0)) w();
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { this.stderr += d; });
    this.exited = new Promise((resolve) => child.once('exit', (code) => { for (const w of this.waiters.splice(0)) w(); resolve(code); }));
  }

  /** The first line starting with `prefix` (waits up to `ms`). */
  async waitFor(prefix: string, ms = 20_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const line = this.lines.find((l) => l.startsWith(prefix));
      if (line) return line;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`process exited (${this.child.exitCode ?? this.child.signalCode}) before "${prefix}"; stdout: ${this.lines.join(' | ')}; stderr: ${this.stderr.slice(-2000)}`);
      }
      if (Date.now() > deadline) throw new Error(`no "${prefix}" within ${ms} ms; stdout: ${this.lines.join(' | ')}; stderr: ${this.stderr.slice(-2000)}`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 100); });
    }
  }

  /** JSON payload of the first `<event> {...}` line. */
  async event<T>(event: string, ms?: number): Promise<T> {
    const line = await this.waitFor(`${event} `, ms);
    return JSON.parse(line.slice(event.length + 1)) as T;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    try { this.child.kill(signal); } catch { /* gone */ }
  }
}

export function startDaemonLike(w: Workstation, config: Partial<DaemonLikeConfig> = {}): LineProcess {
  const full: DaemonLikeConfig = {
    mode: 'run', stateDir: w.stateDir, device: TUN_DEVICE, tunAddress: TUN_ADDRESS,
    routes: ['246.246.0.0/16', '10.130.0.0/16'], ...config,
  };
  // The cluster's 10.130.0.0/16 overlaps the VPN's 10.0.0.0/8 (allowConflictingSubnets-style): a
  // more specific route through our device, the VPN route itself untouched.
  return new LineProcess(nsSpawn(w.ws, process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'daemonLike.ts'), JSON.stringify(full)], { cwd: ROOT }));
}
