// The lab's API server emulation on loopback, driven by the real kubectl
// (tables, apply + rollout, patches, the ClusterIP range error, secrets,
// delete, watch, exec over WebSocket v5, port-forward through the WebSocket
// SPDY tunnel and through the raw SPDY upgrade, the limited and exec-plugin
// users) and by @kubernetes/client-node (list, watch, Status errors), then
// restarted as a new kube-apiserver process over the same etcd would be
// (connections cut and refused, objects and resourceVersions kept). No root
// and no network namespaces: the server listens on 127.0.0.1, a fake kubelet
// marks pods Running, and "pods" are local processes and a local echo server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import type { ApiServerHandle, ApiServerRestart } from '../../lab/contracts';
import { startApiServer } from '../../lab/apiserver/index';
import { ApiClient, ApiError, type KubeCredentials } from '../../lab/kubelet/apiClient';
import { Informer } from '../../lab/kubelet/informer';
import { FakeKubelet } from './fixtures/fakeKubelet';
import { LocalPodRuntime } from './fixtures/localPodRuntime';

function kubectlMissing(): string | undefined {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'kubectl is not installed (the conformance check needs the real client)';
  }
}
const skip = kubectlMissing();

const POD_PORT = 8080;
const NODE = 'node-1';

interface Run { code: number; stdout: string; stderr: string }

describe('lab API server with kubectl and client-node', { skip }, () => {
  let dir: string;
  let kubeconfig: string;
  let api: ApiServerHandle;
  let kubelet: FakeKubelet;
  let runtime: LocalPodRuntime;
  let echo: net.Server;
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  const children: ChildProcess[] = [];

  // A private HOME and discovery cache: nothing read from or written to the user's ~/.kube.
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, KUBECACHEDIR: join(dir, 'kube-cache'), ...extra };
    return e;
  };
  const kubectl = (args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Run> =>
    new Promise((resolve) => {
      const child = execFile('kubectl', ['--kubeconfig', kubeconfig, '--request-timeout=15s', ...args], { encoding: 'utf8', timeout: opts.timeoutMs ?? 20_000, env: env(opts.env), maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
      if (opts.input !== undefined) child.stdin!.end(opts.input);
    });
  const ok = async (args: string[], opts: Parameters<typeof kubectl>[1] = {}): Promise<string> => {
    const r = await kubectl(args, opts);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  /** The table's lines split into cells on runs of 2+ spaces, as kubectl pads columns. */
  const table = (out: string) => out.trim().split('\n').map((l) => l.trim().split(/\s{2,}/));
  const spawnKubectl = (args: string[], extraEnv: Record<string, string> = {}) => {
    const child = spawn('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: env(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => { stdout += c; });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
    const waitFor = async (re: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(stdout);
        if (m) return m;
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`kubectl ${args.join(' ')}: no ${re} in stdout ${JSON.stringify(stdout)} stderr ${JSON.stringify(stderr)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    return { child, waitFor, output: () => ({ stdout, stderr }) };
  };
  const stop = (child: ChildProcess) => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  const until = async <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const adminCredentials = (): KubeCredentials => {
    const pki = (name: string) => readFileSync(join(dir, 'pki', name));
    return { server: api.url, ca: pki('ca.crt'), cert: pki('admin.crt'), key: pki('admin.key') };
  };
  /** Resolves with the child's exit code, or undefined when it is still running after `ms`. */
  const exitCode = (child: ChildProcess, ms: number) => new Promise<number | undefined>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) { resolve(child.exitCode ?? -1); return; }
    const t = setTimeout(() => resolve(undefined), ms);
    child.once('exit', (code) => { clearTimeout(t); resolve(code ?? -1); });
  });
  const runningPods = async (label: string): Promise<string[]> => {
    const list = await core.listNamespacedPod({ namespace: 'default', labelSelector: label });
    return list.items.filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tpv-apiserver-'));
    echo = net.createServer((s) => { s.on('error', () => undefined); s.pipe(s); });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    runtime = new LocalPodRuntime(new Map([[POD_PORT, (echo.address() as net.AddressInfo).port]]));
    api = await startApiServer({
      host: '127.0.0.1', port: 0, serviceCidr: '10.130.0.0/16',
      nodes: [{ name: NODE, podCidr: '10.244.0.0/24', internalIp: '127.0.0.1' }],
      pkiDir: join(dir, 'pki'), podRuntime: runtime,
    });
    kubeconfig = join(dir, 'kubeconfig');
    api.writeKubeconfig(kubeconfig);
    kubelet = new FakeKubelet(adminCredentials(), NODE);
    await kubelet.start();
    kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
  });

  after(async () => {
    for (const c of children) await stop(c);
    kubelet?.stop();
    await api?.close();
    await new Promise<void>((r) => (echo ? echo.close(() => r()) : r()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('kubectl get nodes prints the server-side table', async () => {
    const rows = table(await ok(['get', 'nodes']));
    assert.deepEqual(rows[0], ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']);
    assert.equal(rows.length, 2);
    assert.deepEqual(rows[1]!.filter((_, i) => i !== 3), [NODE, 'Ready', 'control-plane', 'v1.32.0-tpv-lab']);
    assert.match(rows[1]![3]!, /^\d+s$/);
  });

  const appYaml = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports: [{containerPort: ${POD_PORT}, name: http}]
        env: [{name: A, value: "1"}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http, name: http}]
`;

  test('kubectl apply of a Deployment and a Service, then rollout status completes', async () => {
    const file = join(dir, 'app.yaml');
    writeFileSync(file, appYaml);
    const out = await ok(['apply', '-f', file]);
    assert.match(out, /^deployment\.apps\/web created$/m);
    assert.match(out, /^service\/web created$/m);
    const status = await ok(['rollout', 'status', 'deployment/web', '--timeout=20s']);
    assert.match(status, /deployment "web" successfully rolled out/);
    assert.equal((await runningPods('app=web')).length, 2);
  });

  test('kubectl get pods -A and svc -A print namespaced tables', async () => {
    const pods = table(await ok(['get', 'pods', '-A']));
    assert.deepEqual(pods[0], ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    const web = pods.slice(1).filter((r) => r[1]!.startsWith('web-'));
    assert.equal(web.length, 2);
    for (const r of web) {
      assert.equal(r[0], 'default');
      assert.match(r[1]!, /^web-[a-z0-9]+-[a-z0-9]{5}$/);
      assert.deepEqual(r.slice(2, 5), ['1/1', 'Running', '0']);
    }
    const svcs = table(await ok(['get', 'svc', '-A']));
    assert.deepEqual(svcs[0], ['NAMESPACE', 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
    const svc = svcs.find((r) => r[1] === 'web');
    assert.ok(svc, JSON.stringify(svcs));
    assert.equal(svc[0], 'default');
    assert.equal(svc[2], 'ClusterIP');
    assert.match(svc[3]!, /^10\.130\.\d+\.\d+$/);
    assert.deepEqual(svc.slice(4, 6), ['<none>', '80/TCP']);
    const wide = table(await ok(['get', 'pods', '-o', 'wide', '-l', 'app=web']));
    assert.deepEqual(wide[0], ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
    for (const r of wide.slice(1)) { assert.match(r[5]!, /^10\.244\.0\.\d+$/); assert.equal(r[6], NODE); }
  });

  test('endpoints and endpointslices list the ready pods on the target port', async () => {
    const pods = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' });
    const ips = pods.items.map((p) => p.status!.podIP!).sort();
    assert.equal(ips.length, 2);
    const ep = table(await ok(['get', 'endpoints', 'web']));
    assert.deepEqual(ep[0], ['NAME', 'ENDPOINTS', 'AGE']);
    assert.deepEqual(ep[1]![1]!.split(',').sort(), ips.map((ip) => `${ip}:${POD_PORT}`));
    const slices = table(await ok(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web']));
    assert.deepEqual(slices[0], ['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE']);
    assert.equal(slices.length, 2);
    assert.match(slices[1]![0]!, /^web-[a-z0-9]{5}$/);
    assert.deepEqual(slices[1]!.slice(1, 3), ['IPv4', String(POD_PORT)]);
    assert.deepEqual(slices[1]![3]!.split(',').sort(), ips);
  });

  test('kubectl patch: merge patch on metadata, strategic patch merging env by name (and a rollout)', async () => {
    assert.match(await ok(['patch', 'deployment', 'web', '--type=merge', '-p', '{"metadata":{"labels":{"patched":"merge"}}}']), /deployment\.apps\/web patched/);
    const merged = JSON.parse(await ok(['get', 'deployment', 'web', '-o', 'json'])) as k8s.V1Deployment;
    assert.deepEqual(merged.metadata!.labels, { app: 'web', patched: 'merge' });
    assert.equal(merged.metadata!.generation, 1, 'a metadata patch keeps the generation');

    await ok(['patch', 'deployment', 'web', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"B","value":"2"}]}]}}}}']);
    const patched = JSON.parse(await ok(['get', 'deployment', 'web', '-o', 'json'])) as k8s.V1Deployment;
    const containers = patched.spec!.template.spec!.containers;
    assert.equal(containers.length, 1);
    assert.equal(containers[0]!.image, 'nginx:1.25');
    assert.deepEqual(containers[0]!.env, [{ name: 'A', value: '1' }, { name: 'B', value: '2' }]);
    assert.equal(patched.metadata!.generation, 2);
    assert.match(await ok(['rollout', 'status', 'deployment/web', '--timeout=20s']), /successfully rolled out/);
    const pods = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' });
    const live = pods.items.filter((p) => !p.metadata?.deletionTimestamp);
    assert.ok(live.length >= 2);
    assert.ok(live.some((p) => p.spec!.containers[0]!.env?.some((e) => e.name === 'B')), 'the new template reached new pods');
  });

  test('kubectl replace of an unchanged object keeps the generation and starts no rollout', async () => {
    const before = JSON.parse(await ok(['get', 'deployment', 'web', '-o', 'json'])) as k8s.V1Deployment;
    const file = join(dir, 'replace.json');
    writeFileSync(file, JSON.stringify(before));
    await ok(['replace', '-f', file]);
    const afterReplace = JSON.parse(await ok(['get', 'deployment', 'web', '-o', 'json'])) as k8s.V1Deployment;
    assert.equal(afterReplace.metadata!.generation, before.metadata!.generation);
    const rs = table(await ok(['get', 'replicasets', '-l', 'app=web', '--no-headers']));
    assert.equal(rs.length, 2, `one ReplicaSet per template: ${JSON.stringify(rs)}`);
  });

  test('kubectl create svc clusterip outside the service CIDR fails with the range message', async () => {
    const r = await kubectl(['create', 'svc', 'clusterip', 'x', '--clusterip=192.168.0.9', '--tcp=80']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Service "x" is invalid: spec\.clusterIPs: .*192\.168\.0\.9.*is not in the valid range/);
    assert.ok(r.stderr.trim().endsWith('The range of valid IPs is 10.130.0.0/16'), r.stderr);
    assert.equal((await kubectl(['get', 'svc', 'x'])).code, 1, 'nothing was created');
    // Inside the range the same command works (kubectl sends it as protobuf).
    assert.match(await ok(['create', 'svc', 'clusterip', 'inrange', '--clusterip=10.130.0.99', '--tcp=80:8080']), /service\/inrange created/);
    const svc = await core.readNamespacedService({ name: 'inrange', namespace: 'default' });
    assert.equal(svc.spec!.clusterIP, '10.130.0.99');
    assert.deepEqual(svc.spec!.ports!.map((p) => [p.port, p.targetPort, p.protocol]), [[80, 8080, 'TCP']]);
  });

  test('kubectl create secret generic and a stringData Secret round trip as base64 data', async () => {
    await ok(['create', 'secret', 'generic', 'lit', '--from-literal=user=admin', '--from-literal=pass=s3cr3t ✓']);
    const lit = JSON.parse(await ok(['get', 'secret', 'lit', '-o', 'json'])) as k8s.V1Secret;
    assert.equal(lit.type, 'Opaque');
    assert.deepEqual(Object.fromEntries(Object.entries(lit.data!).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])), { user: 'admin', pass: 's3cr3t ✓' });

    const file = join(dir, 'secret.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Secret\nmetadata: {name: sd}\nstringData: {password: hunter2}\ndata: {other: b3RoZXI=}\n');
    await ok(['apply', '-f', file]);
    const sd = JSON.parse(await ok(['get', 'secret', 'sd', '-o', 'json'])) as k8s.V1Secret & { stringData?: unknown };
    assert.equal(sd.stringData, undefined, 'stringData is write-only');
    assert.equal(Buffer.from(sd.data!.password!, 'base64').toString(), 'hunter2');
    assert.equal(Buffer.from(sd.data!.other!, 'base64').toString(), 'other');
    assert.equal(await ok(['get', 'secret', 'sd', '-o', 'jsonpath={.data.password}']), Buffer.from('hunter2').toString('base64'));
  });

  test('kubectl get -w prints an object created while it watches', async () => {
    const w = spawnKubectl(['get', 'configmaps', '-w', '--output-watch-events']);
    await w.waitFor(/kube-root-ca\.crt/);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'watched' }, data: { a: '1', b: '2' } } });
    const m = await w.waitFor(/^(\S+)\s+watched\s+(\d+)\s+\S+$/m);
    assert.equal(m[1], 'ADDED');
    assert.equal(m[2], '2');
    await core.deleteNamespacedConfigMap({ name: 'watched', namespace: 'default' });
    assert.equal((await w.waitFor(/^DELETED\s+watched\s/m))[0].split(/\s+/)[0], 'DELETED');
    await stop(w.child);
  });

  test('kubectl delete removes the deployment, its replica sets and pods, and the service', async () => {
    const file = join(dir, 'app.yaml');
    assert.match(await ok(['delete', '-f', file]), /deployment\.apps "web" deleted[\s\S]*service "web" deleted/);
    const gone = await kubectl(['get', 'deployment', 'web']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /Error from server \(NotFound\): deployments\.apps "web" not found/);
    await until('the web pods to go', async () => ((await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' })).items.length === 0 ? true : undefined));
    assert.equal((await ok(['get', 'replicasets', '-l', 'app=web', '-o', 'name'])).trim(), '');
    assert.equal((await kubectl(['get', 'endpoints', 'web'])).code, 1, 'the endpoints went with the service');
  });

  describe('streaming to a pod', () => {
    let pod: string;
    before(async () => {
      await ok(['create', 'deployment', 'echo', `--image=busybox:1.36`, `--port=${POD_PORT}`]);
      await ok(['rollout', 'status', 'deployment/echo', '--timeout=20s']);
      pod = (await runningPods('app=echo'))[0]!;
      assert.ok(pod);
    });

    test('kubectl exec -- env runs in the pod (WebSocket v5) and exit codes and stdin close come back', async () => {
      const out = await ok(['exec', pod, '--', 'env']);
      assert.match(out, new RegExp(`^POD_NAME=${pod}$`, 'm'));
      assert.match(out, /^POD_NAMESPACE=default$/m);
      assert.deepEqual(runtime.execs.at(-1), { namespace: 'default', pod, container: 'busybox', command: ['env'], stdin: false, tty: false });
      const failed = await kubectl(['exec', pod, '--', 'sh', '-c', 'echo oops >&2; exit 3']);
      assert.equal(failed.code, 3);
      assert.match(failed.stderr, /oops/);
      assert.match(failed.stderr, /command terminated with exit code 3/);
      // Only v5 can tell the pod that stdin ended: with v4, cat would never exit.
      const cat = await kubectl(['exec', '-i', pod, '--', 'cat'], { input: 'through stdin\n', timeoutMs: 8_000 });
      assert.equal(cat.code, 0, cat.stderr);
      assert.equal(cat.stdout, 'through stdin\n');
    });

    const portForward = async (extraEnv: Record<string, string>) => {
      const pf = spawnKubectl(['port-forward', '-v=6', '--address', '127.0.0.1', `pod/${pod}`, `:${POD_PORT}`], extraEnv);
      const m = await pf.waitFor(/Forwarding from 127\.0\.0\.1:(\d+) -> 8080/);
      const port = Number(m[1]);
      // Bytes both ways, on two connections, more than one SPDY frame each.
      for (const size of [16, 300_000]) {
        const payload = randomBytes(size);
        const back = await new Promise<Buffer>((resolve, reject) => {
          const s = net.connect(port, '127.0.0.1', () => s.end(payload));
          const got: Buffer[] = [];
          s.on('data', (c: Buffer) => got.push(c));
          s.on('end', () => resolve(Buffer.concat(got)));
          s.on('error', reject);
          s.setTimeout(10_000, () => s.destroy(new Error(`no echo within 10 s (${Buffer.concat(got).length}/${size} bytes)`)));
        });
        assert.equal(back.length, size);
        assert.ok(back.equals(payload), 'the echo carries the same bytes');
      }
      await stop(pf.child);
      return pf.output().stderr;
    };

    test('kubectl port-forward (default: SPDY tunnelled in a WebSocket) carries bytes both ways', async () => {
      const log = await portForward({});
      assert.match(log, /GET https:\/\/\S+\/portforward 101 Switching Protocols/, 'the WebSocket upgrade was accepted');
      assert.doesNotMatch(log, /fallback to secondary dialer/, 'no fallback to raw SPDY');
    });

    test('kubectl port-forward with KUBECTL_PORT_FORWARD_WEBSOCKETS=false (raw SPDY upgrade) carries bytes both ways', async () => {
      const log = await portForward({ KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' });
      assert.match(log, /POST https:\/\/\S+\/portforward 101 Switching Protocols/, 'the SPDY/3.1 upgrade was accepted');
      assert.doesNotMatch(log, /tunneling_dialer/);
    });
  });

  describe('users', () => {
    before(async () => { await ok(['create', 'namespace', 'team-a']); });

    test('the limited context is forbidden outside team-a with a 403 Status, and works inside it', async () => {
      const outside = await kubectl(['--context', 'lab-limited', 'get', 'pods', '-n', 'default']);
      assert.equal(outside.code, 1);
      assert.match(outside.stderr, /Error from server \(Forbidden\): pods is forbidden: User "limited" cannot list resource "pods" in API group "" in the namespace "default"/);

      const cfg = parseYaml(readFileSync(kubeconfig, 'utf8')) as { users: Array<{ name: string; user: { token?: string } }> };
      const token = cfg.users.find((u) => u.name === 'limited')!.user.token!;
      const limited = new ApiClient({ server: api.url, ca: Buffer.from(api.caPem), token });
      const err = await limited.get('/api/v1/namespaces/default/pods').then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof ApiError, String(err));
      assert.equal(err.status, 403);
      assert.equal(err.reason, 'Forbidden');
      const raw = await kubectl(['--context', 'lab-limited', 'get', '--raw', '/api/v1/namespaces/default/configmaps']);
      assert.notEqual(raw.code, 0);
      assert.match(raw.stderr, /Forbidden/);
      const noCluster = await kubectl(['--context', 'lab-limited', 'get', 'nodes']);
      assert.match(noCluster.stderr, /nodes is forbidden: User "limited" cannot list resource "nodes" in API group "" at the cluster scope/);

      assert.match((await kubectl(['--context', 'lab-limited', 'get', 'pods'])).stderr, /No resources found in team-a namespace/);
      assert.match(await ok(['--context', 'lab-limited', 'create', 'configmap', 'mine', '--from-literal=k=v']), /configmap\/mine created/);
      const mine = await core.readNamespacedConfigMap({ name: 'mine', namespace: 'team-a' });
      assert.deepEqual(mine.data, { k: 'v' });
      const status = await limited.get<{ kind: string; items: unknown[] }>('/api/v1/namespaces/team-a/configmaps');
      assert.equal(status.kind, 'ConfigMapList');
    });

    test('kubectl auth can-i answers per user and namespace', async () => {
      const yes = await kubectl(['--context', 'lab-limited', 'auth', 'can-i', 'create', 'deployments']);
      assert.deepEqual([yes.code, yes.stdout.trim()], [0, 'yes']);
      const no = await kubectl(['--context', 'lab-limited', 'auth', 'can-i', 'list', 'pods', '-n', 'default']);
      assert.deepEqual([no.code, no.stdout.trim()], [1, 'no']);
      const admin = await kubectl(['auth', 'can-i', 'delete', 'nodes']);
      assert.deepEqual([admin.code, admin.stdout.trim()], [0, 'yes']);
    });

    test('the exec-plugin and token contexts authenticate', async () => {
      const nodes = table(await ok(['--context', 'lab-exec', 'get', 'nodes', '--no-headers']));
      assert.equal(nodes[0]![0], NODE);
      const ns = (await ok(['--context', 'lab-token', 'get', 'namespaces', '-o', 'name'])).trim().split('\n');
      assert.ok(ns.includes('namespace/team-a') && ns.includes('namespace/kube-system'), ns.join(' '));
      const bad = new ApiClient({ server: api.url, ca: Buffer.from(api.caPem), token: 'not-a-lab-token' });
      const err = await bad.get('/api/v1/namespaces').then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof ApiError && err.status === 401 && err.reason === 'Unauthorized', String(err));
    });
  });

  describe('@kubernetes/client-node', () => {
    test('lists namespaces and nodes', async () => {
      const ns = await core.listNamespace();
      const names = ns.items.map((n) => n.metadata!.name);
      for (const want of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) assert.ok(names.includes(want), `${want} in ${names.join(',')}`);
      assert.match(ns.metadata!.resourceVersion!, /^\d+$/);
      const nodes = await core.listNode();
      assert.deepEqual(nodes.items.map((n) => n.metadata!.name), [NODE]);
      assert.equal(nodes.items[0]!.status!.conditions!.find((c) => c.type === 'Ready')!.status, 'True');
    });

    test('watch receives ADDED, MODIFIED and DELETED with increasing resourceVersions', async () => {
      const start = (await core.listNamespacedConfigMap({ namespace: 'default' })).metadata!.resourceVersion!;
      const events: Array<{ type: string; name: string; rv: number }> = [];
      const watch = new k8s.Watch(kc);
      const ctl = await watch.watch('/api/v1/namespaces/default/configmaps', { resourceVersion: start }, (type, obj: k8s.V1ConfigMap) => {
        events.push({ type, name: obj.metadata!.name!, rv: Number(obj.metadata!.resourceVersion) });
      }, () => undefined);
      try {
        await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cn-watch' }, data: { a: '1' } } });
        await core.patchNamespacedConfigMap({ name: 'cn-watch', namespace: 'default', body: { data: { a: '2' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
        await core.deleteNamespacedConfigMap({ name: 'cn-watch', namespace: 'default' });
        await until('three watch events', async () => (events.filter((e) => e.name === 'cn-watch').length >= 3 ? true : undefined));
      } finally {
        ctl.abort();
      }
      const mine = events.filter((e) => e.name === 'cn-watch');
      assert.deepEqual(mine.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
      assert.ok(mine[0]!.rv > Number(start));
      assert.ok(mine[0]!.rv < mine[1]!.rv && mine[1]!.rv < mine[2]!.rv, JSON.stringify(mine));
    });

    const statusOf = async (p: Promise<unknown>): Promise<{ code: number; body: { kind: string; code: number; reason: string; message: string; details?: { name?: string; kind?: string } } }> => {
      const err = await p.then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof k8s.ApiException, `expected an ApiException, got ${String(err)}`);
      return { code: err.code, body: JSON.parse(err.body as string) };
    };

    test('a missing object is a 404 Status with reason NotFound', async () => {
      const { code, body } = await statusOf(core.readNamespacedPod({ name: 'nope', namespace: 'default' }));
      assert.equal(code, 404);
      assert.equal(body.kind, 'Status');
      assert.equal(body.code, 404);
      assert.equal(body.reason, 'NotFound');
      assert.equal(body.message, 'pods "nope" not found');
      assert.deepEqual(body.details, { name: 'nope', group: '', kind: 'pods' });
    });

    test('creating a duplicate is a 409 Status with reason AlreadyExists', async () => {
      const cm = { metadata: { name: 'dup' }, data: { a: '1' } };
      await core.createNamespacedConfigMap({ namespace: 'default', body: cm });
      const { code, body } = await statusOf(core.createNamespacedConfigMap({ namespace: 'default', body: cm }));
      assert.equal(code, 409);
      assert.equal(body.reason, 'AlreadyExists');
      assert.equal(body.message, 'configmaps "dup" already exists');
    });
  });

  describe('restart: a new API server process over the same etcd', () => {
    type List = { metadata: { resourceVersion: string } };
    let admin: ApiClient;
    let informer: Informer<k8s.V1ConfigMap>;
    const informerLog: string[] = [];
    let restarted: ApiServerRestart;
    /** A revision from before the restart that the watch history held then. */
    let rvBefore = 0;

    before(async () => {
      admin = new ApiClient(adminCredentials());
      informer = new Informer<k8s.V1ConfigMap>(admin, { path: '/api/v1/namespaces/default/configmaps', log: (m) => informerLog.push(m) });
      await informer.start();
    });
    after(() => { informer?.stop(); admin?.close(); });

    test('cuts every connection (a watch, port-forward on both sides, exec) and refuses new ones while down, then listens again', async () => {
      rvBefore = Number((await admin.get<List>('/api/v1/namespaces/default/configmaps')).metadata.resourceVersion);
      await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'before-restart' }, data: { a: '1' } } });
      await until('the informer to see before-restart', async () => (informer.get('default/before-restart') ? true : undefined));
      // The revision before 'before-restart' was created can still be watched from: the history has it.
      const ok = new AbortController();
      const seen: string[] = [];
      await admin.watch<k8s.V1ConfigMap>(`/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rvBefore}`, (e) => {
        seen.push(`${e.type} ${e.object.metadata?.name}`);
        if (e.object.metadata?.name === 'before-restart') ok.abort();
      }, ok.signal);
      assert.ok(seen.includes('ADDED before-restart'), JSON.stringify(seen));

      const watchAbort = new AbortController();
      const watchOutcome = admin.watch(`/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rvBefore}`, () => undefined, watchAbort.signal)
        .then(() => 'ended cleanly', (e: Error) => `failed: ${e.message}`);

      const pod = (await runningPods('app=echo'))[0]!;
      assert.ok(pod, 'the echo pod of the streaming tests runs');
      const pf = spawnKubectl(['port-forward', '--address', '127.0.0.1', `pod/${pod}`, `:${POD_PORT}`]);
      const localPort = Number((await pf.waitFor(/Forwarding from 127\.0\.0\.1:(\d+) -> 8080/))[1]);
      const forwarded = net.connect(localPort, '127.0.0.1');
      forwarded.on('error', () => undefined);
      const forwardedClosed = new Promise<void>((r) => forwarded.once('close', () => r()));
      const hello = await new Promise<string>((resolve, reject) => {
        forwarded.once('data', (d: Buffer) => resolve(d.toString()));
        forwarded.once('error', reject);
        forwarded.write('hello');
      });
      assert.equal(hello, 'hello');
      const podSideConnections = () => new Promise<number>((r) => echo.getConnections((_e, n) => r(n)));
      assert.ok(await podSideConnections() >= 1);
      const execsBefore = runtime.execs.length;
      const exec = spawnKubectl(['exec', pod, '--', 'sleep', '60']);
      await until('the exec to start', async () => (runtime.execs.length > execsBefore ? true : undefined));

      const restarting = api.restart!({ downMs: 2000 });
      const t0 = Date.now();
      const outcome = await Promise.race([watchOutcome, new Promise<string>((r) => setTimeout(() => r('still open after 2 s'), 2000))]);
      assert.match(outcome, /^failed: /, 'the watch must see a dropped connection, not a clean end of the stream');
      await until('the forwarded connection to close', async () => (forwarded.closed ? true : undefined), 3000);
      await forwardedClosed;
      await until('the pod side of the port-forward to close', async () => ((await podSideConnections()) === 0 ? true : undefined), 3000);
      const execCode = await exitCode(exec.child, 5000);
      assert.ok(execCode !== undefined && execCode !== 0, `kubectl exec must fail when the API server goes away (exit ${execCode}): ${JSON.stringify(exec.output())}`);

      // While down: nothing listens, so a connection is refused at once (no hang, no TLS error).
      assert.ok(Date.now() - t0 < 1800, 'the checks above took too long to see the server down');
      const refused = await new Promise<string>((resolve) => {
        const s = net.connect(Number(new URL(api.url).port), '127.0.0.1');
        s.once('connect', () => { s.destroy(); resolve('connected'); });
        s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      });
      assert.equal(refused, 'ECONNREFUSED');
      const apiErr = await admin.get('/version').then(() => 'answered', (e: NodeJS.ErrnoException) => e.code ?? e.message);
      assert.equal(apiErr, 'ECONNREFUSED');

      restarted = await restarting;
      assert.ok(restarted.upAt - restarted.downAt >= 2000, JSON.stringify(restarted));
      assert.ok(restarted.connectionsCut >= 4, `watches, the informer's watch, port-forward and exec were open: ${JSON.stringify(restarted)}`);
      const version = await admin.get<{ gitVersion: string }>('/version');
      assert.match(version.gitVersion, /^v1\./);
      await stop(pf.child);
    });

    test('after it, objects and resourceVersions continue; a watch from before the restart gets 410 Gone, one from its revision is served', async () => {
      assert.ok(restarted, 'the restart test ran');
      const list = await admin.get<List & { items: k8s.V1ConfigMap[] }>('/api/v1/namespaces/default/configmaps');
      assert.ok(list.items.some((c) => c.metadata?.name === 'before-restart'), 'objects survive the restart');
      const listRv = Number(list.metadata.resourceVersion);
      assert.ok(listRv >= Number(restarted.resourceVersion) && Number(restarted.resourceVersion) > rvBefore, `revisions continue: before ${rvBefore}, restart ${restarted.resourceVersion}, list ${listRv}`);

      // The new process's watch cache starts at its revision, as kube-apiserver's does.
      const old = new AbortController();
      const events: Array<{ type: string; object: { code?: number; reason?: string; message?: string } }> = [];
      await admin.watch(`/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rvBefore}`, (e) => { events.push(e as never); }, old.signal);
      assert.equal(events.length, 1, JSON.stringify(events));
      assert.equal(events[0]!.type, 'ERROR');
      assert.deepEqual([events[0]!.object.code, events[0]!.object.reason], [410, 'Expired']);
      assert.equal(events[0]!.object.message, `too old resource version: ${rvBefore} (${restarted.resourceVersion})`);

      const fresh = new AbortController();
      const seen: Array<{ name: string; rv: number }> = [];
      const watching = admin.watch<k8s.V1ConfigMap>(`/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${restarted.resourceVersion}`, (e) => {
        seen.push({ name: e.object.metadata!.name!, rv: Number(e.object.metadata!.resourceVersion) });
        if (e.object.metadata?.name === 'after-restart') fresh.abort();
      }, fresh.signal);
      const created = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'after-restart' }, data: { b: '2' } } });
      assert.ok(Number(created.metadata!.resourceVersion) > listRv, `${created.metadata!.resourceVersion} > ${listRv}`);
      await Promise.race([watching, new Promise((_r, reject) => setTimeout(() => reject(new Error(`no event on the watch from the restart revision: ${JSON.stringify(seen)}`)), 5000))]);
      assert.deepEqual(seen.at(-1), { name: 'after-restart', rv: Number(created.metadata!.resourceVersion) });
    });

    test('informers re-list and re-watch by themselves, and kubectl works: a scale-up rolls out through the controllers and the node', async () => {
      await until('the informer to see after-restart', async () => (informer.get('default/after-restart') ? true : undefined), 10_000);
      assert.ok(informerLog.some((l) => /retrying/.test(l)), `the informer never noticed the drop: ${informerLog.join('\n')}`);
      assert.ok(informerLog.some((l) => /listed again after \d+ error/.test(l)), `the informer did not re-list: ${informerLog.join('\n')}`);
      const names = table(await ok(['get', 'configmaps', '--no-headers'])).map((r) => r[0]);
      assert.ok(names.includes('before-restart') && names.includes('after-restart'), names.join(' '));
      await ok(['scale', 'deployment', 'echo', '--replicas=2']);
      assert.match(await ok(['rollout', 'status', 'deployment/echo', '--timeout=20s']), /successfully rolled out/);
      assert.equal((await runningPods('app=echo')).length, 2);
    });
  });
});
