// The lab kubelet: an HTTP client of the API server that runs the pods bound
// to its node. It lists and watches `pods?fieldSelector=spec.nodeName=<node>`,
// gives each pod a network namespace on the node's bridge, runs its
// containers as processes, and PATCHes `pods/<name>/status` as they start,
// become ready, crash and restart. When a pod gets a deletionTimestamp it
// stops the containers within the (short) grace period, removes the
// namespace and finally deletes the pod object, as a kubelet does.
//
// It is also the node side of `kubectl exec` and `kubectl port-forward`
// (PodRuntime, see ../contracts.ts).
import { createHash } from 'node:crypto';
import { mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { V1ConfigMap, V1Container, V1Pod, V1Secret, V1Service } from '@kubernetes/client-node';
import type { ExecProcess, ExecRequest, PodRuntime } from '../contracts';
import type { LabPlan } from '../labPlan';
import { createPodNetwork, deletePodNetwork, podResolvConf } from '../network/podNetwork';
import { PodAddresses } from '../network/podAddresses';
import { run } from '../network/run';
import { ApiError, isNotFound, type ApiClient } from './apiClient';
import { containerEnv } from './containerEnv';
import { ContainerRunner } from './containerRunner';
import { Informer } from './informer';
import { podStatus, type PodCondition } from './podStatus';
import { containerMounts, writePodVolumes } from './volumes';

export interface KubeletOptions {
  api: ApiClient;
  plan: LabPlan;
  services: Informer<V1Service>;
  /** argv prefix that runs the `lab/echo` image. */
  echoServer: string[];
  log(msg: string): void;
}

/** The lab honours grace periods up to this long, so deletions and rollouts stay quick. */
export const MAX_GRACE_SECONDS = 5;

export function podShortId(uid: string): string {
  return createHash('sha1').update(uid).digest('hex').slice(0, 8);
}

function isoNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

class PodWorker {
  readonly short: string;
  readonly netns: string;
  readonly hostVeth: string;
  ip: string | undefined;
  containers: ContainerRunner[] = [];
  private terminating: Promise<void> | undefined;
  private readonly startTime = isoNow();
  private conditions: PodCondition[] | undefined;
  private patchInFlight = false;
  private patchAgain = false;
  private lastSent = '';
  private patchTimer: NodeJS.Timeout | undefined;
  private volumes: Map<string, string> | undefined;
  readonly dir: string;

  constructor(public pod: V1Pod, private readonly k: LabKubelet) {
    this.short = podShortId(pod.metadata!.uid!);
    this.netns = `${k.plan.netns.podPrefix}${this.short}`;
    this.hostVeth = `vp${this.short}`;
    this.dir = join(k.plan.stateDir, 'pods', this.short);
  }

  get key(): string {
    return `${this.pod.metadata!.namespace}/${this.pod.metadata!.name}`;
  }

  get isTerminating(): boolean {
    return this.terminating !== undefined;
  }

  private get apiPath(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.pod.metadata!.namespace!)}/pods/${encodeURIComponent(this.pod.metadata!.name!)}`;
  }

  async start(): Promise<void> {
    const plan = this.k.plan;
    const ns = this.pod.metadata!.namespace!;
    this.ip = this.k.addresses.allocate();
    mkdirSync(join(this.dir, 'volumes'), { recursive: true });
    mkdirSync(join(plan.stateDir, 'logs', 'pods'), { recursive: true });
    const hostname = this.pod.spec?.hostname ?? this.pod.metadata!.name!;
    await createPodNetwork({
      netns: this.netns, nodeNetns: plan.netns.node, bridge: plan.bridge.device, gateway: plan.bridge.address,
      hostVeth: this.hostVeth, ip: this.ip, hostname,
      resolvConf: podResolvConf(plan.kubeDnsIp, ns, plan.clusterDomain),
    });
    if (this.terminating) return;
    if ((this.pod.spec?.initContainers ?? []).length > 0) this.k.log(`pod ${this.key}: init containers are not run by the lab kubelet`);
    this.containers = (this.pod.spec?.containers ?? []).map((c) => new ContainerRunner(c, {
      netns: this.netns,
      hostname,
      podIP: this.ip!,
      restartPolicy: this.pod.spec?.restartPolicy ?? 'Always',
      logFile: join(plan.stateDir, 'logs', 'pods', `${ns}_${this.pod.metadata!.name}_${c.name}.log`),
      overlayBase: join(this.dir, 'overlay'),
      echoServer: this.k.echoServer,
      prepare: (container) => this.prepare(container),
      hostDirsCreated: (dirs) => this.k.hostDirsCreated(dirs),
      onChange: () => this.schedulePatch(),
      log: (m) => this.k.log(`pod ${this.key}: ${m}`),
    }));
    this.schedulePatch();
    for (const c of this.containers) c.start();
  }

  /** Fetches what the container references, writes the pod's volumes once, and computes env and mounts. */
  private async prepare(container: V1Container): Promise<{ env: ReturnType<typeof containerEnv>; mounts: ReturnType<typeof containerMounts> }> {
    const ns = this.pod.metadata!.namespace!;
    const cmNames = new Set<string>();
    const secretNames = new Set<string>();
    for (const c of [container]) {
      for (const e of c.env ?? []) {
        if (e.valueFrom?.configMapKeyRef?.name) cmNames.add(e.valueFrom.configMapKeyRef.name);
        if (e.valueFrom?.secretKeyRef?.name) secretNames.add(e.valueFrom.secretKeyRef.name);
      }
      for (const f of c.envFrom ?? []) {
        if (f.configMapRef?.name) cmNames.add(f.configMapRef.name);
        if (f.secretRef?.name) secretNames.add(f.secretRef.name);
      }
    }
    if (!this.volumes) {
      for (const v of this.pod.spec?.volumes ?? []) {
        if (v.configMap?.name) cmNames.add(v.configMap.name);
        if (v.secret?.secretName) secretNames.add(v.secret.secretName);
      }
    }
    const configMaps = new Map<string, V1ConfigMap>();
    const secrets = new Map<string, V1Secret>();
    await Promise.all([
      ...[...cmNames].map(async (n) => { const o = await this.k.getOptional<V1ConfigMap>(`/api/v1/namespaces/${ns}/configmaps/${n}`); if (o) configMaps.set(n, o); }),
      ...[...secretNames].map(async (n) => { const o = await this.k.getOptional<V1Secret>(`/api/v1/namespaces/${ns}/secrets/${n}`); if (o) secrets.set(n, o); }),
    ]);
    const sources = { configMap: (n: string) => configMaps.get(n), secret: (n: string) => secrets.get(n) };
    this.volumes ??= writePodVolumes(this.pod, join(this.dir, 'volumes'), sources);
    const services = this.k.services.list().filter((s) => s.metadata?.namespace === ns || (s.metadata?.namespace === 'default' && s.metadata?.name === 'kubernetes'));
    const env = containerEnv(container, { pod: this.pod, podIP: this.ip!, hostIP: this.k.plan.bridge.address, services, ...sources });
    return { env, mounts: containerMounts(container, this.volumes, this.pod) };
  }

  schedulePatch(): void {
    if (this.terminating) return;
    if (this.patchTimer) return;
    this.patchTimer = setTimeout(() => { this.patchTimer = undefined; void this.patch(); }, 20);
  }

  private async patch(): Promise<void> {
    if (this.patchInFlight) { this.patchAgain = true; return; }
    this.patchInFlight = true;
    try {
      const status = podStatus({
        podIP: this.ip, hostIP: this.k.plan.bridge.address, startTime: this.startTime,
        restartPolicy: this.pod.spec?.restartPolicy ?? 'Always',
        containers: this.containers.map((c) => c.report()),
        previous: this.conditions, now: isoNow(),
      });
      this.conditions = status.conditions;
      const body = JSON.stringify(status);
      if (body !== this.lastSent && !this.terminating) {
        await this.k.api.mergePatch(`${this.apiPath}/status`, { status });
        this.lastSent = body;
      }
    } catch (err) {
      if (!isNotFound(err)) {
        this.k.log(`pod ${this.key}: status update failed: ${(err as Error).message}`);
        setTimeout(() => this.schedulePatch(), 1000);
      }
    } finally {
      this.patchInFlight = false;
      if (this.patchAgain) { this.patchAgain = false; this.schedulePatch(); }
    }
  }

  /** Stops the containers, removes the pod's network, then (if asked) deletes the pod object. */
  terminate(deleteFromApi: boolean): Promise<void> {
    this.terminating ??= (async () => {
      if (this.patchTimer) clearTimeout(this.patchTimer);
      const requested = this.pod.metadata?.deletionGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30;
      const graceMs = Math.min(requested, MAX_GRACE_SECONDS) * 1000;
      await Promise.all(this.containers.map((c) => c.stop(graceMs)));
      await killNetnsProcesses(this.netns);
      await deletePodNetwork(this.netns, this.k.plan.netns.node, this.hostVeth);
      if (this.ip) this.k.addresses.release(this.ip);
      rmSync(this.dir, { recursive: true, force: true });
      if (deleteFromApi) {
        await this.k.api.delete(this.apiPath, { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0, preconditions: { uid: this.pod.metadata!.uid } })
          .catch((err) => { if (!(err instanceof ApiError && (err.status === 404 || err.status === 409))) this.k.log(`pod ${this.key}: final delete failed: ${(err as Error).message}`); });
      }
    })();
    return this.terminating;
  }
}

async function killNetnsProcesses(netns: string): Promise<void> {
  const out = await run('ip', ['netns', 'pids', netns]).catch(() => '');
  for (const pid of out.split(/\s+/).filter(Boolean)) {
    try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
  }
}

export class LabKubelet implements PodRuntime {
  readonly plan: LabPlan;
  readonly api: ApiClient;
  readonly services: Informer<V1Service>;
  readonly echoServer: string[];
  readonly addresses: PodAddresses;
  readonly log: (msg: string) => void;
  private readonly workers = new Map<string, PodWorker>();
  private readonly pods: Informer<V1Pod>;
  private readonly hostDirs = new Set<string>();
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = false;
  private nodeStatusFailing = false;

  constructor(opts: KubeletOptions) {
    this.plan = opts.plan;
    this.api = opts.api;
    this.services = opts.services;
    this.echoServer = opts.echoServer;
    this.log = opts.log;
    this.addresses = new PodAddresses(opts.plan.podCidr);
    this.pods = new Informer<V1Pod>(opts.api, { path: `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${opts.plan.nodeName}`)}`, log: opts.log, resyncMs: 30_000 });
  }

  async start(): Promise<void> {
    this.pods.on((type, pod) => this.onPod(type, pod));
    await this.pods.start();
    await this.reportNode();
    this.heartbeat = setInterval(() => void this.reportNode(), 20_000);
  }

  async getOptional<T>(path: string): Promise<T | undefined> {
    try {
      return await this.api.get<T>(path);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private onPod(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: V1Pod): void {
    if (this.stopped) return;
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const worker = this.workers.get(uid);
    if (type === 'DELETED' || pod.spec?.nodeName !== this.plan.nodeName) {
      if (worker) void this.finish(worker, false);
      return;
    }
    if (worker) {
      worker.pod = pod;
      if (pod.metadata?.deletionTimestamp) void this.finish(worker, true);
      return;
    }
    if (pod.metadata?.deletionTimestamp) {
      // Never started here: nothing to stop, just let the object go.
      void this.api.delete(`/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, { gracePeriodSeconds: 0, preconditions: { uid } }).catch(() => undefined);
      return;
    }
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
    const w = new PodWorker(pod, this);
    this.workers.set(uid, w);
    this.log(`pod ${w.key}: starting in ${w.netns}`);
    w.start().catch((err) => this.log(`pod ${w.key}: could not start: ${(err as Error).message}`));
  }

  private async finish(w: PodWorker, deleteFromApi: boolean): Promise<void> {
    if (w.isTerminating) return;
    this.log(`pod ${w.key}: stopping`);
    await w.terminate(deleteFromApi);
    this.workers.delete(w.pod.metadata!.uid!);
    this.removeUnusedHostDirs();
    this.log(`pod ${w.key}: removed`);
  }

  hostDirsCreated(dirs: string[]): void {
    for (const d of dirs) this.hostDirs.add(d);
    this.saveHostDirs();
  }

  private saveHostDirs(): void {
    writeFileSync(join(this.plan.stateDir, 'host-dirs.json'), JSON.stringify([...this.hostDirs], null, 1));
  }

  /** Removes mount-target directories the lab created on the host once no running container uses them. */
  private removeUnusedHostDirs(all = false): void {
    const inUse = new Set<string>();
    if (!all) {
      for (const w of this.workers.values()) for (const c of w.pod.spec?.containers ?? []) for (const m of c.volumeMounts ?? []) inUse.add(m.mountPath);
    }
    const deepestFirst = [...this.hostDirs].sort((a, b) => b.length - a.length);
    for (const d of deepestFirst) {
      if ([...inUse].some((t) => t === d || t.startsWith(`${d}/`))) continue;
      try { rmdirSync(d); } catch { /* not empty or gone: leave it */ }
      this.hostDirs.delete(d);
    }
    this.saveHostDirs();
  }

  private async reportNode(): Promise<void> {
    const now = isoNow();
    const status = {
      conditions: [
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'lab kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now },
        ...['MemoryPressure', 'DiskPressure', 'PIDPressure'].map((type) => ({ type, status: 'False', reason: `KubeletHas${type === 'PIDPressure' ? 'SufficientPID' : type === 'MemoryPressure' ? 'SufficientMemory' : 'NoDiskPressure'}`, lastHeartbeatTime: now, lastTransitionTime: now })),
      ],
      addresses: [{ type: 'InternalIP', address: this.plan.bridge.address }, { type: 'Hostname', address: this.plan.nodeName }],
      nodeInfo: {
        kubeletVersion: 'v1.32.0-lab', kubeProxyVersion: 'v1.32.0-lab', operatingSystem: 'linux', architecture: process.arch === 'x64' ? 'amd64' : process.arch,
        containerRuntimeVersion: 'lab://1.0', osImage: 'Telepresence lab', kernelVersion: '', machineID: '', systemUUID: '', bootID: '',
      },
      capacity: { cpu: '2', memory: '4Gi', pods: '110' },
      allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
    };
    await this.api.mergePatch(`/api/v1/nodes/${this.plan.nodeName}/status`, { status }).then(
      () => { this.nodeStatusFailing = false; },
      (err) => {
        if (!this.nodeStatusFailing) this.log(`node status update failed (logged once until it works again): ${(err as Error).message}`);
        this.nodeStatusFailing = true;
      },
    );
  }

  /** Pods this kubelet runs, for status output. */
  runningPods(): Array<{ namespace: string; name: string; netns: string; ip?: string; ready: boolean }> {
    return [...this.workers.values()].filter((w) => !w.isTerminating).map((w) => ({
      namespace: w.pod.metadata!.namespace!, name: w.pod.metadata!.name!, netns: w.netns, ...(w.ip ? { ip: w.ip } : {}),
      ready: w.containers.length > 0 && w.containers.every((c) => c.report().ready),
    }));
  }

  private worker(namespace: string, pod: string): PodWorker {
    for (const w of this.workers.values()) {
      if (!w.isTerminating && w.pod.metadata?.namespace === namespace && w.pod.metadata?.name === pod) return w;
    }
    throw new Error(`pod ${namespace}/${pod} is not running on node ${this.plan.nodeName}`);
  }

  async exec(req: ExecRequest): Promise<ExecProcess> {
    const w = this.worker(req.namespace, req.pod);
    const runner = req.container ? w.containers.find((c) => c.spec.name === req.container) : w.containers[0];
    if (!runner) throw new Error(`container ${req.container} is not valid for pod ${req.pod}`);
    return runner.exec(req.command, { stdin: req.stdin, tty: req.tty });
  }

  portForward(namespace: string, pod: string, port: number): Promise<Duplex> {
    const w = this.worker(namespace, pod);
    if (!w.ip) return Promise.reject(new Error(`pod ${namespace}/${pod} has no IP yet`));
    return new Promise((resolve, reject) => {
      // Go's net.Dial (the real kubelet's) sets TCP_NODELAY; without it a multiplexed stream waits 40 ms per reply on delayed ACKs.
      const sock = net.connect({ host: w.ip!, port, noDelay: true });
      sock.once('connect', () => { sock.off('error', reject); resolve(sock); });
      sock.once('error', (err) => reject(new Error(`failed to connect to ${w.ip}:${port} inside pod ${namespace}/${pod}: ${err.message}`)));
    });
  }

  /** Stops every pod (control plane shutdown); pod objects stay in the API. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pods.stop();
    if (this.heartbeat) clearInterval(this.heartbeat);
    await Promise.all([...this.workers.values()].map((w) => w.terminate(false)));
    this.workers.clear();
    this.removeUnusedHostDirs(true);
  }
}
