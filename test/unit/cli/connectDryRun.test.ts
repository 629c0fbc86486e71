import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commands } from '../../../cli/commands';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, runCli } from '../../../cli/dispatcher';
import type { RoutingPlan } from '../../../daemon/protocol/rpc';
import type { Route } from '../../../daemon/routing/route';
import { recordingEnvironment } from './cliEnvironment';

const vpn: Route[] = [
  { subnet: '0.0.0.0/0', family: 4, interface: 'eth0', gateway: '192.168.50.1', localIp: '192.168.50.2', isDefault: true },
  { subnet: '10.0.0.0/8', family: 4, interface: 'vpn0', localIp: '10.0.0.2', isDefault: false },
];
const cluster = ['--service-cidr', '10.130.0.0/16', '--pod-cidr', '10.132.0.0/16'];
const DEFAULT_CONFIG = '/home/dev/.config/telepresence/config.yml';

async function dryRun(argv: string[], files: Record<string, string> = {}, platform: NodeJS.Platform = 'linux') {
  const env = recordingEnvironment({ routes: vpn, files, platform });
  const code = await runCli(['connect', '--dry-run', ...argv], commands, env);
  return { code, out: env.out.join(''), err: env.err.join(''), readPaths: env.readPaths };
}

test('--json prints the RoutingPlan: both seed subnets VNATed into 246.246.0.0/16', async () => {
  const r = await dryRun(['--json', ...cluster]);
  assert.equal(r.code, EXIT_OK);
  const plan = JSON.parse(r.out) as RoutingPlan;
  assert.deepEqual(plan, {
    virtualSubnet: '246.246.0.0/16',
    subnets: [
      { subnet: '10.130.0.0/16', origin: 'service', resolution: 'vnat', conflictingRoute: '10.0.0.0/8 via 10.0.0.2 dev vpn0', virtualRange: '246.246.0.0/17' },
      { subnet: '10.132.0.0/16', origin: 'pods', resolution: 'vnat', conflictingRoute: '10.0.0.0/8 via 10.0.0.2 dev vpn0', virtualRange: '246.246.128.0/17' },
    ],
  });
  assert.equal(r.err, '');
});

test('the human table is aligned and ends with the virtual subnet', async () => {
  const r = await dryRun([...cluster, '--proxy-via', 'pods=echo']);
  assert.equal(r.code, EXIT_OK);
  const lines = r.out.trimEnd().split('\n');
  assert.match(lines[0]!, /^SUBNET\s+ORIGIN\s+RESOLUTION\s+VIRTUAL RANGE \/ WORKLOAD\s+CONFLICTING ROUTE$/);
  assert.match(lines[1]!, /^10\.130\.0\.0\/16\s+service\s+vnat\s+246\.246\.0\.0\/17\s+10\.0\.0\.0\/8 via 10\.0\.0\.2 dev vpn0$/);
  assert.match(lines[2]!, /^10\.132\.0\.0\/16\s+pods\s+proxy-via\s+246\.246\.128\.0\/17 via echo\s+10\.0\.0\.0\/8 via 10\.0\.0\.2 dev vpn0$/);
  for (const col of ['ORIGIN', 'RESOLUTION', 'VIRTUAL RANGE', 'CONFLICTING ROUTE']) {
    const at = lines[0]!.indexOf(col);
    assert.ok(lines.slice(1, 3).every((l) => l[at - 1] === ' ' && l[at] !== ' '), `column ${col} is aligned`);
  }
  assert.equal(lines.at(-1), 'virtual subnet: 246.246.0.0/16');
});

test('--no-auto-resolve-conflicts: exit 1 with the exact error on stderr', async () => {
  const r = await dryRun([...cluster, '--no-auto-resolve-conflicts']);
  assert.equal(r.code, EXIT_FAILURE);
  assert.equal(r.err, 'tpv connect: error: subnet 10.130.0.0/16 overlaps with existing route "10.0.0.0/8 via 10.0.0.2 dev vpn0"\n');
});

test('--allow-conflicting-subnets 10.128.0.0/9 routes both anyway', async () => {
  const r = await dryRun(['--json', ...cluster, '--allow-conflicting-subnets', '10.128.0.0/9', '--no-auto-resolve-conflicts']);
  assert.equal(r.code, EXIT_OK);
  assert.deepEqual((JSON.parse(r.out) as RoutingPlan).subnets.map((s) => s.resolution), ['allowed', 'allowed']);
});

test('the default config.yml is read; flags win over it', async () => {
  const files = { [DEFAULT_CONFIG]: 'routing:\n  autoResolveConflicts: false\n  virtualSubnet: 100.10.20.0/24\n' };
  const failing = await dryRun([...cluster], files);
  assert.deepEqual(failing.readPaths, [DEFAULT_CONFIG]);
  assert.equal(failing.code, EXIT_FAILURE);
  const r = await dryRun(['--json', ...cluster, '--vnat', 'all', '--virtual-subnet', '246.246.0.0/16'], files);
  assert.equal(r.code, EXIT_OK);
  assert.equal((JSON.parse(r.out) as RoutingPlan).virtualSubnet, '246.246.0.0/16');
});

test('--config PATH is read instead; a missing explicit file is an error', async () => {
  const r = await dryRun(['--json', ...cluster, '--config', '/tmp/c.yml', '--no-auto-resolve-conflicts'], { '/tmp/c.yml': 'routing:\n  allowConflictingSubnets: "{10.128.0.0/9}"\n' });
  assert.equal(r.code, EXIT_OK);
  assert.deepEqual((JSON.parse(r.out) as RoutingPlan).subnets.map((s) => s.resolution), ['allowed', 'allowed']);
  const missing = await dryRun([...cluster, '--config', '/tmp/none.yml']);
  assert.equal(missing.code, EXIT_FAILURE);
  assert.equal(missing.err, 'tpv connect: error: --config /tmp/none.yml: no such file\n');
});

test('a bad config.yml value fails naming key, value and file', async () => {
  const r = await dryRun(cluster, { [DEFAULT_CONFIG]: 'routing:\n  virtualSubnet: nope\n' });
  assert.equal(r.code, EXIT_FAILURE);
  assert.equal(r.err, `tpv connect: error: routing.virtualSubnet: "nope" is not a CIDR (in ${DEFAULT_CONFIG}); write it as address/prefix, e.g. 246.246.0.0/16\n`);
});

test('bad flag values fail with the flag named', async () => {
  const r = await dryRun([...cluster, '--proxy-via', 'all=Echo']);
  assert.equal(r.code, EXIT_FAILURE);
  assert.match(r.err, /^tpv connect: error: --proxy-via all=Echo: workload "Echo" is not a DNS-1123 label/);
  const cidr = await dryRun(['--service-cidr', '10.130.0.0']);
  assert.match(cidr.err, /^tpv connect: error: service subnet "10\.130\.0\.0" is not a CIDR/);
});

test('comma lists in flags are split', async () => {
  const r = await dryRun(['--json', '--service-cidr', '10.130.0.0/16,10.131.0.0/16', '--vnat', 'service']);
  assert.deepEqual((JSON.parse(r.out) as RoutingPlan).subnets.map((s) => `${s.subnet} ${s.resolution}`), ['10.130.0.0/16 vnat', '10.131.0.0/16 vnat']);
});

test('Windows uses its own default virtual subnet', async () => {
  const r = await dryRun(['--json', ...cluster], {}, 'win32');
  assert.equal((JSON.parse(r.out) as RoutingPlan).virtualSubnet, '211.55.48.0/20');
});

test('without --dry-run and without a kubeconfig, connect says where it looked', async () => {
  const env = recordingEnvironment({ routes: vpn });
  assert.equal(await runCli(['connect', ...cluster], commands, env), EXIT_FAILURE);
  assert.match(env.err.join(''), /^tpv connect: error: no kubeconfig found \(looked at \/home\/dev\/\.kube\/config\); pass --kubeconfig/);
});

test('an unknown connect flag is a usage error with the connect usage', async () => {
  const env = recordingEnvironment({ routes: vpn });
  assert.equal(await runCli(['connect', '--dry-run', '--vnet', 'all'], commands, env), EXIT_USAGE);
  assert.match(env.err.join(''), /^tpv connect: error: unknown flag --vnet \(did you mean --vnat\?\)\n\nUsage: tpv connect \[flags\]/);
});

test('no cluster subnets: an empty plan with a hint, not an error', async () => {
  const r = await dryRun([]);
  assert.equal(r.code, EXIT_OK);
  assert.match(r.out, /^no subnets to route \(pass --service-cidr and --pod-cidr, or --also-proxy\)\n\nvirtual subnet: 246\.246\.0\.0\/16\n$/);
});
