import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RoutingPlan } from '../../../daemon/protocol/rpc';
import { ROUTE_PROTOCOL, RouteExistsError, RouteOperation, routeOperationsForPlan, routedSubnets } from '../../../daemon/system/routeOperation';
import { fakeRunner } from './fakeRunner';

test('routes are added through our device only, tagged with our protocol, never replaced', async () => {
  const f = fakeRunner();
  const v4 = new RouteOperation('10.130.0.0/16', 'tpv0', f.run);
  const v6 = new RouteOperation('fd00:130::/64', 'tpv0', f.run);
  await v4.apply();
  await v6.apply();
  await v6.revert();
  await v4.revert();
  assert.deepEqual(f.calls, [
    `ip route add 10.130.0.0/16 dev tpv0 proto ${ROUTE_PROTOCOL}`,
    `ip -6 route add fd00:130::/64 dev tpv0 proto ${ROUTE_PROTOCOL}`,
    `ip -6 route del fd00:130::/64 dev tpv0 proto ${ROUTE_PROTOCOL}`,
    `ip route del 10.130.0.0/16 dev tpv0 proto ${ROUTE_PROTOCOL}`,
  ]);
  assert.ok(!f.calls.some((c) => c.includes('replace')));
});

test('an existing route for the same prefix is reported and left alone', async () => {
  const f = fakeRunner((line) => {
    if (line.startsWith('ip route add')) return { code: 2, stderr: 'RTNETLINK answers: File exists\n' };
    if (line.startsWith('ip route show exact')) return { stdout: '10.0.0.0/8 dev vpn0 proto kernel scope link src 10.0.0.2 \n' };
    return undefined;
  });
  const op = new RouteOperation('10.0.0.0/8', 'tpv0', f.run);
  await assert.rejects(op.apply(), (err: Error) => {
    assert.ok(err instanceof RouteExistsError);
    assert.match(err.message, /already has a route for exactly 10\.0\.0\.0\/8 \("10\.0\.0\.0\/8 dev vpn0 proto kernel scope link src 10\.0\.0\.2"\)/);
    assert.match(err.message, /--vnat 10\.0\.0\.0\/8/);
    return true;
  });
  assert.deepEqual(f.calls, [`ip route add 10.0.0.0/8 dev tpv0 proto ${ROUTE_PROTOCOL}`, 'ip route show exact 10.0.0.0/8']);
});

test('revert is idempotent (route or device already gone) but reports real failures', async () => {
  for (const stderr of ['RTNETLINK answers: No such process', 'Cannot find device "tpv0"']) {
    await new RouteOperation('10.130.0.0/16', 'tpv0', fakeRunner(() => ({ code: 2, stderr })).run).revert();
  }
  await assert.rejects(
    new RouteOperation('10.130.0.0/16', 'tpv0', fakeRunner(() => ({ code: 2, stderr: 'RTNETLINK answers: Operation not permitted' })).run).revert(),
    /Operation not permitted/,
  );
});

test('a plan becomes routes: routed and allowed subnets, the virtual subnet once for VNAT', () => {
  const plan: RoutingPlan = {
    virtualSubnet: '246.246.0.0/16',
    subnets: [
      { subnet: '10.130.0.0/16', origin: 'service', resolution: 'vnat', virtualRange: '246.246.0.0/17' },
      { subnet: '10.132.0.0/16', origin: 'pods', resolution: 'vnat', virtualRange: '246.246.128.0/17' },
      { subnet: '172.20.0.0/16', origin: 'also', resolution: 'route' },
      { subnet: '10.99.0.0/16', origin: 'also', resolution: 'allowed' },
      { subnet: '172.20.5.0/24', origin: 'also', resolution: 'never-proxy' },
    ],
  };
  assert.deepEqual(routedSubnets(plan), ['246.246.0.0/16', '172.20.0.0/16', '10.99.0.0/16']);
  const ops = routeOperationsForPlan(plan, 'tpv0', fakeRunner().run);
  assert.deepEqual(ops.map((o) => o.record), [
    { kind: 'route', cidr: '246.246.0.0/16', device: 'tpv0', protocol: ROUTE_PROTOCOL },
    { kind: 'route', cidr: '172.20.0.0/16', device: 'tpv0', protocol: ROUTE_PROTOCOL },
    { kind: 'route', cidr: '10.99.0.0/16', device: 'tpv0', protocol: ROUTE_PROTOCOL },
  ]);
  assert.deepEqual(routedSubnets({ virtualSubnet: '246.246.0.0/16', subnets: [{ subnet: '10.1.0.0/16', origin: 'service', resolution: 'route' }] }), ['10.1.0.0/16']);
  assert.throws(() => routedSubnets({ ...plan, error: 'subnet overlaps' }), /plan with an error: subnet overlaps/);
  assert.throws(() => routedSubnets({ virtualSubnet: '246.246.0.0/16', subnets: [{ subnet: '10.1.0.0/16', origin: 'service', resolution: 'error', error: 'boom' }] }), /boom/);
});
