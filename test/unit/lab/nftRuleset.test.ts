import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Endpoints, V1Service } from '@kubernetes/client-node';
import { proxyRuleset, proxyServicePorts } from '../../lab/proxy/nftRuleset';

const services: V1Service[] = [
  { metadata: { namespace: 'default', name: 'echo' }, spec: { clusterIP: '10.130.0.5', type: 'NodePort', ports: [
    { name: 'http', port: 80, targetPort: 'http', nodePort: 30080 },
    { name: 'udp-echo', port: 9001, protocol: 'UDP', targetPort: 9001 },
  ] } },
  { metadata: { namespace: 'default', name: 'empty' }, spec: { clusterIP: '10.130.0.6', ports: [{ port: 80 }] } },
  { metadata: { namespace: 'team-a', name: 'store' }, spec: { clusterIP: 'None', ports: [{ port: 8080 }] } },
];
const endpoints: V1Endpoints[] = [
  { metadata: { namespace: 'default', name: 'echo' }, subsets: [{
    addresses: [{ ip: '10.132.0.3' }, { ip: '10.132.0.2' }],
    notReadyAddresses: [{ ip: '10.132.0.9' }],
    ports: [{ name: 'http', port: 8080 }, { name: 'udp-echo', port: 9001, protocol: 'UDP' }],
  }] },
];

test('service ports get their ready endpoints by port name and protocol; headless services are skipped', () => {
  const ports = proxyServicePorts(services, endpoints);
  assert.deepEqual(ports.map((p) => [p.key, p.backends.map((b) => `${b.ip}:${b.port}`)]), [
    ['default/echo/tcp/http', ['10.132.0.2:8080', '10.132.0.3:8080']],
    ['default/echo/udp/udp-echo', ['10.132.0.2:9001', '10.132.0.3:9001']],
    ['default/empty/tcp/80', []],
  ]);
  assert.equal(ports[0]!.nodePort, 30080);
  assert.equal(ports[1]!.nodePort, undefined);
});

test('ruleset: one atomic table, DNAT with random choice, hairpin and NodePort masquerade, reject for endpoint-less services', () => {
  const text = proxyRuleset('10.130.0.0/16', proxyServicePorts(services, endpoints));
  const lines = text.split('\n');
  assert.equal(lines[0], 'table ip tpvlab');
  assert.equal(lines[1], 'delete table ip tpvlab');
  assert.match(text, /ip daddr 10\.130\.0\.5 tcp dport 80 jump svc-default\/echo\/tcp\/http\n/);
  assert.match(text, /ip daddr 10\.130\.0\.5 udp dport 9001 jump svc-default\/echo\/udp\/udp-echo\n/);
  assert.match(text, /numgen random mod 2 vmap \{ 0 : jump ep-default\/echo\/tcp\/http\/10\.132\.0\.2\/8080, 1 : jump ep-default\/echo\/tcp\/http\/10\.132\.0\.3\/8080 \}/);
  assert.match(text, /ip saddr 10\.132\.0\.2 meta mark set meta mark \| 0x00004000\n\s+meta l4proto tcp dnat to 10\.132\.0\.2:8080/);
  assert.match(text, /tcp dport 30080 meta mark set meta mark \| 0x00004000 jump svc-default\/echo\/tcp\/http/);
  assert.match(text, /meta mark & 0x00004000 == 0x00004000 masquerade/);
  assert.doesNotMatch(text, /10\.130\.0\.6/, 'no DNAT for a service without endpoints');
  assert.match(text, /ip daddr 10\.130\.0\.0\/16 reject/);
  assert.doesNotMatch(text, /10\.132\.0\.9/, 'not-ready endpoints get no traffic');
});
