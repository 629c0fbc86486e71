// `tpv connect --dry-run` inside a workstation namespace whose VPN device
// vpn0 routes 10.0.0.0/8: the built CLI reads the real routing table there.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RoutingPlan } from '../../../daemon/protocol/rpc';
import { cidrContains, parseCidr } from '../../../daemon/net/cidr';
import { createNetns, deleteNetns, ip, onTestProcessExit, uniquePrefix } from '../../support/netns';
import { missingNetworkPrivileges } from '../../support/privileges';

const root = join(__dirname, '../../..');
const tpv = join(root, 'dist/tpv.js');
const skip = missingNetworkPrivileges();
const cluster = ['--service-cidr', '10.130.0.0/16', '--pod-cidr', '10.132.0.0/16'];
let ns = '';
let home = '';

/** Newest modification time under the directories the CLI bundle is built from. */
function newestSource(dirs: string[]): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) newest = Math.max(newest, st.mtimeMs);
    }
  };
  for (const d of dirs) walk(join(root, d));
  return newest;
}

function ensureBuilt(): void {
  let built = 0;
  try { built = statSync(tpv).mtimeMs; } catch { /* not built yet */ }
  if (built >= newestSource(['cli', 'daemon'])) return;
  const r = spawnSync(process.execPath, ['scripts/build.mjs', '--quiet'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `build failed: ${r.stderr}`);
}

function tpvInNamespace(args: string[]) {
  // HOME points at an empty directory so the host user's own config.yml cannot change the plan.
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  delete env.XDG_CONFIG_HOME;
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, tpv, 'connect', '--dry-run', ...args], { encoding: 'utf8', timeout: 30_000, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(() => {
  if (skip) return;
  ensureBuilt();
  ns = createNetns(`${uniquePrefix('tdr')}ws`);
  // A VPN device: a veth pair with both ends up (this kernel has no dummy links), 10.0.0.0/8 routed through vpn0.
  ip(ns, 'link', 'add', 'vpn0', 'type', 'veth', 'peer', 'name', 'vpn0peer');
  ip(ns, 'addr', 'add', '10.0.0.2/8', 'dev', 'vpn0');
  ip(ns, 'link', 'set', 'vpn0', 'up');
  ip(ns, 'link', 'set', 'vpn0peer', 'up');
  home = mkdtempSync(join(tmpdir(), 'tpv-dryrun-home-'));
  onTestProcessExit(() => { rmSync(home, { recursive: true, force: true }); deleteNetns(ns); });
});

test('conflicting cluster subnets resolve to vnat with ranges inside 246.246.0.0/16', { skip }, () => {
  const r = tpvInNamespace(['--json', ...cluster]);
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout) as RoutingPlan;
  assert.equal(plan.virtualSubnet, '246.246.0.0/16');
  assert.deepEqual(plan.subnets.map((s) => `${s.subnet} ${s.origin} ${s.resolution}`), ['10.130.0.0/16 service vnat', '10.132.0.0/16 pods vnat']);
  for (const s of plan.subnets) {
    assert.ok(s.virtualRange && cidrContains(parseCidr('246.246.0.0/16'), parseCidr(s.virtualRange)), `${s.virtualRange} inside the virtual subnet`);
    assert.equal(s.conflictingRoute, '10.0.0.0/8 via 10.0.0.2 dev vpn0');
  }
  assert.notEqual(plan.subnets[0]!.virtualRange, plan.subnets[1]!.virtualRange);
});

test('--allow-conflicting-subnets 10.128.0.0/9 makes both allowed', { skip }, () => {
  const r = tpvInNamespace(['--json', ...cluster, '--allow-conflicting-subnets', '10.128.0.0/9']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as RoutingPlan).subnets.map((s) => s.resolution), ['allowed', 'allowed']);
});

test('the same allowance from a config.yml passed with --config', { skip }, () => {
  const config = join(home, 'config.yml');
  writeFileSync(config, 'routing:\n  allowConflictingSubnets: 10.128.0.0/9\n');
  const r = tpvInNamespace(['--json', ...cluster, '--config', config]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as RoutingPlan).subnets.map((s) => s.resolution), ['allowed', 'allowed']);
});

test('--no-auto-resolve-conflicts exits non-zero with Telepresence\'s exact error', { skip }, () => {
  const r = tpvInNamespace(['--json', ...cluster, '--no-auto-resolve-conflicts']);
  assert.notEqual(r.code, 0);
  assert.equal(r.stderr, 'tpv connect: error: subnet 10.130.0.0/16 overlaps with existing route "10.0.0.0/8 via 10.0.0.2 dev vpn0"\n');
});

test('the human table names the VPN route', { skip }, () => {
  const r = tpvInNamespace(cluster);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^10\.130\.0\.0\/16\s+service\s+vnat\s+246\.246\.0\.0\/17\s+10\.0\.0\.0\/8 via 10\.0\.0\.2 dev vpn0$/m);
  assert.match(r.stdout, /\nvirtual subnet: 246\.246\.0\.0\/16\n$/);
});
