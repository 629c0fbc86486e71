// The pure decisions of an intercept: which service, which agent ports, what
// the injected template looks like, what rights are needed, where a rollout
// stands, and how TPV_AGENT_LISTEN is read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod, V1PodTemplateSpec, V1Service } from '@kubernetes/client-node';
import { interceptPermissions, missingPermissionsError, permissionText } from '../../../daemon/intercept/accessReview';
import { AGENT_CONTAINER, chooseAgentPorts, injectAgent, resolveServicePort, type AgentSettings } from '../../../daemon/intercept/agentInjection';
import { agentPodProblem, agentRemoved, agentRollout } from '../../../daemon/intercept/agentRollout';
import { chooseService, selectingServices } from '../../../daemon/intercept/serviceSelection';
import { WORKLOAD_KINDS, collectionPath, isControlledRevision, objectPath, qualifiedResource } from '../../../daemon/intercept/workloadKinds';
import { pointerSegment } from '../../../daemon/cluster/kubeJson';
import { parseAgentListen } from '../../../daemon/relay/relayConfig';

const svc = (name: string, selector: Record<string, string> | undefined, ports: V1Service['spec'] extends infer S ? S extends { ports?: infer P } ? P : never : never): V1Service => ({
  metadata: { name, namespace: 'default' },
  spec: { ...(selector ? { selector } : {}), ports },
});

const echoWorkload = { kind: 'Deployment', namespace: 'default', name: 'echo', podLabels: { app: 'echo', tier: 'web' } };

test('services select a workload when every selector label matches its pods', () => {
  const all = [
    svc('echo', { app: 'echo' }, [{ port: 80 }]),
    svc('other', { app: 'other' }, [{ port: 80 }]),
    svc('external', undefined, [{ port: 80 }]),
    svc('narrow', { app: 'echo', tier: 'db' }, [{ port: 80 }]),
  ];
  assert.deepEqual(selectingServices(all, echoWorkload.podLabels).map((s) => s.metadata!.name), ['echo']);
});

test('no service in front of the workload: the error says so and how to make one', () => {
  assert.throws(() => chooseService([svc('other', { app: 'other' }, [{ port: 80 }])], echoWorkload, 80),
    /^Error: no service selects deployment echo: its pods are labelled app=echo,tier=web, and no Service in namespace "default" has a selector matching them\. .*kubectl -n default expose deployment echo/);
});

test('a port the service does not have: the error lists the ports it has', () => {
  const one = [svc('echo', { app: 'echo' }, [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'udp-echo', port: 9001, protocol: 'UDP' }])];
  assert.throws(() => chooseService(one, echoWorkload, 81), /^Error: service default\/echo \(in front of deployment echo\) has no port 81; its ports are: http \(80\), udp-echo \(9001\/UDP\)$/);
  assert.throws(() => chooseService(one, echoWorkload, 'grpc'), /has no port named grpc; its ports are/);
  const two = [...one, svc('echo-admin', { app: 'echo' }, [{ port: 9090 }])];
  assert.throws(() => chooseService(two, echoWorkload, 81), /^Error: no service in front of deployment echo has a port 81; their ports are: echo: http \(80\), udp-echo \(9001\/UDP\); echo-admin: 9090$/);
});

test('UDP ports cannot be intercepted; the first service by name that has the port wins', () => {
  const all = [svc('b', { app: 'echo' }, [{ port: 80 }]), svc('a', { app: 'echo' }, [{ port: 80 }, { name: 'u', port: 53, protocol: 'UDP' }])];
  assert.equal(chooseService(all, echoWorkload, 80).service.metadata!.name, 'a');
  assert.throws(() => chooseService(all, echoWorkload, 53), /port 53 of service default\/a is UDP; only TCP ports can be intercepted/);
});

const template = (): V1PodTemplateSpec => ({
  metadata: { labels: { app: 'echo' } },
  spec: {
    containers: [{
      name: 'echo', image: 'lab/echo',
      ports: [{ name: 'http', containerPort: 8080 }, { containerPort: 9900 }],
      readinessProbe: { httpGet: { path: '/healthz', port: 'http' } },
      livenessProbe: { tcpSocket: { port: 9901 } },
    }],
  },
});
const settings: AgentSettings = { image: 'node:20-alpine', tunnelPort: 9901, firstInterceptPort: 9900, healthPort: 9902, secretEnv: 'TPV_RELAY_SECRET', secretName: 'tpv-agent' };

test('agent ports avoid every port the pod declares or probes', () => {
  assert.deepEqual(chooseAgentPorts(template(), { intercept: 9900, tunnel: 9901, health: 9902 }), { intercept: 9902, tunnel: 9903, health: 9904 });
  assert.deepEqual(chooseAgentPorts({ spec: { containers: [{ name: 'a' }] } }, { intercept: 9900, tunnel: 9901, health: 9902 }), { intercept: 9900, tunnel: 9901, health: 9902 });
});

test('a renamed symbolic port keeps the app\'s probes on the app; the agent is probed on its health port', () => {
  const t = template();
  const service = svc('echo', { app: 'echo' }, [{ name: 'http', port: 80, targetPort: 'http' }]);
  const ports = chooseAgentPorts(t, { intercept: 9900, tunnel: 9901, health: 9902 });
  const inj = injectAgent(t, service, resolveServicePort(service, t, 80), { ...settings, firstInterceptPort: ports.intercept, tunnelPort: ports.tunnel, healthPort: ports.health });
  const [app, agent] = inj.template.spec!.containers;
  assert.equal(app!.readinessProbe!.httpGet!.port, 'tm-http');
  assert.equal(app!.livenessProbe!.tcpSocket!.port, 9901, 'numeric probes are untouched');
  assert.equal(agent!.name, AGENT_CONTAINER);
  assert.deepEqual(agent!.readinessProbe!.httpGet, { path: '/healthz', port: 9904 });
  const env = Object.fromEntries(agent!.env!.map((e) => [e.name, e.value ?? e.valueFrom]));
  assert.equal(env.TPV_AGENT_LISTEN, '9902:8080');
  assert.equal(env.TPV_RELAY_PORT, '9903');
  assert.equal(env.TPV_RELAY_HEALTH_PORT, '9904');
  assert.deepEqual(env.TPV_RELAY_SECRET, { secretKeyRef: { name: 'tpv-agent', key: 'secret' } });
  assert.deepEqual(agent!.ports!.map((p) => [p.name, p.containerPort]), [['http', 9902], ['tpv-tunnel', 9903], ['tpv-health', 9904]]);
});

test('permissions: the workload\'s patch, the agent objects, pods, and the service only for numeric targets', () => {
  const deploy = WORKLOAD_KINDS[0]!;
  const symbolic = interceptPermissions(deploy, false).map(permissionText);
  assert.ok(symbolic.includes('patch deployments.apps'));
  assert.ok(symbolic.includes('create pods/portforward'));
  assert.ok(!symbolic.includes('patch services'));
  assert.ok(interceptPermissions(deploy, true).map(permissionText).includes('patch services'));
  const e = missingPermissionsError(interceptPermissions(deploy, false).slice(0, 1), 'default', 'deployment default/echo');
  assert.match(e.message, /^no permission to intercept deployment default\/echo: in namespace "default" you may not\n  - patch deployments\.apps \(to add the traffic agent to the Deployment's pod template \(and remove it on leave\)\)\nAsk a cluster admin/);
  assert.match(e.message, /Nothing was changed\.$/);
});

const pod = (name: string, o: { agent?: boolean; ready?: boolean; phase?: string; deleting?: boolean; statuses?: V1Pod['status'] extends infer S ? S extends { containerStatuses?: infer C } ? C : never : never } = {}): V1Pod => ({
  metadata: { name, ...(o.deleting ? { deletionTimestamp: new Date() } : {}) },
  spec: { containers: [{ name: 'echo' }, ...(o.agent ? [{ name: AGENT_CONTAINER }] : [])] },
  status: {
    phase: o.phase ?? 'Running',
    conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    ...(o.statuses ? { containerStatuses: o.statuses } : {}),
  },
});

test('rollout: complete only when every live pod runs a ready agent', () => {
  assert.deepEqual(agentRollout([pod('a', { agent: true }), pod('b', { agent: true }), pod('old', { deleting: true })]), { agentPods: ['a', 'b'], complete: true, waitingFor: '' });
  assert.equal(agentRollout([pod('old')]).waitingFor, 'no pod runs the agent yet (1 pod(s) of the previous template still run)');
  assert.equal(agentRollout([]).waitingFor, 'no pod of the workload exists (is it scaled to 0?)');
  assert.equal(agentRollout([pod('a', { agent: true }), pod('old')]).waitingFor, 'pod old (without the agent) still runs; the rollout is not finished');
  assert.deepEqual(agentRollout([pod('a', { agent: true }), pod('old')]).agentPods, ['a']);
});

test('rollout: a pod whose agent is not ready is named with the reason', () => {
  const pull = pod('p1', { agent: true, ready: false, phase: 'Pending', statuses: [{ name: AGENT_CONTAINER, ready: false, restartCount: 0, image: 'x', imageID: '', state: { waiting: { reason: 'ErrImagePull', message: 'no such image' } } }] });
  assert.equal(agentRollout([pull]).waitingFor, 'pod p1: ErrImagePull: no such image');
  const probe = pod('p2', { agent: true, ready: false, statuses: [{ name: AGENT_CONTAINER, ready: false, restartCount: 0, image: 'x', imageID: '', state: { running: {} } }] });
  assert.equal(agentPodProblem(probe), `pod p2: container ${AGENT_CONTAINER} runs but is not ready (its readiness probe on /healthz fails)`);
  const crash = pod('p3', { agent: true, ready: false, statuses: [{ name: AGENT_CONTAINER, ready: false, restartCount: 3, image: 'x', imageID: '', state: { running: {} }, lastState: { terminated: { exitCode: 2 } } }] });
  assert.equal(agentPodProblem(crash), 'pod p3: restarted 3 times, last exit 2');
});

test('removal: done once no live pod runs the agent', () => {
  assert.equal(agentRemoved([pod('a'), pod('b', { agent: true, deleting: true })]), true);
  assert.equal(agentRemoved([pod('a'), pod('b', { agent: true })]), false);
});

test('workload kinds: API paths, RBAC names, and revision ReplicaSets are not workloads', () => {
  const [deploy, , , rollout] = WORKLOAD_KINDS;
  assert.equal(objectPath(deploy!, 'default', 'echo'), '/apis/apps/v1/namespaces/default/deployments/echo');
  assert.equal(collectionPath(rollout!), '/apis/argoproj.io/v1alpha1/rollouts');
  assert.equal(qualifiedResource('', 'services'), 'services');
  assert.equal(qualifiedResource('apps', 'deployments'), 'deployments.apps');
  assert.equal(isControlledRevision({ metadata: { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'echo', uid: 'u', controller: true }] } }), true);
  assert.equal(isControlledRevision({ metadata: {} }), false);
});

test('JSON pointer segments escape ~ and /', () => {
  assert.equal(pointerSegment('telepresence-vscode.dev/original-pod-template'), 'telepresence-vscode.dev~1original-pod-template');
  assert.equal(pointerSegment('a~b'), 'a~0b');
});

test('TPV_AGENT_LISTEN: LISTEN:APP pairs', () => {
  assert.deepEqual(parseAgentListen('9900:8080, 9902:9000'), [{ port: 9900, appPort: 8080 }, { port: 9902, appPort: 9000 }]);
  assert.deepEqual(parseAgentListen(''), []);
  assert.throws(() => parseAgentListen('9900'), /"9900" is not LISTEN:APP/);
  assert.throws(() => parseAgentListen('9900:0'), /"9900:0" is not LISTEN:APP/);
  assert.throws(() => parseAgentListen('9900:1,9900:2'), /port 9900 is listed twice/);
});

test('rollout with an expected agent: pods of the other agent (--proxy-via ↔ intercept) count as the previous template', () => {
  const tagged = (name: string, value: string): V1Pod => {
    const p = pod(name, { agent: true });
    p.metadata!.annotations = { 'telepresence-vscode.dev/agent': value };
    return p;
  };
  assert.equal(agentRollout([tagged('proxy', 'proxy-via'), tagged('new', '9900')], '9900').waitingFor, 'pod proxy (without this agent) still runs; the rollout is not finished');
  assert.deepEqual(agentRollout([tagged('new', '9900')], '9900'), { agentPods: ['new'], complete: true, waitingFor: '' });
  assert.equal(agentRollout([tagged('proxy', 'proxy-via')], '9900').complete, false);
  assert.equal(agentRollout([tagged('proxy', 'proxy-via')]).complete, true, 'without expectation any agent counts');
});
