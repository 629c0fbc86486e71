import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Container, V1Pod, V1Service } from '@kubernetes/client-node';
import { ContainerConfigError, containerEnv, expandVars } from '../../lab/kubelet/containerEnv';
import { serviceEnv, serviceLinkEnv } from '../../lab/kubelet/serviceLinks';

const svc = (ns: string, name: string, ip: string, ports: V1Service['spec'] extends infer S ? S extends { ports?: infer P } ? P : never : never): V1Service =>
  ({ metadata: { namespace: ns, name }, spec: { clusterIP: ip, ports } });

test('service links spell every variable as kubelet does', () => {
  const env = Object.fromEntries(serviceEnv(svc('default', 'echo-svc', '10.130.0.5', [
    { name: 'http', port: 80, protocol: 'TCP' },
    { name: 'udp-echo', port: 9001, protocol: 'UDP' },
  ])).map((e) => [e.name, e.value]));
  assert.deepEqual(env, {
    ECHO_SVC_SERVICE_HOST: '10.130.0.5',
    ECHO_SVC_SERVICE_PORT: '80',
    ECHO_SVC_SERVICE_PORT_HTTP: '80',
    ECHO_SVC_SERVICE_PORT_UDP_ECHO: '9001',
    ECHO_SVC_PORT: 'tcp://10.130.0.5:80',
    ECHO_SVC_PORT_80_TCP: 'tcp://10.130.0.5:80',
    ECHO_SVC_PORT_80_TCP_PROTO: 'tcp',
    ECHO_SVC_PORT_80_TCP_PORT: '80',
    ECHO_SVC_PORT_80_TCP_ADDR: '10.130.0.5',
    ECHO_SVC_PORT_9001_UDP: 'udp://10.130.0.5:9001',
    ECHO_SVC_PORT_9001_UDP_PROTO: 'udp',
    ECHO_SVC_PORT_9001_UDP_PORT: '9001',
    ECHO_SVC_PORT_9001_UDP_ADDR: '10.130.0.5',
  });
});

test('service links: own namespace plus default/kubernetes; headless and other namespaces excluded; enableServiceLinks=false keeps kubernetes', () => {
  const all = [
    svc('default', 'kubernetes', '10.130.0.1', [{ name: 'https', port: 443 }]),
    svc('team-a', 'greeter', '10.130.0.7', [{ port: 80 }]),
    svc('team-a', 'store', 'None', [{ port: 8080 }]),
    svc('default', 'echo', '10.130.0.5', [{ port: 80 }]),
  ];
  const names = serviceLinkEnv('team-a', all).map((e) => e.name);
  assert.ok(names.includes('GREETER_SERVICE_HOST'));
  assert.ok(names.includes('KUBERNETES_SERVICE_HOST'));
  assert.ok(!names.some((n) => n.startsWith('STORE_')));
  assert.ok(!names.some((n) => n.startsWith('ECHO_')));
  const off = serviceLinkEnv('team-a', all, false).map((e) => e.name);
  assert.ok(off.includes('KUBERNETES_SERVICE_HOST') && !off.includes('GREETER_SERVICE_HOST'));
});

test('$(VAR) expansion: known names expand, $$ escapes, unknown and unterminated stay', () => {
  const vars: Record<string, string> = { A: 'x', B: 'y' };
  const look = (n: string) => vars[n];
  assert.equal(expandVars('$(A)-$(B)', look), 'x-y');
  assert.equal(expandVars('$$(A)', look), '$(A)');
  assert.equal(expandVars('$(NOPE)', look), '$(NOPE)');
  assert.equal(expandVars('$(A', look), '$(A');
  assert.equal(expandVars('cost $5', look), 'cost $5');
});

const pod: V1Pod = { metadata: { name: 'echo-abc', namespace: 'default', uid: 'u1', labels: { app: 'echo' } }, spec: { nodeName: 'n1', containers: [] } };
const sources = {
  pod, podIP: '10.132.0.7', hostIP: '10.132.0.1',
  services: [svc('default', 'echo', '10.130.0.5', [{ port: 80 }])],
  configMap: (n: string) => (n === 'cfg' ? { data: { greeting: 'hi', 'bad-key': 'x', LEVEL: 'debug' } } : undefined),
  secret: (n: string) => (n === 'sec' ? { data: { TOKEN: Buffer.from('s3cret').toString('base64') } } : undefined),
};

test('container env: order, valueFrom sources, envFrom with prefix, expansion against earlier values', () => {
  const c: V1Container = {
    name: 'c',
    envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }, { secretRef: { name: 'sec' } }],
    env: [
      { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
      { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'greeting' } } },
      { name: 'PASS', valueFrom: { secretKeyRef: { name: 'sec', key: 'TOKEN' } } },
      { name: 'URL', value: 'http://$(ECHO_SERVICE_HOST):$(ECHO_SERVICE_PORT)/$(POD)' },
      { name: 'MISSING_OK', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k', optional: true } } },
    ],
  };
  const env = containerEnv(c, sources);
  const map = Object.fromEntries(env.map((e) => [e.name, e.value]));
  assert.equal(map.POD, 'echo-abc');
  assert.equal(map.IP, '10.132.0.7');
  assert.equal(map.NODE, 'n1');
  assert.equal(map.APP, 'echo');
  assert.equal(map.GREETING, 'hi');
  assert.equal(map.PASS, 's3cret');
  assert.equal(map.TOKEN, 's3cret');
  assert.equal(map.CFG_greeting, 'hi');
  assert.equal(map.CFG_LEVEL, 'debug');
  assert.ok(!('CFG_bad-key' in map), 'invalid names from envFrom are skipped');
  assert.equal(map.URL, 'http://10.130.0.5:80/echo-abc');
  assert.ok(!('MISSING_OK' in map));
  assert.ok(env.findIndex((e) => e.name === 'ECHO_SERVICE_HOST') < env.findIndex((e) => e.name === 'POD'), 'service links come first');
});

test('container env: a missing required ConfigMap, key or Secret is a CreateContainerConfigError', () => {
  assert.throws(() => containerEnv({ name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] }, sources),
    (e: unknown) => e instanceof ContainerConfigError && /configmap "nope" not found/.test(e.message));
  assert.throws(() => containerEnv({ name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k' } } }] }, sources), /couldn't find key k in ConfigMap default\/cfg/);
  assert.throws(() => containerEnv({ name: 'c', envFrom: [{ secretRef: { name: 'nope' } }] }, sources), /secret "nope" not found/);
});
