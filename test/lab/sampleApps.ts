// The workloads `up` creates through the API, so every lab starts with
// something to reach:
// - default/echo: Deployment (2 × lab/echo) + Service: 80→8080 (http), 9000/TCP, 9001/UDP;
// - team-a/greeter: Deployment of a stock `node` image running a script from
//   a ConfigMap volume, env from a ConfigMap key and a Secret (envFrom);
//   GET /echo calls echo.default through cluster DNS and the ClusterIP;
// - team-a/store: StatefulSet (2 × lab/echo) behind a headless Service, so
//   store-0.store.team-a.svc.cluster.local resolves to a pod IP.
import type { KubeObject } from './kubelet/apiClient';

export const SAMPLE_NAMESPACES = ['default', 'team-a'];

const GREETER_SCRIPT = `
const http = require('node:http');
const pod = process.env.HOSTNAME;
http.createServer((req, res) => {
  if (req.url === '/echo') {
    http.get('http://echo.default.svc.cluster.local/', (r) => {
      let body = '';
      r.on('data', (c) => (body += c));
      r.on('end', () => res.end('greeter ' + pod + ' reached ' + body));
    }).on('error', (e) => { res.statusCode = 502; res.end('greeter ' + pod + ' could not reach echo: ' + e.message + '\\n'); });
    return;
  }
  res.end((process.env.GREETING || 'hello') + ' from ' + pod + ' (token ' + (process.env.API_TOKEN ? 'set' : 'missing') + ')\\n');
}).listen(8080, () => console.log('greeter listening on 8080'));
process.on('SIGTERM', () => process.exit(0));
`;

function echoContainer(): Record<string, unknown> {
  return {
    name: 'echo',
    image: 'lab/echo:1.0',
    ports: [
      { name: 'http', containerPort: 8080 },
      { name: 'tcp-echo', containerPort: 9000 },
      { name: 'udp-echo', containerPort: 9001, protocol: 'UDP' },
    ],
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    ],
    readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 2 },
  };
}

export function sampleObjects(): KubeObject[] {
  const echoLabels = { app: 'echo' };
  const greeterLabels = { app: 'greeter' };
  const storeLabels = { app: 'store' };
  const objects: Array<KubeObject & Record<string, unknown>> = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'echo', namespace: 'default', labels: echoLabels },
      spec: {
        replicas: 2,
        selector: { matchLabels: echoLabels },
        template: { metadata: { labels: echoLabels }, spec: { terminationGracePeriodSeconds: 2, containers: [echoContainer()] } },
      },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo', namespace: 'default', labels: echoLabels },
      spec: {
        selector: echoLabels,
        ports: [
          { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
          { name: 'tcp-echo', port: 9000, targetPort: 9000, protocol: 'TCP' },
          { name: 'udp-echo', port: 9001, targetPort: 9001, protocol: 'UDP' },
        ],
      },
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'greeter-script', namespace: 'team-a' }, data: { 'greeter.js': GREETER_SCRIPT } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'greeter-config', namespace: 'team-a' }, data: { greeting: 'hello' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'greeter-secret', namespace: 'team-a' }, type: 'Opaque', data: { API_TOKEN: Buffer.from('lab-token').toString('base64') } },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'greeter', namespace: 'team-a', labels: greeterLabels },
      spec: {
        replicas: 1,
        selector: { matchLabels: greeterLabels },
        template: {
          metadata: { labels: greeterLabels },
          spec: {
            terminationGracePeriodSeconds: 2,
            containers: [{
              name: 'greeter',
              image: 'node:20-alpine',
              command: ['node', '/opt/greeter/greeter.js'],
              ports: [{ name: 'http', containerPort: 8080 }],
              env: [{ name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'greeter-config', key: 'greeting' } } }],
              envFrom: [{ secretRef: { name: 'greeter-secret' } }],
              readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 2 },
              volumeMounts: [{ name: 'script', mountPath: '/opt/greeter', readOnly: true }],
            }],
            volumes: [{ name: 'script', configMap: { name: 'greeter-script' } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'greeter', namespace: 'team-a', labels: greeterLabels },
      spec: { selector: greeterLabels, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'store', namespace: 'team-a', labels: storeLabels },
      spec: { clusterIP: 'None', selector: storeLabels, ports: [{ name: 'http', port: 8080, targetPort: 8080 }] },
    },
    {
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'store', namespace: 'team-a', labels: storeLabels },
      spec: {
        serviceName: 'store',
        replicas: 2,
        selector: { matchLabels: storeLabels },
        template: { metadata: { labels: storeLabels }, spec: { terminationGracePeriodSeconds: 2, containers: [echoContainer()] } },
      },
    },
  ];
  return objects;
}

/** The collection an object is created in. */
export function collectionPath(o: KubeObject): string {
  const ns = o.metadata?.namespace;
  const kind = (o.kind ?? '').toLowerCase();
  const plural = kind === 'endpoints' ? kind : `${kind}s`;
  const prefix = o.apiVersion === 'v1' ? '/api/v1' : `/apis/${o.apiVersion}`;
  if (o.kind === 'Namespace' || o.kind === 'Node') return `${prefix}/${plural}`;
  return `${prefix}/namespaces/${ns ?? 'default'}/${plural}`;
}
