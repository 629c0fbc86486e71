import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { needsUpgrade, relayConfigMap, relayDeployment, relaySecret, RELAY_LABELS, VERSION_ANNOTATION, type RelaySpec } from '../../../daemon/cluster/relayManifests';
import { podProblem } from '../../../daemon/cluster/relayInstaller';

const spec: RelaySpec = { namespace: 'default', image: 'node:20-alpine', version: '1.2.3', script: 'console.log(1)', secret: 's3cret', tunnelPort: 8022, healthPort: 8023, secretEnv: 'TPV_RELAY_SECRET', portEnv: 'TPV_RELAY_PORT', healthPortEnv: 'TPV_RELAY_HEALTH_PORT' };

test('relay deployment runs the ConfigMap script in a stock node image with the secret from a Secret', () => {
  const d = relayDeployment(spec);
  const c = d.spec!.template.spec!.containers[0]!;
  assert.equal(c.image, 'node:20-alpine');
  assert.deepEqual(c.command, ['node', '/opt/tpv-relay/relay.js']);
  assert.equal(c.volumeMounts![0]!.mountPath, '/opt/tpv-relay');
  assert.equal(d.spec!.template.spec!.volumes![0]!.configMap!.name, 'tpv-relay');
  const secretEnv = c.env!.find((e) => e.name === 'TPV_RELAY_SECRET')!;
  assert.equal(secretEnv.value, undefined, 'the secret is never inlined in the pod spec');
  assert.deepEqual(secretEnv.valueFrom!.secretKeyRef, { name: 'tpv-relay', key: 'secret' });
  assert.equal(c.env!.find((e) => e.name === 'TPV_RELAY_PORT')!.value, '8022');
  assert.equal(c.readinessProbe!.httpGet!.port, 8023);
  assert.equal(d.spec!.template.metadata!.annotations![VERSION_ANNOTATION], '1.2.3', 'a new version rolls the pods');
  assert.deepEqual(d.spec!.selector.matchLabels, RELAY_LABELS);
  assert.equal(d.spec!.template.spec!.automountServiceAccountToken, false, 'the relay needs no API access');
});

test('relay ConfigMap and Secret carry the script and the secret, labelled as ours', () => {
  assert.equal(relayConfigMap(spec).data!['relay.js'], 'console.log(1)');
  assert.equal(relaySecret(spec).stringData!.secret, 's3cret');
  assert.equal(relaySecret(spec).metadata!.labels!['app.kubernetes.io/managed-by'], 'telepresence-vscode');
});

test('any version other than ours is replaced, older or newer', () => {
  assert.equal(needsUpgrade('1.2.3', '1.2.3'), false);
  assert.equal(needsUpgrade('1.2.2', '1.2.3'), true);
  assert.equal(needsUpgrade('2.0.0', '1.2.3'), true);
  assert.equal(needsUpgrade(undefined, '1.2.3'), true);
});

test('pod problems are explained: image pull, crash loop, unschedulable', () => {
  const pod = (status: V1Pod['status']): V1Pod => ({ status });
  assert.equal(podProblem(pod({ containerStatuses: [{ name: 'relay', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'no such image' } } }] })), 'ImagePullBackOff: no such image');
  assert.equal(podProblem(pod({ containerStatuses: [{ name: 'relay', image: 'x', imageID: '', ready: false, restartCount: 3, state: { running: {} }, lastState: { terminated: { exitCode: 1, reason: 'Error' } } }] })), 'restarted 3 times, last exit 1 (Error)');
  assert.equal(podProblem(pod({ conditions: [{ type: 'PodScheduled', status: 'False', message: '0/1 nodes are available' }] })), 'not scheduled: 0/1 nodes are available');
  assert.equal(podProblem(pod({ containerStatuses: [{ name: 'relay', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] })), undefined);
});
