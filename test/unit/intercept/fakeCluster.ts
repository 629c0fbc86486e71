// An in-memory API server for the intercept manager's unit tests: objects by
// path, the JSON patches the manager writes, and pods that follow their
// workload's template (a finished rollout) unless the test holds them, which
// is how a slow rollout is played. Agent tunnels are memory pipes to an
// in-process agent session that accepts the namespace's secret.
import type { Duplex } from 'node:stream';
import { createHash } from 'node:crypto';
import type { V1Pod, V1PodTemplateSpec } from '@kubernetes/client-node';
import { KubeApiError, type KubeJson } from '../../../daemon/cluster/kubeJson';
import { TunnelSession } from '../../../daemon/tunnel/tunnelSession';
import { memoryPipe } from '../tunnel/memoryPipe';

type Obj = Record<string, unknown> & { metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> } };

export interface Request { method: string; path: string; body?: unknown }

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const notFound = (method: string, path: string) => new KubeApiError(404, '{"kind":"Status","code":404}', `${method} ${path}: HTTP 404: not found`);

export class FakeCluster implements KubeJson {
  readonly objects = new Map<string, Obj>();
  readonly requests: Request[] = [];
  /** When set, pods stay as they are (a rollout in progress); else they follow the template. */
  holdPods = false;
  /** Paths whose PATCH fails (e.g. the deployment: restoring its template fails). */
  readonly failPatch = new Set<string>();
  private pods: V1Pod[] = [];
  private readonly agents: TunnelSession[] = [];

  constructor(readonly namespace = 'default') {}

  deploymentPath(name: string): string { return `/apis/apps/v1/namespaces/${this.namespace}/deployments/${name}`; }
  servicePath(name: string): string { return `/api/v1/namespaces/${this.namespace}/services/${name}`; }

  /** A Deployment `name` with one container serving `http` (8080), and a Service in front of it (`targetPort`). */
  addWorkload(name: string, targetPort: string | number = 'http'): void {
    const labels = { app: name };
    this.objects.set(this.deploymentPath(name), {
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: { name, namespace: this.namespace },
      spec: {
        replicas: 1, selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name, image: `lab/${name}`, ports: [{ name: 'http', containerPort: 8080 }] }] } },
      },
    });
    this.objects.set(this.servicePath(name), {
      apiVersion: 'v1', kind: 'Service',
      metadata: { name, namespace: this.namespace },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort }] },
    });
  }

  template(name: string): V1PodTemplateSpec {
    return (this.objects.get(this.deploymentPath(name))!.spec as { template: V1PodTemplateSpec }).template;
  }

  /** Pods as the template makes them now; names change with the template, as a rollout's do. */
  private follow(): void {
    if (this.holdPods) return;
    const pods: V1Pod[] = [];
    for (const [path, o] of this.objects) {
      if (!path.includes('/deployments/')) continue;
      const t = (o.spec as { template: V1PodTemplateSpec }).template;
      const hash = createHash('sha256').update(JSON.stringify(t)).digest('hex').slice(0, 8);
      pods.push({
        metadata: { name: `${o.metadata!.name}-${hash}`, namespace: this.namespace, labels: { ...t.metadata?.labels }, annotations: { ...t.metadata?.annotations } },
        spec: clone(t.spec!),
        status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
      });
    }
    this.pods = pods;
  }

  podNames(): string[] { this.follow(); return this.pods.map((p) => p.metadata!.name!); }

  get<T>(path: string): Promise<T> { return this.request<T>('GET', path); }

  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    this.requests.push({ method, path, ...(body === undefined ? {} : { body: clone(body) }) });
    await Promise.resolve();
    const [bare, query] = path.split('?') as [string, string | undefined];
    if (method === 'POST' && bare.endsWith('/selfsubjectaccessreviews')) return { status: { allowed: true } } as T;
    if (method === 'GET' && bare.endsWith('/pods')) {
      this.follow();
      const app = decodeURIComponent(query ?? '').match(/app=([\w-]+)/)?.[1];
      return { items: clone(this.pods.filter((p) => !app || p.metadata?.labels?.app === app)) } as T;
    }
    switch (method) {
      case 'GET': {
        const o = this.objects.get(bare);
        if (o) return clone(o) as T;
        // A collection: the objects directly under it.
        const items = [...this.objects].filter(([p]) => p.startsWith(`${bare}/`) && !p.slice(bare.length + 1).includes('/')).map(([, v]) => clone(v));
        if (items.length || /\/(deployments|statefulsets|replicasets|services|configmaps|secrets)$/.test(bare)) return { items } as T;
        throw notFound(method, path);
      }
      case 'POST': {
        const o = body as Obj;
        const at = `${bare}/${o.metadata!.name}`;
        this.objects.set(at, clone(o));
        return clone(o) as T;
      }
      case 'PUT':
        this.objects.set(bare, clone(body as Obj));
        return clone(body) as T;
      case 'PATCH': {
        if (this.failPatch.has(bare)) throw new KubeApiError(500, '{"kind":"Status","message":"etcd is on fire"}', `PATCH ${path}: HTTP 500: etcd is on fire`);
        const o = this.objects.get(bare);
        if (!o) throw notFound(method, path);
        for (const op of body as Array<{ op: string; path: string; value?: unknown }>) applyOp(o, op);
        this.follow();
        return clone(o) as T;
      }
      case 'DELETE':
        if (!this.objects.delete(bare)) throw notFound(method, path);
        return {} as T;
    }
  }

  /** The agent end of a tunnel: accepts the namespace's session secret, as the agent does. */
  agentTransport = async (): Promise<Duplex> => {
    const secret = this.objects.get(`/api/v1/namespaces/${this.namespace}/secrets/tpv-agent`) as { data?: { secret?: string } } | undefined;
    const expected = Buffer.from(secret?.data?.secret ?? '', 'base64').toString('utf8');
    const [daemonEnd, agentEnd] = memoryPipe();
    void TunnelSession.accept(agentEnd, {
      expectedSecret: expected, hello: { software: 'fake-agent', softwareVersion: 'test', mode: 'agent' }, keepaliveIntervalMs: 0,
    }).then((s) => { this.agents.push(s); }, () => undefined);
    return daemonEnd;
  };

  close(): void {
    for (const a of this.agents) a.close('test over');
  }
}

/** The JSON patch operations the manager writes (replace/add/remove on object paths). */
function applyOp(target: Obj, op: { op: string; path: string; value?: unknown }): void {
  const parts = op.path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = parts.pop()!;
  let at = target as Record<string, unknown>;
  for (const p of parts) at = at[p] as Record<string, unknown>;
  if (op.op === 'remove') delete at[last];
  else at[last] = clone(op.value);
}
