import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RoutingPlan } from '../../../daemon/protocol/rpc';
import { TunnelRouter, proxyViaRoutes, proxyWorkloadFor } from '../../../daemon/session/tunnelRouter';
import type { TunnelOpener } from '../../../daemon/session/flowForwarder';
import { isTunnelError } from '../../../daemon/tunnel/tunnelErrors';

const plan = {
  virtualSubnet: '246.246.0.0/16',
  subnets: [
    { subnet: '10.130.0.0/16', origin: 'service', resolution: 'route' },
    { subnet: '10.132.0.0/16', origin: 'pods', resolution: 'proxy-via', workload: 'greeter', virtualRange: '246.246.0.0/17' },
  ],
} as unknown as RoutingPlan;

function opener(name: string, seen: string[]): TunnelOpener {
  return {
    openTcp: async (t) => { seen.push(`${name} tcp ${t.host}:${t.port}`); return {} as never; },
    openUdp: async (t) => { seen.push(`${name} udp ${t.host}:${t.port}`); return {} as never; },
  };
}

test('proxy-via subnets of a plan, and which workload dials a real IP', () => {
  const routes = proxyViaRoutes(plan);
  assert.equal(routes.length, 1);
  assert.equal(proxyWorkloadFor(routes, '10.132.4.7'), 'greeter');
  assert.equal(proxyWorkloadFor(routes, '10.130.0.10'), undefined);
  assert.equal(proxyWorkloadFor(routes, 'not-an-ip'), undefined);
});

test('flows to a proxy-via subnet use the agent tunnel, others the relay', async () => {
  const seen: string[] = [];
  const router = new TunnelRouter(opener('relay', seen), proxyViaRoutes(plan), (w) => (w === 'greeter' ? opener('agent', seen) : undefined));
  await router.openTcp({ host: '10.132.0.5', port: 8080 });
  await router.openTcp({ host: '10.130.0.10', port: 80 });
  await router.openUdp({ host: '10.132.0.5', port: 9001 });
  assert.deepEqual(seen, ['agent tcp 10.132.0.5:8080', 'relay tcp 10.130.0.10:80', 'agent udp 10.132.0.5:9001']);
});

test('no agent tunnel: the flow fails as a tunnel that is down, never through the relay', async () => {
  const seen: string[] = [];
  const router = new TunnelRouter(opener('relay', seen), proxyViaRoutes(plan), () => undefined);
  await assert.rejects(router.openTcp({ host: '10.132.0.5', port: 8080 }), (e) => isTunnelError(e) && e.code === 'ETUNNELDOWN' && /greeter/.test(e.message));
  assert.deepEqual(seen, []);
});
