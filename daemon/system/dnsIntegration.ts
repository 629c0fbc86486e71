// Which way cluster DNS is wired into the workstation, decided at connect
// time: systemd-resolved when the system resolver actually goes through it,
// otherwise an nftables redirect of the configured nameservers, and on macOS
// /etc/resolver files.
import { readFileSync } from 'node:fs';
import { parseResolvConf, RESOLV_CONF } from '../dns/resolvConf';
import type { CommandRunner } from './commandRunner';

export type DnsIntegration = 'systemd-resolved' | 'nft-redirect' | 'macos-resolver';

export interface DnsIntegrationFacts {
  platform: NodeJS.Platform;
  resolvConf: string;
  /** /etc/nsswitch.conf, '' when absent. */
  nsswitch: string;
  /** `resolvectl status` succeeded (resolved runs and answers on D-Bus). */
  resolvedResponds: boolean;
}

const RESOLVED_STUBS = ['127.0.0.53', '127.0.0.54'];

/**
 * Pure decision. systemd-resolved is used only when lookups really go
 * through it (its stub in resolv.conf, or nss-resolve in nsswitch.conf):
 * per-link DNS on a resolved that nobody asks would silently do nothing.
 */
export function chooseDnsIntegration(facts: DnsIntegrationFacts): DnsIntegration {
  if (facts.platform === 'darwin') return 'macos-resolver';
  const conf = parseResolvConf(facts.resolvConf);
  const viaStub = conf.nameservers.some((ns) => RESOLVED_STUBS.includes(ns));
  const hostsLine = facts.nsswitch.split('\n').find((l) => /^\s*hosts\s*:/.test(l)) ?? '';
  const viaNss = /\bresolve\b/.test(hostsLine.replace(/#.*/, ''));
  if ((viaStub || viaNss) && facts.resolvedResponds) return 'systemd-resolved';
  return 'nft-redirect';
}

/** Gathers the facts on this machine and decides. */
export async function detectDnsIntegration(run: CommandRunner, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): Promise<DnsIntegration> {
  const readOr = (p: string) => { try { return read(p); } catch { return ''; } };
  let resolvedResponds = false;
  if (process.platform === 'linux') {
    try {
      resolvedResponds = (await run('resolvectl', ['--no-pager', 'status'])).code === 0;
    } catch {
      resolvedResponds = false; // resolvectl not installed
    }
  }
  return chooseDnsIntegration({
    platform: process.platform,
    resolvConf: readOr(RESOLV_CONF),
    nsswitch: readOr('/etc/nsswitch.conf'),
    resolvedResponds,
  });
}
