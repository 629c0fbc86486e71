import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpAddrJson, parseIpRouteJson } from '../../../daemon/routing/linuxRoutes';
import { formatRoute, type Route } from '../../../daemon/routing/route';
import { fixture } from './fixtures';

const interfaces = parseIpAddrJson(fixture('linux/addr.json'));
const v4 = parseIpRouteJson(fixture('linux/route4.json'), 4, interfaces);
const v6 = parseIpRouteJson(fixture('linux/route6.json'), 6, interfaces);
const find = (routes: Route[], subnet: string, dev?: string) => routes.filter((r) => r.subnet === subnet && (!dev || r.interface === dev));

test('ip -j addr: interfaces, state and addresses', () => {
  assert.deepEqual(interfaces.map((i) => i.name), ['lo', 'eth0', 'vpn0']);
  const vpn = interfaces.find((i) => i.name === 'vpn0')!;
  assert.equal(vpn.up, true);
  assert.deepEqual(vpn.addresses.slice(0, 2).map((a) => `${a.address}/${a.prefixLength} ${a.scope}`), ['172.20.0.2/24 global', 'fd00:20::2/64 global']);
  // The link-local address derives from a random MAC; re-capturing changes it.
  assert.match(`${vpn.addresses[2]?.address}/${vpn.addresses[2]?.prefixLength} ${vpn.addresses[2]?.scope}`, /^fe80::[0-9a-f:]+\/64 link$/);
});

test('the VPN route 10.0.0.0/8 has its gateway, device, table and the device\'s local IP', () => {
  const [r] = find(v4, '10.0.0.0/8');
  assert.deepEqual(r, { subnet: '10.0.0.0/8', family: 4, interface: 'vpn0', gateway: '172.20.0.1', localIp: '172.20.0.2', isDefault: false, table: 'main' });
  assert.equal(formatRoute(r!), '10.0.0.0/8 via 172.20.0.2 dev vpn0, gw 172.20.0.1');
});

test('default routes become prefix 0 with isDefault, in both families', () => {
  const [d4] = find(v4, '0.0.0.0/0');
  assert.equal(d4?.isDefault, true);
  assert.equal(d4?.gateway, '192.168.50.1');
  assert.equal(formatRoute(d4!), '0.0.0.0/0 via 192.168.50.2 dev eth0, gw 192.168.50.1 (default)');
  const [d6] = find(v6, '::/0');
  assert.equal(d6?.isDefault, true);
  assert.equal(d6?.family, 6);
  assert.equal(d6?.gateway, 'fd00:50::1');
});

test('the /1 halves of a VPN default route are read as ordinary routes', () => {
  assert.equal(find(v4, '0.0.0.0/1', 'vpn0').length, 1);
  assert.equal(find(v4, '128.0.0.0/1', 'vpn0').length, 1);
});

test('kernel link routes use the preferred source as local IP and have no gateway', () => {
  const [r] = find(v4, '172.20.0.0/24');
  assert.equal(r?.localIp, '172.20.0.2');
  assert.equal(r?.gateway, undefined);
  assert.equal(formatRoute(r!), '172.20.0.0/24 via 172.20.0.2 dev vpn0');
});

test('a multipath route becomes one route per next hop', () => {
  assert.deepEqual(find(v4, '10.200.0.0/16').map((r) => `${r.interface} ${r.gateway}`), ['eth0 192.168.50.1', 'vpn0 172.20.0.1']);
  assert.deepEqual(find(v6, 'fd00:99::/64').map((r) => `${r.interface} ${r.gateway}`), ['eth0 fd00:50::1', 'vpn0 fd00:20::1']);
});

test('policy tables are read with their table id', () => {
  const [r] = find(v4, '100.124.0.0/16');
  assert.equal(r?.table, '52');
  assert.equal(r?.interface, 'vpn0');
});

test('host routes are /32 and local-table addresses are kept as type local', () => {
  assert.equal(find(v4, '172.31.7.7/32').length, 1);
  const [local] = find(v4, '172.20.0.2/32');
  assert.equal(local?.type, 'local');
  assert.equal(local?.table, 'local');
});

test('blackhole, broadcast and multicast entries are dropped', () => {
  assert.equal(find(v4, '10.99.0.0/16').length, 0);
  assert.equal(find(v4, '172.20.0.255/32').length, 0);
  assert.equal(find(v4, '127.255.255.255/32').length, 0);
  assert.equal(find(v6, 'ff00::/8').length, 0);
});

test('IPv6 routes prefer the global address of the device over its link-local one', () => {
  const [r] = find(v6, 'fd00:10::/48');
  assert.equal(formatRoute(r!), 'fd00:10::/48 via fd00:20::2 dev vpn0, gw fd00:20::1');
  const [ll] = find(v6, 'fe80::/64', 'vpn0');
  assert.equal(ll?.localIp, 'fd00:20::2');
});

test('mixed-family output (table all without -4) gives each row its own family', () => {
  const mixed = parseIpRouteJson(fixture('linux/route-mixed.json'), 4, interfaces);
  const defaults = mixed.filter((r) => r.isDefault).map((r) => r.subnet).sort();
  assert.deepEqual(defaults, ['0.0.0.0/0', '::/0']);
  assert.equal(mixed.filter((r) => r.family === 6).length, v6.length);
  assert.equal(mixed.filter((r) => r.family === 4).length, v4.length);
});

test('routes on an interface that is down are left out', () => {
  const down = JSON.parse(fixture('linux/addr.json')) as Array<{ ifname: string; flags: string[] }>;
  down.find((i) => i.ifname === 'vpn0')!.flags = ['BROADCAST', 'MULTICAST'];
  const routes = parseIpRouteJson(fixture('linux/route4.json'), 4, parseIpAddrJson(JSON.stringify(down)));
  assert.equal(routes.filter((r) => r.interface === 'vpn0').length, 0);
  assert.ok(routes.some((r) => r.interface === 'eth0'));
});

test('an empty dump is no routes; garbage is a readable error', () => {
  assert.deepEqual(parseIpRouteJson('', 4, []), []);
  assert.throws(() => parseIpRouteJson('Usage: ip route', 4, []), /could not parse the output of `ip -j -4 route show table all` as JSON/);
  assert.throws(() => parseIpAddrJson('{}'), /not a list/);
});

test('a route whose interface has no address of its family has no local IP and omits "via"', () => {
  const routes = parseIpRouteJson('[{"dst":"10.0.0.0/8","dev":"tun9","flags":[]}]', 4, [{ name: 'tun9', up: true, addresses: [] }]);
  assert.equal(formatRoute(routes[0]!), '10.0.0.0/8 dev tun9');
});
