import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr } from '../../../daemon/net/cidr';
import { type Route, formatRoute } from '../../../daemon/routing/route';
import { conflictCandidates, findConflictingRoute, subnetConflictMessage } from '../../../daemon/routing/routeConflicts';

const route = (subnet: string, iface: string, extra: Partial<Route> = {}): Route => ({ subnet, family: subnet.includes(':') ? 6 : 4, interface: iface, isDefault: false, ...extra });
const utun4 = route('10.0.0.0/8', 'utun4', { localIp: '10.0.0.0', gateway: '10.0.0.1' });

test('the seed\'s error text, exactly', () => {
  assert.equal(formatRoute(utun4), '10.0.0.0/8 via 10.0.0.0 dev utun4, gw 10.0.0.1');
  const conflict = findConflictingRoute(parseCidr('10.43.0.0/16'), conflictCandidates([utun4], 'tpv0'));
  assert.equal(subnetConflictMessage('10.43.0.0/16', conflict!), 'subnet 10.43.0.0/16 overlaps with existing route "10.0.0.0/8 via 10.0.0.0 dev utun4, gw 10.0.0.1"');
});

test('default routes never conflict (isDefault or prefix 0 without gateway)', () => {
  const routes = [route('0.0.0.0/0', 'eth0', { gateway: '192.168.1.1', isDefault: true }), route('0.0.0.0/0', 'wg0')];
  assert.equal(conflictCandidates(routes, undefined).length, 0);
});

test('the /1 halves of the default route never conflict', () => {
  const routes = [route('0.0.0.0/1', 'tun0', { gateway: '10.8.0.1' }), route('128.0.0.0/1', 'tun0', { gateway: '10.8.0.1' }), route('::/1', 'tun0'), route('8000::/1', 'tun0')];
  assert.equal(findConflictingRoute(parseCidr('10.130.0.0/16'), conflictCandidates(routes, undefined)), undefined);
});

test('routes on our own device never conflict, other devices do', () => {
  const routes = [route('10.130.0.0/16', 'tpv0'), route('10.130.0.0/16', 'vpn0')];
  assert.equal(findConflictingRoute(parseCidr('10.130.0.0/16'), conflictCandidates(routes, 'tpv0'))?.interface, 'vpn0');
  assert.equal(findConflictingRoute(parseCidr('10.130.0.0/16'), conflictCandidates(routes.slice(0, 1), 'tpv0')), undefined);
});

test('overlap counts in either direction: a route inside the subnet, and the subnet inside a route', () => {
  const inner = [route('10.130.5.0/24', 'eth1')];
  const outer = [route('10.0.0.0/8', 'vpn0')];
  assert.equal(findConflictingRoute(parseCidr('10.130.0.0/16'), conflictCandidates(inner, undefined))?.subnet, '10.130.5.0/24');
  assert.equal(findConflictingRoute(parseCidr('10.130.0.0/16'), conflictCandidates(outer, undefined))?.subnet, '10.0.0.0/8');
});

test('adjacent subnets and other families do not conflict', () => {
  const routes = [route('10.131.0.0/16', 'eth1'), route('fd00::/8', 'eth1')];
  assert.equal(findConflictingRoute(parseCidr('10.130.0.0/16'), conflictCandidates(routes, undefined)), undefined);
});

test('the first conflicting route in table order is reported', () => {
  const routes = [route('10.130.7.0/24', 'eth1'), route('10.0.0.0/8', 'vpn0')];
  assert.equal(findConflictingRoute(parseCidr('10.130.0.0/16'), conflictCandidates(routes, undefined))?.interface, 'eth1');
});

test('carved-out parts are not checked: an allowed /9 hides the conflict in it, not outside it', () => {
  const cands = conflictCandidates([route('10.0.0.0/8', 'vpn0')], undefined);
  assert.equal(findConflictingRoute(parseCidr('10.130.0.0/16'), cands, [parseCidr('10.128.0.0/9')]), undefined);
  assert.equal(findConflictingRoute(parseCidr('10.0.0.0/8'), cands, [parseCidr('10.128.0.0/9')])?.interface, 'vpn0');
});

test('a route inside a carved-out part does not conflict, one beside it does', () => {
  const cands = conflictCandidates([route('100.124.150.0/24', 'tailscale0'), route('100.124.10.0/24', 'tailscale0')], undefined);
  assert.equal(findConflictingRoute(parseCidr('100.124.0.0/16'), cands, [parseCidr('100.124.150.0/24')])?.subnet, '100.124.10.0/24');
  assert.equal(findConflictingRoute(parseCidr('100.124.150.0/25'), cands, [parseCidr('100.124.150.0/24')]), undefined);
});
