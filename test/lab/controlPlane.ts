// The lab's long-running process, inside the node's network namespace: the
// API server emulation (on the address facing the workstation), the kubelet,
// kube-proxy and the cluster DNS. `up` starts it detached and talks to it
// over a Unix socket in the state directory (reachable from any network
// namespace): GET /status, POST /shutdown, and POST /restart-apiserver?downMs=N
// (a fault for the reliability suites: the API server restarts as a new
// process over the same etcd, answered once it listens again; the kubelet,
// kube-proxy and DNS informers recover by themselves). SIGTERM also shuts it
// down, and shutting down stops every pod and removes the pod namespaces.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { createRequire } from 'node:module';
import type { V1Endpoints, V1Pod, V1Service } from '@kubernetes/client-node';
import type { ApiServerHandle, ApiServerOptions, ExecProcess, ExecRequest, PodRuntime } from './contracts';
import { startClusterDns } from './dns/clusterDns';
import type { LabDnsServer } from './dns/labDnsServer';
import { ApiClient, credentialsFromKubeconfig, isConflict, isNotFound, type KubeObject } from './kubelet/apiClient';
import { Informer } from './kubelet/informer';
import { LabKubelet } from './kubelet/kubelet';
import type { LabPlan } from './labPlan';
import { KubeProxy } from './proxy/kubeProxy';
import { collectionPath, sampleObjects } from './sampleApps';
import { labFiles } from './labFiles';

export type ControlPlanePhase = 'starting' | 'ready' | 'failed' | 'stopping';

export interface ServiceSummary {
  namespace: string;
  name: string;
  clusterIP: string;
  ports: Array<{ name?: string; port: number; targetPort?: number | string; protocol: string }>;
}

export interface PodSummary { namespace: string; name: string; ip?: string; netns: string; ready: boolean }

export interface ControlPlaneStatus {
  phase: ControlPlanePhase;
  pid: number;
  step: string;
  error?: string;
  namespaces: string[];
  services: ServiceSummary[];
  pods: PodSummary[];
}

type StartApiServer = (opts: ApiServerOptions) => Promise<ApiServerHandle>;

function loadApiServer(): StartApiServer {
  // Tests of the node side alone may substitute another implementation of the same contract.
  const override = process.env.TPV_LAB_APISERVER;
  if (override) {
    const load = createRequire(override);
    if (override.endsWith('.ts')) {
      const tsxApi = 'tsx/cjs/api'; // resolved at run time: never bundled
      (load(tsxApi) as { register(): void }).register();
    }
    return (load(override) as { startApiServer: StartApiServer }).startApiServer;
  }
  try {
    // A plain require so the lab still builds while the emulation is being written (esbuild keeps it as a warning).
    return (require('./apiserver/index') as { startApiServer: StartApiServer }).startApiServer;
  } catch (err) {
    throw new Error(`the lab's API server emulation (test/lab/apiserver/index.ts) could not be loaded: ${(err as Error).message}`);
  }
}

function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} ${msg}\n`);
}

async function ensure(api: ApiClient, o: KubeObject): Promise<void> {
  try {
    await api.create(collectionPath(o), o);
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

/** The Service + Endpoints pair of a selector-less service (kubernetes, kube-dns). */
async function ensureStaticService(api: ApiClient, namespace: string, name: string, clusterIP: string, ports: Array<{ name: string; port: number; targetPort: number; protocol: string }>, endpointIp: string, labels: Record<string, string> = {}): Promise<void> {
  const path = `/api/v1/namespaces/${namespace}/services/${name}`;
  let svc: V1Service | undefined;
  try { svc = await api.get<V1Service>(path); } catch (err) { if (!isNotFound(err)) throw err; }
  if (!svc) {
    await ensure(api, { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, labels }, spec: { clusterIP, type: 'ClusterIP', ports } } as KubeObject);
  }
  const endpoints = {
    apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace, labels },
    subsets: [{ addresses: [{ ip: endpointIp }], ports: ports.map((p) => ({ name: p.name, port: p.targetPort, protocol: p.protocol })) }],
  };
  const epPath = `/api/v1/namespaces/${namespace}/endpoints/${name}`;
  try {
    await api.get(epPath);
    await api.mergePatch(epPath, { subsets: endpoints.subsets });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await ensure(api, endpoints as KubeObject);
  }
}

export async function runControlPlane(plan: LabPlan, labScript: string): Promise<void> {
  const files = labFiles(plan.stateDir);
  const status: ControlPlaneStatus = { phase: 'starting', pid: process.pid, step: 'starting', namespaces: [], services: [], pods: [] };
  const step = (s: string) => { status.step = s; log(s); };
  writeFileSync(files.controlPlanePid, String(process.pid));

  let kubelet: LabKubelet | undefined;
  let server: ApiServerHandle | undefined;
  let dns: LabDnsServer | undefined;
  let proxy: KubeProxy | undefined;
  let api: ApiClient | undefined;
  const informers: Array<{ stop(): void }> = [];

  // The API server needs the node before the node has an API client: forward to the kubelet once it exists.
  const runtime: PodRuntime = {
    exec: (req: ExecRequest): Promise<ExecProcess> => (kubelet ? kubelet.exec(req) : Promise.reject(new Error('the lab kubelet is not running yet'))),
    portForward: (ns, pod, port) => (kubelet ? kubelet.portForward(ns, pod, port) : Promise.reject(new Error('the lab kubelet is not running yet'))),
  };

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (): Promise<void> => (shuttingDown ??= (async () => {
    status.phase = 'stopping';
    log('shutting down');
    try { await kubelet?.stop(); } catch (err) { log(`kubelet stop: ${(err as Error).message}`); }
    for (const i of informers) i.stop();
    await proxy?.stop().catch(() => undefined);
    await dns?.close().catch(() => undefined);
    api?.close();
    await server?.close().catch(() => undefined);
    control.close();
    rmSync(files.controlSocket, { force: true });
    log('stopped');
  })());

  // Control socket first, so `up` can report progress and failures.
  rmSync(files.controlSocket, { force: true });
  const control = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/status') {
      if (kubelet) status.pods = kubelet.runningPods();
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(status));
    } else if (req.method === 'POST' && req.url === '/shutdown') {
      void shutdown().then(() => { res.writeHead(200).end('stopped\n'); setTimeout(() => process.exit(0), 50); });
    } else if (req.method === 'POST' && new URL(req.url ?? '/', 'http://control').pathname === '/restart-apiserver') {
      const downMs = Number(new URL(req.url ?? '/', 'http://control').searchParams.get('downMs') ?? '0');
      const fail = (code: number, message: string) => res.writeHead(code, { 'Content-Type': 'text/plain' }).end(`${message}\n`);
      if (!Number.isInteger(downMs) || downMs < 0 || downMs > 600_000) fail(400, `downMs must be a whole number of milliseconds from 0 to 600000, not ${downMs}`);
      else if (!server || status.phase !== 'ready') fail(409, `the lab is not ready (phase ${status.phase}): restart the API server once \`up\` has finished`);
      else if (!server.restart) fail(501, 'this API server implementation cannot restart');
      else {
        log(`restarting the API server (down for ${downMs} ms)`);
        server.restart({ downMs }).then(
          (r) => { log(`the API server is back after ${r.upAt - r.downAt} ms (${r.connectionsCut} connections cut)`); res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(r)); },
          (err: Error) => { log(`the API server restart failed: ${err.message}`); fail(500, `the API server restart failed: ${err.message}`); },
        );
      }
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => control.listen(files.controlSocket, r));
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void shutdown().then(() => process.exit(0)));

  try {
    step('starting the API server');
    const startApiServer = loadApiServer();
    mkdirSync(files.pkiDir, { recursive: true });
    server = await startApiServer({
      host: plan.apiServer.host, port: plan.apiServer.port, serviceCidr: plan.serviceCidr,
      nodes: [{ name: plan.nodeName, podCidr: plan.podCidr, internalIp: plan.bridge.address }],
      pkiDir: files.pkiDir, podRuntime: runtime,
    });
    server.writeKubeconfig(files.kubeconfig, plan.apiServer.url);
    api = new ApiClient(credentialsFromKubeconfig(files.kubeconfig));

    step('creating the cluster services (kubernetes, kube-dns)');
    await ensure(api, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } });
    await ensureStaticService(api, 'default', 'kubernetes', plan.kubernetesServiceIp, [{ name: 'https', port: 443, targetPort: plan.apiServer.port, protocol: 'TCP' }], plan.apiServer.host, { component: 'apiserver', provider: 'kubernetes' });
    await ensureStaticService(api, 'kube-system', 'kube-dns', plan.kubeDnsIp, [
      { name: 'dns', port: 53, targetPort: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, targetPort: 53, protocol: 'TCP' },
    ], plan.bridge.address, { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' });

    step('starting kube-proxy, cluster DNS and the kubelet');
    const services = new Informer<V1Service>(api, { path: '/api/v1/services', log });
    const endpoints = new Informer<V1Endpoints>(api, { path: '/api/v1/endpoints', log });
    const pods = new Informer<V1Pod>(api, { path: '/api/v1/pods', log });
    informers.push(services, endpoints, pods);
    await Promise.all([services.start(), endpoints.start(), pods.start()]);
    proxy = new KubeProxy({ serviceCidr: plan.serviceCidr, services, endpoints, log });
    await proxy.start();
    dns = await startClusterDns({ address: plan.bridge.address, port: 53, domain: plan.clusterDomain, services, endpoints, pods });
    kubelet = new LabKubelet({ api, plan, services, echoServer: [process.execPath, labScript, 'image', 'echo'], log });
    await kubelet.start();

    step('creating the sample apps');
    for (const o of sampleObjects()) await ensure(api, o);

    step('waiting for every pod to be ready');
    const deadline = Date.now() + 120_000;
    for (;;) {
      const all = pods.list().filter((p) => !p.metadata?.deletionTimestamp);
      const notReady = all.filter((p) => !(p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'));
      const expected = sampleReplicaCount();
      if (all.length >= expected && notReady.length === 0) break;
      if (Date.now() > deadline) {
        throw new Error(`pods not ready after 120 s: ${notReady.map((p) => `${p.metadata?.namespace}/${p.metadata?.name} (${describeWaiting(p)})`).join(', ') || `${all.length} of ${expected} pods exist`}`);
      }
      status.step = `waiting for every pod to be ready (${all.length - notReady.length}/${Math.max(all.length, expected)})`;
      await new Promise((r) => setTimeout(r, 100));
    }
    const svcList = services.list();
    status.services = svcList.map((s) => ({
      namespace: s.metadata!.namespace!, name: s.metadata!.name!, clusterIP: s.spec?.clusterIP ?? '',
      ports: (s.spec?.ports ?? []).map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, ...(p.targetPort !== undefined ? { targetPort: p.targetPort as number | string } : {}), protocol: p.protocol ?? 'TCP' })),
    })).sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
    const nsList = await api.get<{ items: KubeObject[] }>('/api/v1/namespaces');
    status.namespaces = nsList.items.map((n) => n.metadata!.name!).sort();
    status.phase = 'ready';
    step('ready');
  } catch (err) {
    status.phase = 'failed';
    status.error = (err as Error).message;
    log(`failed: ${(err as Error).stack ?? err}`);
  }
}

function sampleReplicaCount(): number {
  let n = 0;
  for (const o of sampleObjects()) {
    const spec = (o as { spec?: { replicas?: number } }).spec;
    if (o.kind === 'Deployment' || o.kind === 'StatefulSet') n += spec?.replicas ?? 1;
  }
  return n;
}

function describeWaiting(p: V1Pod): string {
  const cs = p.status?.containerStatuses?.[0];
  const w = cs?.state?.waiting;
  if (w) return `${w.reason}${w.message ? `: ${w.message}` : ''}`;
  return p.status?.phase ?? 'no status';
}

/** Entry of `lab.js control-plane <state dir>`. */
export async function controlPlaneMain(stateDir: string, labScript: string): Promise<void> {
  const files = labFiles(stateDir);
  if (!existsSync(files.manifest)) throw new Error(`${files.manifest} is missing: start the lab with \`npm run lab -- up\``);
  const manifest = JSON.parse(readFileSync(files.manifest, 'utf8')) as { plan: LabPlan };
  await runControlPlane(manifest.plan, labScript);
}
