import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1PodTemplateSpec, V1Service } from '@kubernetes/client-node';
import { parsePortSpec } from '../../../daemon/intercept/portSpec';
import {
  AGENT_ANNOTATION, AGENT_CONTAINER, ORIGINAL_TEMPLATE_ANNOTATION, ORIGINAL_TARGET_PORTS_ANNOTATION, PROXY_VIA_AGENT, injectAgent, injectProxyAgent, originalTemplate,
  redirectServicePorts, renamedPortName, resolveServicePort, restoreServicePorts, type AgentSettings,
} from '../../../daemon/intercept/agentInjection';

const settings: AgentSettings = { image: 'node:20-alpine', tunnelPort: 8022, firstInterceptPort: 9900, secretEnv: 'TPV_RELAY_SECRET', secretName: 'tpv-relay' };

const template = (): V1PodTemplateSpec => ({
  metadata: { labels: { app: 'echo' } },
  spec: { containers: [{ name: 'echo', image: 'lab/echo', ports: [{ name: 'http', containerPort: 8080 }, { name: 'udp', containerPort: 9001, protocol: 'UDP' }] }] },
});
const service = (targetPort: number | string): V1Service => ({
  metadata: { name: 'echo', namespace: 'default' },
  spec: { selector: { app: 'echo' }, ports: [{ name: 'http', port: 80, targetPort }, { name: 'tcp', port: 9000, targetPort: 9000 }] },
});

test('port specs: LOCAL:REMOTE, REMOTE only, names', () => {
  assert.deepEqual(parsePortSpec('18080:80'), { local: 18080, remote: 80 });
  assert.deepEqual(parsePortSpec('80'), { local: 80, remote: 80 });
  assert.deepEqual(parsePortSpec('8080:http'), { local: 8080, remote: 'http' });
  assert.deepEqual(parsePortSpec('http'), { local: undefined, remote: 'http' });
});

test('port specs: bad input says what the form is', () => {
  assert.throws(() => parsePortSpec(''), /must be \[LOCAL:\]REMOTE/);
  assert.throws(() => parsePortSpec('1:2:3'), /must be \[LOCAL:\]REMOTE/);
  assert.throws(() => parsePortSpec('70000:80'), /local port "70000" is not a port number/);
  assert.throws(() => parsePortSpec('8080:0'), /remote port "0"/);
  assert.throws(() => parsePortSpec('8080:Bad_Name'), /neither a number nor a valid port name/);
});

test('service port resolution by number and by name, with named and numeric targets', () => {
  const r1 = resolveServicePort(service('http'), template(), 80);
  assert.equal(r1.containerPort, 8080);
  assert.equal(r1.targetName, 'http');
  const r2 = resolveServicePort(service(8080), template(), 'http');
  assert.equal(r2.containerPort, 8080);
  assert.equal(r2.targetName, undefined);
  assert.equal(r2.container.name, 'echo');
});

test('service port resolution errors list what exists', () => {
  assert.throws(() => resolveServicePort(service('http'), template(), 81), /service default\/echo has no port 81; its ports are: http \(80\), tcp \(9000\)/);
  assert.throws(() => resolveServicePort(service('web'), template(), 80), /targets port "web", but no container of the workload declares a port with that name/);
});

test('symbolic target: the app port is renamed and the agent takes the name; the service is untouched', () => {
  const svc = service('http');
  const inj = injectAgent(template(), svc, resolveServicePort(svc, template(), 80), settings);
  const names = inj.template.spec!.containers.map((c) => c.name);
  assert.deepEqual(names, ['echo', AGENT_CONTAINER]);
  assert.equal(inj.template.spec!.containers[0]!.ports![0]!.name, 'tm-http');
  const agent = inj.template.spec!.containers[1]!;
  assert.deepEqual(agent.ports![0], { name: 'http', containerPort: 9900 });
  assert.equal(agent.env!.find((e) => e.name === 'TPV_AGENT_LISTEN')!.value, '9900:8080');
  assert.deepEqual(inj.servicePatch, []);
});

test('numeric target: the service is pointed at the agent, and restored exactly', () => {
  const svc = service(8080);
  const inj = injectAgent(template(), svc, resolveServicePort(svc, template(), 80), settings);
  assert.deepEqual(inj.servicePatch, [{ index: 0, targetPort: 9900 }]);
  const { ports, annotation } = redirectServicePorts(svc, inj.servicePatch);
  assert.equal(ports[0]!.targetPort, 9900);
  assert.equal(ports[1]!.targetPort, 9000, 'other ports untouched');
  const patched: V1Service = { ...svc, metadata: { ...svc.metadata, annotations: { [ORIGINAL_TARGET_PORTS_ANNOTATION]: annotation } }, spec: { ...svc.spec, ports } };
  assert.deepEqual(restoreServicePorts(patched), svc.spec!.ports);
  assert.equal(restoreServicePorts(svc), undefined);
});

test('the original template is recorded and restored byte for byte', () => {
  const t = template();
  const svc = service('http');
  const inj = injectAgent(t, svc, resolveServicePort(svc, t, 80), settings);
  assert.equal(inj.annotations[ORIGINAL_TEMPLATE_ANNOTATION], JSON.stringify(t));
  assert.deepEqual(originalTemplate(inj.annotations), t);
  assert.deepEqual(t, template(), 'the input is not mutated');
  assert.equal(originalTemplate({}), undefined);
});

test('injecting twice is refused (idempotence is the caller\'s reuse, not a second agent)', () => {
  const svc = service('http');
  const inj = injectAgent(template(), svc, resolveServicePort(svc, template(), 80), settings);
  assert.throws(() => injectAgent(inj.template, svc, resolveServicePort(svc, inj.template, 80), settings), /already carries a traffic agent/);
});

test('renamed port names stay within 15 characters', () => {
  assert.equal(renamedPortName('http'), 'tm-http');
  assert.equal(renamedPortName('very-long-name1').length, 15);
});

test('a --proxy-via agent: no intercept port, no service change, the app untouched, and the original kept exactly', () => {
  const t = template();
  const inj = injectProxyAgent(t, settings);
  assert.deepEqual(inj.servicePatch, []);
  const containers = inj.template.spec!.containers;
  assert.deepEqual(containers[0], t.spec!.containers[0], 'the app container is not changed (no port renamed)');
  const agent = containers.find((c) => c.name === AGENT_CONTAINER)!;
  assert.equal(agent.env!.find((e) => e.name === 'TPV_AGENT_LISTEN')!.value, 'none');
  assert.deepEqual(agent.ports!.map((p) => p.name), ['tpv-tunnel', 'tpv-health']);
  assert.equal(inj.template.metadata!.annotations![AGENT_ANNOTATION], PROXY_VIA_AGENT);
  assert.deepEqual(originalTemplate(inj.annotations), t);
  assert.throws(() => injectProxyAgent(inj.template, settings), /already carries a traffic agent/);
});
