import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIfconfig, parseNetstatRoutes } from '../../../daemon/routing/macRoutes';
import { formatRoute, type Route } from '../../../daemon/routing/route';
import { parseGetNetIpAddressJson, parseGetNetRouteJson, parseRoutePrint } from '../../../daemon/routing/windowsRoutes';
import { fixture } from './fixtures';

const byNet = (routes: Route[], subnet: string) => routes.filter((r) => r.subnet === subnet);

const macInterfaces = parseIfconfig(fixture('darwin/ifconfig.txt'));
const mac = parseNetstatRoutes(fixture('darwin/netstat-rn.txt'), macInterfaces);

test('macOS: the seed\'s utun4 route prints exactly as Telepresence shows it', () => {
  const [r] = byNet(mac, '10.0.0.0/8');
  assert.equal(formatRoute(r!), '10.0.0.0/8 via 10.0.0.0 dev utun4, gw 10.0.0.1');
});

test('macOS: ifconfig gives state, point-to-point and v6 addresses', () => {
  const utun4 = macInterfaces.find((i) => i.name === 'utun4')!;
  assert.deepEqual(utun4.addresses.map((a) => `${a.address}/${a.prefixLength}`), ['10.0.0.0/8', 'fd00:20::2/64']);
  assert.equal(macInterfaces.find((i) => i.name === 'en5')?.up, false);
  assert.equal(macInterfaces.find((i) => i.name === 'en0')?.addresses.find((a) => a.family === 6)?.scope, 'link');
});

test('macOS: abbreviated destinations expand (10 → /8, 192.168.1 → /24, 128.0/1, 224.0.0/4 dropped as multicast)', () => {
  for (const s of ['10.0.0.0/8', '192.168.1.0/24', '127.0.0.0/8', '169.254.0.0/16', '128.0.0.0/1', '0.0.0.0/1']) assert.equal(byNet(mac, s).length, 1, s);
  assert.equal(byNet(mac, '224.0.0.0/4').length, 0);
});

test('macOS: default route, host routes, and cloned/broadcast entries dropped', () => {
  const [d] = byNet(mac, '0.0.0.0/0');
  assert.equal(d?.isDefault, true);
  assert.equal(d?.gateway, '192.168.1.1');
  assert.equal(byNet(mac, '10.0.0.1/32')[0]?.gateway, undefined, 'no G flag: the gateway column is not a next hop');
  assert.equal(mac.filter((r) => r.subnet === '192.168.1.1/32').length, 1, 'only the non-cloned one');
  assert.equal(byNet(mac, '192.168.1.255/32').length, 0);
});

test('macOS: routes through a down interface are left out', () => {
  assert.equal(byNet(mac, '172.17.4.0/24').length, 0);
});

test('macOS: IPv6 zones are stripped and link#N is no gateway', () => {
  assert.equal(byNet(mac, 'fe80::/64').length, 2);
  const [r] = byNet(mac, 'fd00:10::/48');
  assert.equal(formatRoute(r!), 'fd00:10::/48 via fd00:20::2 dev utun4, gw fd00:20::1');
  const [d6] = byNet(mac, '::/0');
  assert.equal(d6?.gateway, 'fe80::');
  assert.equal(d6?.isDefault, true);
});

const winInterfaces = parseGetNetIpAddressJson(fixture('windows/get-netipaddress.json'));
const win = parseGetNetRouteJson(fixture('windows/get-netroute.json'), winInterfaces);

test('Windows Get-NetRoute: VPN route with local IP and gateway', () => {
  assert.equal(formatRoute(byNet(win, '10.0.0.0/8')[0]!), '10.0.0.0/8 via 10.0.0.2 dev Corp VPN, gw 10.0.0.1');
  assert.equal(formatRoute(byNet(win, 'fd00:10::/48')[0]!), 'fd00:10::/48 via fd00:20::2 dev Corp VPN, gw fd00:20::1');
});

test('Windows Get-NetRoute: 0.0.0.0 / :: next hops are on-link, multicast and broadcast dropped', () => {
  assert.equal(byNet(win, '192.168.1.0/24')[0]?.gateway, undefined);
  assert.equal(byNet(win, 'fe80::/64')[0]?.gateway, undefined);
  for (const s of ['224.0.0.0/4', '255.255.255.255/32', 'ff00::/8']) assert.equal(byNet(win, s).length, 0, s);
  assert.equal(byNet(win, '0.0.0.0/0')[0]?.isDefault, true);
});

test('Windows Get-NetRoute: a single row (ConvertTo-Json prints an object) and empty output', () => {
  const one = parseGetNetRouteJson('{"DestinationPrefix":"10.0.0.0/8","NextHop":"10.0.0.1","InterfaceAlias":"Corp VPN","InterfaceIndex":25,"RouteMetric":5}', winInterfaces);
  assert.equal(one.length, 1);
  assert.equal(one[0]?.metric, 5);
  assert.deepEqual(parseGetNetRouteJson('', []), []);
  assert.throws(() => parseGetNetRouteJson('<xml/>', []), /Get-NetRoute \| ConvertTo-Json/);
});

test('Windows link-local addresses carry their zone in Get-NetIPAddress and are parsed without it', () => {
  const eth = winInterfaces.find((i) => i.name === 'Ethernet')!;
  assert.deepEqual(eth.addresses.map((a) => a.address), ['192.168.1.23', 'fe80::8d4c:1a2b:3c4d:5e6f']);
});

const printed = parseRoutePrint(fixture('windows/route-print.txt'));

test('Windows route print: IPv4 rows (interface named by its address), persistent routes ignored', () => {
  assert.equal(formatRoute(byNet(printed, '10.0.0.0/8')[0]!), '10.0.0.0/8 via 10.0.0.2 dev 10.0.0.2, gw 10.0.0.1');
  assert.equal(byNet(printed, '10.99.0.0/16').length, 0);
  assert.equal(byNet(printed, '0.0.0.0/0')[0]?.isDefault, true);
  assert.equal(byNet(printed, '192.168.1.0/24')[0]?.gateway, undefined);
  assert.equal(byNet(printed, '224.0.0.0/4').length, 0);
});

test('Windows route print: IPv6 rows resolve the interface index through the interface list', () => {
  const [r] = byNet(printed, 'fd00:10::/48');
  assert.equal(r?.interface, 'Corp VPN Adapter');
  assert.equal(r?.gateway, 'fd00:20::1');
  assert.equal(byNet(printed, 'fe80::/64')[0]?.interface, 'Intel(R) Ethernet Connection (7) I219-V');
});
