import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContains, parseCidr } from '../../../daemon/net/cidr';
import { type PlanRoutingInput, planRouting } from '../../../daemon/routing/planRouting';
import type { Route } from '../../../daemon/routing/route';
import type { RoutingPlan } from '../../../daemon/protocol/rpc';

const route = (subnet: string, iface: string, extra: Partial<Route> = {}): Route => ({ subnet, family: subnet.includes(':') ? 6 : 4, interface: iface, isDefault: false, ...extra });
const lan = [route('0.0.0.0/0', 'en0', { gateway: '192.168.1.1', localIp: '192.168.1.23', isDefault: true }), route('192.168.1.0/24', 'en0', { localIp: '192.168.1.23' })];
const vpn8 = route('10.0.0.0/8', 'utun4', { localIp: '10.0.0.0', gateway: '10.0.0.1' });
const seedCluster = [{ subnet: '10.130.0.0/16', origin: 'service' as const }, { subnet: '10.132.0.0/16', origin: 'pods' as const }];

function plan(over: Partial<PlanRoutingInput>): RoutingPlan {
  return planRouting({ routes: [...lan, vpn8], clusterSubnets: seedCluster, flags: {}, config: {}, platform: 'linux', ownDevice: 'tpv0', ...over });
}
const summary = (p: RoutingPlan) => p.subnets.map((e) => `${e.subnet} ${e.origin} ${e.resolution}${e.workload ? ` ${e.workload}` : ''}${e.virtualRange ? ` ${e.virtualRange}` : ''}`);

test('seed: 10.124.0.0/9 cluster vs a VPN on 10.0.0.0/9, resolved with --vnat all', () => {
  const p = planRouting({
    routes: [...lan, route('10.0.0.0/9', 'utun4', { localIp: '10.0.0.0', gateway: '10.0.0.1' })],
    clusterSubnets: [{ subnet: '10.124.0.0/16', origin: 'service' }, { subnet: '10.125.0.0/16', origin: 'pods' }],
    flags: { vnat: ['all'] }, config: { autoResolveConflicts: false }, platform: 'linux',
  });
  assert.deepEqual(summary(p), ['10.124.0.0/16 service vnat 246.246.0.0/17', '10.125.0.0/16 pods vnat 246.246.128.0/17']);
  assert.equal(p.subnets[0]!.conflictingRoute, '10.0.0.0/9 via 10.0.0.0 dev utun4, gw 10.0.0.1');
  assert.equal(p.error, undefined);
});

test('seed: --vnat with the covering CIDR 10.124.0.0/9 translates every cluster subnet in it', () => {
  const p = planRouting({
    routes: [route('10.0.0.0/9', 'utun4')], clusterSubnets: [{ subnet: '10.124.0.0/16', origin: 'service' }, { subnet: '10.125.0.0/16', origin: 'pods' }],
    flags: { vnat: ['10.124.0.0/9'] }, config: { autoResolveConflicts: false }, platform: 'linux',
  });
  assert.deepEqual(p.subnets.map((e) => e.resolution), ['vnat', 'vnat']);
});

test('seed: allowConflictingSubnets 10.128.0.0/9 with a VPN on 10.0.0.0/8 and cluster subnets 10.130.0.0/16, 10.132.0.0/16', () => {
  const expected = ['10.130.0.0/16 service allowed', '10.132.0.0/16 pods allowed'];
  const viaConfig = plan({ config: { allowConflictingSubnets: ['10.128.0.0/9'] } });
  assert.deepEqual(summary(viaConfig), expected);
  assert.equal(viaConfig.subnets[0]!.conflictingRoute, '10.0.0.0/8 via 10.0.0.0 dev utun4, gw 10.0.0.1');
  assert.deepEqual(summary(plan({ flags: { allowConflictingSubnets: ['10.128.0.0/9'] } })), expected);
  assert.equal(viaConfig.error, undefined);
});

test('seed: autoResolveConflicts false gives Telepresence\'s exact error', () => {
  const p = plan({ config: { autoResolveConflicts: false } });
  assert.equal(p.error, 'subnet 10.130.0.0/16 overlaps with existing route "10.0.0.0/8 via 10.0.0.0 dev utun4, gw 10.0.0.1"');
  assert.deepEqual(p.subnets.map((e) => e.resolution), ['error', 'error']);
  assert.equal(p.subnets[1]!.error, 'subnet 10.132.0.0/16 overlaps with existing route "10.0.0.0/8 via 10.0.0.0 dev utun4, gw 10.0.0.1"');
});

test('seed: the exact "10.43.0.0/16" example', () => {
  const p = plan({ clusterSubnets: [{ subnet: '10.43.0.0/16', origin: 'service' }], config: { autoResolveConflicts: false } });
  assert.equal(p.error, 'subnet 10.43.0.0/16 overlaps with existing route "10.0.0.0/8 via 10.0.0.0 dev utun4, gw 10.0.0.1"');
});

test('by default (autoResolveConflicts unset) each conflicting subnet is VNATed and the others routed', () => {
  const p = plan({ clusterSubnets: [...seedCluster, { subnet: '172.30.0.0/16', origin: 'also' }] });
  assert.deepEqual(summary(p), ['10.130.0.0/16 service vnat 246.246.0.0/17', '10.132.0.0/16 pods vnat 246.246.128.0/17', '172.30.0.0/16 also route']);
  assert.equal(p.subnets[0]!.conflictingRoute, '10.0.0.0/8 via 10.0.0.0 dev utun4, gw 10.0.0.1');
  assert.equal(p.subnets[2]!.conflictingRoute, undefined);
});

test('seed: --proxy-via all=echo', () => {
  const p = plan({ flags: { proxyVia: ['all=echo'] }, config: { autoResolveConflicts: false } });
  assert.deepEqual(summary(p), ['10.130.0.0/16 service proxy-via echo 246.246.0.0/17', '10.132.0.0/16 pods proxy-via echo 246.246.128.0/17']);
  assert.equal(p.error, undefined);
});

test('seed: Tailscale 100.124.0.0/16 with allowConflictingSubnets 100.124.150.0/24', () => {
  const tailscale = route('100.124.0.0/16', 'tailscale0', { localIp: '100.111.250.89', table: '52' });
  const base = { routes: [...lan, tailscale], flags: {}, platform: 'linux' as const };
  const allowed = planRouting({ ...base, clusterSubnets: [{ subnet: '100.124.150.0/24', origin: 'service' }], config: { allowConflictingSubnets: ['100.124.150.0/24'] } });
  assert.deepEqual(summary(allowed), ['100.124.150.0/24 service allowed']);
  assert.equal(allowed.subnets[0]!.conflictingRoute, '100.124.0.0/16 via 100.111.250.89 dev tailscale0');
  // The allowance covers only a /24: a wider cluster subnet still conflicts in the rest.
  const wider = planRouting({ ...base, clusterSubnets: [{ subnet: '100.124.0.0/16', origin: 'service' }], config: { allowConflictingSubnets: ['100.124.150.0/24'], autoResolveConflicts: false } });
  assert.equal(wider.error, 'subnet 100.124.0.0/16 overlaps with existing route "100.124.0.0/16 via 100.111.250.89 dev tailscale0"');
});

test('no conflict: routed; default route, /1 halves and our own device are ignored', () => {
  const p = planRouting({
    routes: [...lan, route('0.0.0.0/1', 'tun0', { gateway: '10.8.0.1' }), route('128.0.0.0/1', 'tun0', { gateway: '10.8.0.1' }), route('10.130.0.0/16', 'tpv0')],
    clusterSubnets: seedCluster, flags: {}, config: { autoResolveConflicts: false }, platform: 'linux', ownDevice: 'tpv0',
  });
  assert.deepEqual(summary(p), ['10.130.0.0/16 service route', '10.132.0.0/16 pods route']);
  assert.equal(p.error, undefined);
});

test('a route inside a cluster subnet conflicts too (overlap either direction)', () => {
  const p = planRouting({ routes: [route('10.130.9.0/24', 'docker0', { localIp: '10.130.9.1' })], clusterSubnets: seedCluster, flags: {}, config: { autoResolveConflicts: false }, platform: 'linux' });
  assert.equal(p.error, 'subnet 10.130.0.0/16 overlaps with existing route "10.130.9.0/24 via 10.130.9.1 dev docker0"');
  assert.equal(p.subnets[1]!.resolution, 'route');
});

test('--vnat service translates only the service subnet; the pods follow the conflict rules', () => {
  const p = plan({ flags: { vnat: ['service'] }, config: { allowConflictingSubnets: ['10.132.0.0/16'] } });
  assert.deepEqual(summary(p), ['10.130.0.0/16 service vnat 246.246.0.0/16', '10.132.0.0/16 pods allowed']);
});

test('--vnat wins over allowConflictingSubnets, and applies without any conflict', () => {
  assert.equal(plan({ flags: { vnat: ['pods'] }, config: { allowConflictingSubnets: ['10.0.0.0/8'] } }).subnets[1]!.resolution, 'vnat');
  const quiet = planRouting({ routes: lan, clusterSubnets: seedCluster, flags: { vnat: ['pods'] }, config: {}, platform: 'linux' });
  assert.deepEqual(summary(quiet), ['10.130.0.0/16 service route', '10.132.0.0/16 pods vnat 246.246.0.0/16']);
  assert.equal(quiet.subnets[1]!.conflictingRoute, undefined);
});

test('neverProxy covering a subnet makes it never-proxy; inside one it is carved out and listed', () => {
  const whole = plan({ config: { neverProxy: ['10.132.0.0/16'], autoResolveConflicts: false } });
  assert.equal(whole.subnets[1]!.resolution, 'never-proxy');
  const vpnInside = [...lan, route('10.130.200.0/24', 'vpn0', { localIp: '10.130.200.2' })];
  const carved = planRouting({ routes: vpnInside, clusterSubnets: seedCluster, flags: { neverProxy: ['10.130.200.0/24'] }, config: { autoResolveConflicts: false }, platform: 'linux' });
  assert.deepEqual(summary(carved), ['10.130.0.0/16 service route', '10.132.0.0/16 pods route', '10.130.200.0/24 service never-proxy']);
  assert.equal(carved.error, undefined, 'the only conflict lies in the never-proxied part');
});

test('neverProxy entries that touch no proxied subnet are left out', () => {
  assert.equal(plan({ config: { neverProxy: ['192.168.77.0/24'] } }).subnets.length, 2);
});

test('alsoProxy from config and flags adds `also` subnets, without duplicates', () => {
  const p = planRouting({ routes: lan, clusterSubnets: seedCluster, flags: { alsoProxy: ['172.30.0.0/16,10.130.0.0/16'] }, config: { alsoProxy: ['172.31.0.0/16', '172.30.0.0/16'] }, platform: 'linux' });
  assert.deepEqual(summary(p), ['10.130.0.0/16 service route', '10.132.0.0/16 pods route', '172.31.0.0/16 also route', '172.30.0.0/16 also route']);
});

test('--vnat also covers the also-proxy subnets only', () => {
  const p = planRouting({ routes: lan, clusterSubnets: seedCluster, flags: { vnat: ['also'], alsoProxy: ['172.30.0.0/16'] }, config: {}, platform: 'linux' });
  assert.deepEqual(p.subnets.map((e) => e.resolution), ['route', 'route', 'vnat']);
});

test('a --proxy-via CIDR that covers no listed subnet becomes an extra `also` entry', () => {
  const p = planRouting({ routes: lan, clusterSubnets: seedCluster, flags: { proxyVia: ['192.168.200.0/24=mesh-gw'] }, config: {}, platform: 'linux' });
  assert.deepEqual(summary(p).at(-1), '192.168.200.0/24 also proxy-via mesh-gw 246.246.0.0/24');
});

test('a --vnat CIDR inside a cluster subnet is its own entry and is carved out of that subnet\'s check', () => {
  const routes = [...lan, route('10.130.5.0/24', 'vpn0', { localIp: '10.130.5.2' })];
  const p = planRouting({ routes, clusterSubnets: seedCluster, flags: { vnat: ['10.130.5.0/24'] }, config: { autoResolveConflicts: false }, platform: 'linux' });
  assert.deepEqual(summary(p), ['10.130.0.0/16 service route', '10.132.0.0/16 pods route', '10.130.5.0/24 service vnat 246.246.0.0/24']);
});

test('routing.virtualSubnet from the seed (100.10.20.0/24) is shared out', () => {
  const p = plan({ config: { virtualSubnet: '100.10.20.0/24' } });
  assert.equal(p.virtualSubnet, '100.10.20.0/24');
  assert.deepEqual(p.subnets.map((e) => e.virtualRange), ['100.10.20.0/25', '100.10.20.128/25']);
  for (const e of p.subnets) assert.ok(cidrContains(parseCidr('100.10.20.0/24'), parseCidr(e.virtualRange!)));
});

test('Windows defaults to 211.55.48.0/20 and refuses a class E virtual subnet', () => {
  assert.equal(plan({ platform: 'win32' }).subnets[0]!.virtualRange, '211.55.48.0/21');
  assert.throws(() => plan({ platform: 'win32', config: { virtualSubnet: '246.246.0.0/16' } }), /routing\.virtualSubnet 246\.246\.0\.0\/16 is class E, which Windows does not route; use e\.g\. 211\.55\.48\.0\/20/);
});

test('a virtual subnet that overlaps an existing route is a plan error naming the setting', () => {
  const p = plan({ routes: [...lan, vpn8, route('246.246.0.0/24', 'eth9', { localIp: '246.246.0.1' })] });
  assert.equal(p.error, 'virtual subnet 246.246.0.0/16 overlaps with existing route "246.246.0.0/24 via 246.246.0.1 dev eth9"; set routing.virtualSubnet to a subnet that no route uses');
});

test('a virtual subnet that overlaps a cluster subnet is a plan error', () => {
  const p = plan({ config: { virtualSubnet: '10.130.128.0/20' } });
  assert.match(p.error!, /^virtual subnet 10\.130\.128\.0\/20 overlaps with cluster subnet 10\.130\.0\.0\/16; set routing\.virtualSubnet/);
});

test('the virtual subnet is not checked when nothing is translated', () => {
  const p = planRouting({ routes: [...lan, route('246.246.0.0/16', 'eth9')], clusterSubnets: seedCluster, flags: {}, config: {}, platform: 'linux' });
  assert.equal(p.error, undefined);
});

test('a virtual subnet too small for the VNAT subnets is a plan error', () => {
  const p = plan({ config: { virtualSubnet: '100.10.20.0/32' } });
  assert.match(p.error!, /too few for 2 VNAT subnets; set routing\.virtualSubnet to a larger subnet/);
});

test('an IPv6 subnet that needs VNAT with an IPv4 virtual subnet is an error entry saying what to do', () => {
  const p = planRouting({ routes: [route('fd00::/8', 'vpn0', { localIp: 'fd00:20::2' })], clusterSubnets: [...seedCluster, { subnet: 'fd00:10::/64', origin: 'service' }], flags: {}, config: {}, platform: 'linux' });
  assert.equal(p.subnets[2]!.resolution, 'error');
  assert.equal(p.error, 'subnet fd00:10::/64 needs virtual IPs, but the virtual subnet 246.246.0.0/16 is IPv4; allow the conflict with routing.allowConflictingSubnets, or remove it from --vnat/--proxy-via');
});

test('invalid flags and configuration throw, naming the flag or key', () => {
  assert.throws(() => plan({ flags: { alsoProxy: ['10.1.2.3'] } }), /--also-proxy "10\.1\.2\.3" is not a CIDR/);
  assert.throws(() => plan({ flags: { allowConflictingSubnets: ['x'] } }), /--allow-conflicting-subnets "x" is not a CIDR/);
  assert.throws(() => plan({ config: { neverProxy: ['nope'] } }), /routing\.neverProxy entry "nope" is not a CIDR/);
  assert.throws(() => plan({ config: { virtualSubnet: '246.246.0.0' } }), /routing\.virtualSubnet "246\.246\.0\.0" is not a CIDR/);
  assert.throws(() => plan({ flags: { vnat: ['service', 'all'] } }), /repeats a subnet/);
  assert.throws(() => plan({ clusterSubnets: [{ subnet: 'bogus', origin: 'pods' }] }), /pods subnet "bogus" is not a CIDR/);
});

test('the plan is plain JSON (what `tpv connect --dry-run --json` prints)', () => {
  const p = plan({ config: { autoResolveConflicts: false } });
  assert.deepEqual(JSON.parse(JSON.stringify(p)), p);
});
