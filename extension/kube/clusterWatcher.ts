// Watches namespaces and workloads with the user's own credentials (list +
// watch informers from client-node) and reports changes debounced, so a
// rollout touching many objects redraws the tree once.
import * as vscode from 'vscode';
import type { KubeConfig } from '@kubernetes/client-node';
import { sortWorkloads, toWorkloads, type WorkloadKind, type WorkloadObject, type WorkloadSummary } from '../tree/workloads';
import type { ClusterSnapshot } from '../tree/treeModel';

interface Source {
  path: string;
  kind: WorkloadKind | 'Namespace';
  list: () => Promise<{ items: unknown[] }>;
}

export class ClusterWatcher implements vscode.Disposable {
  private readonly informers: Array<{ stop(): Promise<void> | void }> = [];
  private readonly caches = new Map<string, () => unknown[]>();
  private readonly errors = new Map<string, string>();
  private loadedCount = 0;
  private sourcesCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly kc: KubeConfig, private readonly debounceMs = 250) {}

  async start(): Promise<void> {
    const k8s = await import('../../client/kube/k8s');
    const core = this.kc.makeApiClient(k8s.CoreV1Api);
    const apps = this.kc.makeApiClient(k8s.AppsV1Api);
    const sources: Source[] = [
      { path: '/api/v1/namespaces', kind: 'Namespace', list: () => core.listNamespace() },
      { path: '/apis/apps/v1/deployments', kind: 'Deployment', list: () => apps.listDeploymentForAllNamespaces() },
      { path: '/apis/apps/v1/replicasets', kind: 'ReplicaSet', list: () => apps.listReplicaSetForAllNamespaces() },
      { path: '/apis/apps/v1/statefulsets', kind: 'StatefulSet', list: () => apps.listStatefulSetForAllNamespaces() },
    ];
    if (await this.hasRollouts(k8s)) {
      const custom = this.kc.makeApiClient(k8s.CustomObjectsApi);
      sources.push({
        path: '/apis/argoproj.io/v1alpha1/rollouts',
        kind: 'Rollout',
        list: async () => (await custom.listClusterCustomObject({ group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts' })) as { items: unknown[] },
      });
    }
    this.sourcesCount = sources.length;
    for (const s of sources) {
      if (this.disposed) return;
      const informer = k8s.makeInformer(this.kc, s.path, s.list as never);
      const touch = () => { this.errors.delete(s.path); this.schedule(); };
      informer.on('add', touch);
      informer.on('update', touch);
      informer.on('delete', touch);
      let loaded = false;
      informer.on('connect', () => { if (!loaded) { loaded = true; this.loadedCount++; } touch(); });
      informer.on('error', (err: unknown) => {
        this.errors.set(s.path, `${s.kind === 'Namespace' ? 'namespaces' : `${s.kind}s`}: ${(err as Error)?.message ?? String(err)}`);
        this.schedule();
        // client-node does not restart after an error; retry with a pause.
        setTimeout(() => { if (!this.disposed) void informer.start().catch(() => undefined); }, 5000);
      });
      this.caches.set(s.kind, () => [...informer.list()]);
      this.informers.push(informer);
      void informer.start().catch((e: unknown) => { this.errors.set(s.path, String((e as Error)?.message ?? e)); this.schedule(); });
    }
  }

  snapshot(): ClusterSnapshot {
    const namespaces = (this.caches.get('Namespace')?.() ?? []) as Array<{ metadata?: { name?: string } }>;
    const workloads: WorkloadSummary[] = [];
    for (const kind of ['Deployment', 'ReplicaSet', 'StatefulSet', 'Rollout'] as const) {
      workloads.push(...toWorkloads(kind, (this.caches.get(kind)?.() ?? []) as WorkloadObject[]));
    }
    const error = [...this.errors.values()][0];
    return {
      namespaces: namespaces.map((n) => n.metadata?.name ?? '').filter((n) => n !== '').sort(),
      workloads: sortWorkloads(workloads),
      loaded: this.sourcesCount > 0 && this.loadedCount >= this.sourcesCount,
      ...(error ? { error: `Could not watch ${error}` } : {}),
    };
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const i of this.informers) void Promise.resolve(i.stop()).catch(() => undefined);
    this.changed.dispose();
  }

  private schedule(): void {
    if (this.timer || this.disposed) return;
    this.timer = setTimeout(() => { this.timer = undefined; this.changed.fire(); }, this.debounceMs);
  }

  private async hasRollouts(k8s: typeof import('../../client/kube/k8s')): Promise<boolean> {
    try {
      const apis = await this.kc.makeApiClient(k8s.ApisApi).getAPIVersions();
      return apis.groups.some((g) => g.name === 'argoproj.io' && g.versions.some((v) => v.version === 'v1alpha1'));
    } catch {
      return false;
    }
  }
}
