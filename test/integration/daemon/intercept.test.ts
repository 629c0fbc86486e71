// Issue 6's intercept acceptance, in the lab: the real daemon and tpv in the
// workstation namespace, the agent injected into real (lab) Deployments, and
// requests from a lab pod. `tpv intercept echo --port 18080:80` sends the
// cluster's requests for echo to a local server; `tpv leave echo` sends them
// to the cluster pods again and puts the pod template back exactly. The
// three user errors (no service, no such port, no permission to patch) say
// so clearly and change nothing in the cluster.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labDown, labUp, type LabInfo } from '../../lab/labLifecycle';
import { uniquePrefix } from '../../support/netns';
import { missingNetworkPrivileges } from '../../support/privileges';
import type { DaemonStatus, InterceptInfo, InterceptResult } from '../../../daemon/protocol/rpc';
import { DaemonClient } from '../../../client/daemon/daemonClient';
import { LabWorkstation as Workstation, run } from '../../support/labWorkstation';

const skip = missingNetworkPrivileges();


interface KubeList { items: Array<{ metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> }; spec?: unknown; data?: unknown }> }

const REVISION = 'deployment.kubernetes.io/revision';

/** What an intercept may change in a namespace, without status or bookkeeping the controllers own. */
async function namespaceState(ws: Workstation, namespace: string): Promise<Record<string, unknown>> {
  const get = (what: string) => ws.kubectlJson<KubeList>('-n', namespace, 'get', what);
  const [deploys, services, configmaps, secrets] = await Promise.all([get('deployments'), get('services'), get('configmaps'), get('secrets')]);
  const annotations = (a: Record<string, string> | undefined) => {
    const copy = { ...a };
    delete copy[REVISION];
    return copy;
  };
  return {
    deployments: Object.fromEntries(deploys.items.map((d) => [d.metadata.name, { template: (d.spec as { template: unknown }).template, annotations: annotations(d.metadata.annotations), labels: d.metadata.labels }])),
    services: Object.fromEntries(services.items.map((s) => [s.metadata.name, { spec: s.spec, annotations: s.metadata.annotations, labels: s.metadata.labels }])),
    configmaps: Object.fromEntries(configmaps.items.map((c) => [c.metadata.name, c.data])),
    secrets: Object.fromEntries(secrets.items.map((s) => [s.metadata.name, s.data])),
  };
}

const echoIn = (s: DaemonStatus) => s.intercepts.find((x) => x.workload === 'echo' && x.namespace === 'default');

/** Waits until a pushed status listed the workload as leaving (or the leave ended first); when it was. */
async function firstLeaving(pushed: ReadonlyArray<{ at: number; echo: InterceptInfo | undefined }>, ended: () => boolean): Promise<number> {
  const deadline = Date.now() + 60_000;
  while (!pushed.some((p) => p.echo?.state === 'leaving') && !ended() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const at = pushed.find((p) => p.echo?.state === 'leaving')?.at;
  assert.ok(at, `no status pushed during the leave listed it as leaving: ${JSON.stringify(pushed)}`);
  return at;
}

describe('tpv intercept and leave, with requests from a lab pod', { skip }, () => {
  let lab: LabInfo;
  let ws: Workstation;
  let client: { netns: string };
  let defaultBefore: Record<string, unknown>;
  let teamABefore: Record<string, unknown>;

  // -4: A queries only. glibc sends A and AAAA from one socket at once, and two such UDP packets
  // racing through the DNAT to the cluster DNS can lose one in conntrack (Kubernetes' known
  // "5 s DNS timeout"); the lab's kube-proxy shares that race, which has nothing to do with intercepts.
  // 12 s: one lost UDP DNS query costs glibc's 5 s retry on a loaded machine; that is no intercept failure.
  const fromPod = (url: string) => run('ip', ['netns', 'exec', client.netns, 'curl', '-4', '-sS', '-m', '12', url]);

  before(async () => {
    lab = await labUp({ name: uniquePrefix('ic') });
    ws = new Workstation(lab);
    client = lab.pods.find((p) => p.namespace === 'team-a' && p.name === 'store-0')!;
    assert.ok(client, 'the lab has a store-0 pod to send requests from');
    const status = await ws.tpvJson<DaemonStatus>('connect', '--namespace', 'default');
    assert.equal(status.connection.state, 'connected');
    await ws.localServer(18080, 'hello from the workstation on 18080');
    await ws.localServer(18081, 'hello from the workstation on 18081');
    defaultBefore = await namespaceState(ws, 'default');
    teamABefore = await namespaceState(ws, 'team-a');
  });

  after(async () => {
    if (ws) await ws.close().catch(() => undefined);
    if (lab) await labDown(lab.name);
  });

  test('before: echo.default answers from the cluster pods', async () => {
    const r = await fromPod('http://echo.default/');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /pod=echo-/);
  });

  test('tpv intercept echo --port 18080:80: every request from a lab pod reaches the local server', async () => {
    const t0 = Date.now();
    const result = await ws.tpvJson<InterceptResult>('intercept', 'echo', '--port', '18080:80');
    console.log(`# intercept echo (symbolic target port) active after ${Date.now() - t0} ms`);
    assert.equal(result.intercept.mode, 'intercept');
    assert.equal(result.intercept.remotePort, 80);
    assert.equal(result.intercept.localPort, 18080);
    assert.match(result.env.ECHO_SERVICE_HOST ?? '', /^246\.246\.\d+\.\d+$/, 'the environment is mangled as for ingest');
    assert.equal(result.env.TELEPRESENCE_CONTAINER, 'echo');
    for (let i = 0; i < 10; i++) {
      const r = await fromPod('http://echo.default/');
      assert.equal(r.code, 0, `request ${i}: ${r.stderr}\n${ws.logTail(30)}`);
      assert.equal(r.stdout, 'hello from the workstation on 18080', `request ${i}`);
    }
    // The service itself was not touched: its named target port now lands on the agent.
    const svc = await ws.kubectlJson<{ spec: unknown }>('-n', 'default', 'get', 'service', 'echo');
    assert.deepEqual(svc.spec, (defaultBefore.services as Record<string, { spec: unknown }>).echo!.spec);
  });

  test('tpv status --json lists the intercept while it is active', async () => {
    const s = await ws.tpvJson<DaemonStatus>('status');
    const i = s.intercepts.find((x) => x.workload === 'echo');
    assert.ok(i, JSON.stringify(s.intercepts));
    assert.deepEqual({ ns: i.namespace, kind: i.kind, mode: i.mode, remote: i.remotePort, local: i.localPort, state: i.state }, { ns: 'default', kind: 'Deployment', mode: 'intercept', remote: 80, local: 18080, state: 'active' });
    const text = await ws.tpv('status');
    assert.match(text.stdout, /^echo\s+default\s+intercept\s+active\s+18080 ← 80$/m);
  });

  test('a second intercept of the same workload with another port is refused', async () => {
    const r = await ws.tpv('intercept', 'echo', '--port', '18081:9000');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /default\/echo is already intercepted \(port 18080:80\); leave it first/);
  });

  test('tpv leave echo: echo is listed as leaving while the leave runs, then gone; requests reach the cluster pods again, and pod template, service and configmaps are as before', async () => {
    // What the daemon pushes to its clients (the extension's view), every status of the leave.
    const client = await DaemonClient.connect({ socketPath: ws.socket });
    const pushed: Array<{ at: number; echo: InterceptInfo | undefined }> = [];
    client.onStatusChanged((s) => pushed.push({ at: Date.now(), echo: echoIn(s) }));
    try {
      const t0 = Date.now();
      let leftAt = 0;
      const leave = ws.tpv('leave', 'echo').then((r) => { leftAt = Date.now(); return r; });
      const leavingAt = await firstLeaving(pushed, () => leftAt !== 0);
      // Asked while the leave waits for the pods without the agent: still listed, as leaving.
      const during = await client.status();
      const r = await leave;
      assert.equal(r.code, 0, r.stderr);
      console.log(`# leave echo (restore and roll back) took ${leftAt - t0} ms; listed as leaving ${leavingAt - t0} ms after it began`);
      assert.ok(leavingAt < leftAt, 'leaving was pushed before the leave ended');
      assert.equal(echoIn(during)?.state, 'leaving', JSON.stringify(during.intercepts));
      await new Promise((res) => setTimeout(res, 200));
      assert.equal(pushed.at(-1)?.echo, undefined, 'the last status pushed lists no echo');
      const afterLeaving = pushed.filter((p) => p.at >= leavingAt);
      assert.ok(afterLeaving.every((p) => p.echo === undefined || p.echo.state === 'leaving'), `never active again: ${JSON.stringify(afterLeaving)}`);
    } finally {
      client.dispose();
    }
    // Gone means done: the cluster answers at once, without waiting for a rollout.
    for (let i = 0; i < 6; i++) {
      const c = await fromPod('http://echo.default/');
      assert.equal(c.code, 0, c.stderr);
      assert.match(c.stdout, /pod=echo-/, `request ${i} after leave`);
    }
    assert.deepEqual(await namespaceState(ws, 'default'), defaultBefore);
    const s = await ws.tpvJson<DaemonStatus>('status');
    assert.deepEqual(s.intercepts, []);
  });

  test('a slow rollout back: tpv status (text and --json) lists the intercept as leaving while tpv leave waits; then it is gone and the cluster answers', async () => {
    // Pods that become ready only 4 s after they start: the leave's rollout takes at least that long.
    // (Both probes delayed: the lab's kubelet, like a real one, starts probing after the shorter delay.)
    const dir = join(ws.dir, 'slowpoke');
    mkdirSync(dir);
    const labels = { app: 'slowpoke' };
    writeFileSync(join(dir, 'deployment.json'), JSON.stringify({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'slowpoke', namespace: 'default', labels },
      spec: {
        replicas: 1, selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'echo', image: 'lab/echo:1.0', ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { tcpSocket: { port: 8080 }, initialDelaySeconds: 4, periodSeconds: 1 }, livenessProbe: { tcpSocket: { port: 8080 }, initialDelaySeconds: 4, periodSeconds: 5 } }] } },
      },
    }));
    writeFileSync(join(dir, 'service.json'), JSON.stringify({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'slowpoke', namespace: 'default', labels }, spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    }));
    assert.equal((await ws.exec('kubectl', ['apply', '-f', dir])).code, 0);
    try {
      await slowLeave();
    } finally {
      // Whatever failed, the next tests find default as they expect it.
      await ws.tpv('leave', 'slowpoke');
      await ws.exec('kubectl', ['delete', '-f', dir]);
    }
  });

  /** The slow-rollout test's body (its caller removes slowpoke whatever happens). */
  async function slowLeave(): Promise<void> {
    const rolled = await ws.exec('kubectl', ['-n', 'default', 'rollout', 'status', 'deployment/slowpoke', '--timeout=60s'], 70_000);
    assert.equal(rolled.code, 0, rolled.stderr);
    const before0 = await namespaceState(ws, 'default');
    await ws.tpvJson<InterceptResult>('intercept', 'slowpoke', '--port', '18080:80');
    assert.equal((await fromPod('http://slowpoke.default/')).stdout, 'hello from the workstation on 18080');

    const client = await DaemonClient.connect({ socketPath: ws.socket });
    const pushed: Array<{ at: number; echo: InterceptInfo | undefined }> = [];
    client.onStatusChanged((s) => pushed.push({ at: Date.now(), echo: s.intercepts.find((x) => x.workload === 'slowpoke') }));
    try {
      const t0 = Date.now();
      let leftAt = 0;
      const leave = ws.tpv('leave', 'slowpoke').then((r) => { leftAt = Date.now(); return r; });
      await firstLeaving(pushed, () => leftAt !== 0);
      const [json, text] = await Promise.all([ws.tpvJson<DaemonStatus>('status'), ws.tpv('status')]);
      const askedAt = Date.now();
      const r = await leave;
      assert.equal(r.code, 0, r.stderr);
      console.log(`# leave slowpoke took ${leftAt - t0} ms; tpv status answered ${askedAt - t0} ms after it began`);
      assert.ok(askedAt < leftAt, 'tpv status answered while tpv leave was still running');
      const i = json.intercepts.find((x) => x.workload === 'slowpoke');
      assert.deepEqual(i && { state: i.state, mode: i.mode, local: i.localPort }, { state: 'leaving', mode: 'intercept', local: 18080 }, JSON.stringify(json.intercepts));
      assert.match(text.stdout, /^slowpoke\s+default\s+intercept\s+leaving\s+18080 ← 80$/m);
    } finally {
      client.dispose();
    }
    const after0 = await ws.tpvJson<DaemonStatus>('status');
    assert.deepEqual(after0.intercepts, []);
    const c = await fromPod('http://slowpoke.default/');
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /pod=slowpoke-/, 'answered by a cluster pod right after tpv leave returned');
    assert.deepEqual(await namespaceState(ws, 'default'), before0);
  }

  test('a numeric target port (greeter in team-a): the service is pointed at the agent, then restored exactly', async () => {
    const t0 = Date.now();
    await ws.tpvJson<InterceptResult>('intercept', 'greeter', '--namespace', 'team-a', '--port', '18081:80');
    console.log(`# intercept team-a/greeter (numeric target port) active after ${Date.now() - t0} ms`);
    const svc = await ws.kubectlJson<{ spec: { ports: Array<{ targetPort: unknown }> }; metadata: { annotations?: Record<string, string> } }>('-n', 'team-a', 'get', 'service', 'greeter');
    assert.notEqual(svc.spec.ports[0]!.targetPort, 8080, 'the target port moved to the agent');
    assert.ok(svc.metadata.annotations?.['telepresence-vscode.dev/original-target-ports']);
    for (let i = 0; i < 5; i++) {
      const r = await fromPod('http://greeter.team-a/');
      assert.equal(r.stdout, 'hello from the workstation on 18081', `request ${i}: ${r.stderr}`);
    }
    assert.equal((await ws.tpv('leave', 'greeter', '--namespace', 'team-a')).code, 0);
    const back = await fromPod('http://greeter.team-a/');
    assert.match(back.stdout, /hello from greeter-/);
    assert.deepEqual(await namespaceState(ws, 'team-a'), teamABefore);
  });

  test('nothing listening locally: the cluster client is refused, not answered by the cluster pod', async () => {
    await ws.tpvJson<InterceptResult>('intercept', 'echo', '--port', '18089:80');
    const r = await fromPod('http://echo.default/');
    assert.notEqual(r.code, 0, `expected a reset, got ${r.stdout}`);
    assert.match(r.stderr, /reset|Empty reply|refused/i);
    assert.equal((await ws.tpv('leave', 'echo')).code, 0);
    assert.deepEqual(await namespaceState(ws, 'default'), defaultBefore);
  });

  test('error: a workload without a service says so and changes nothing', async () => {
    const file = join(ws.dir, 'lonely.json');
    writeFileSync(file, JSON.stringify({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'lonely', namespace: 'default', labels: { app: 'lonely' } },
      spec: { replicas: 1, selector: { matchLabels: { app: 'lonely' } }, template: { metadata: { labels: { app: 'lonely' } }, spec: { containers: [{ name: 'echo', image: 'lab/echo:1.0', ports: [{ containerPort: 8080 }] }] } } },
    }));
    const made = await ws.exec('kubectl', ['apply', '-f', file]);
    assert.equal(made.code, 0, made.stderr);
    const before0 = await namespaceState(ws, 'default');
    const r = await ws.tpv('intercept', 'lonely', '--port', '8080');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no service selects deployment lonely: its pods are labelled app=lonely/);
    assert.deepEqual(await namespaceState(ws, 'default'), before0);
    assert.equal((await ws.exec('kubectl', ['-n', 'default', 'delete', 'deployment', 'lonely'])).code, 0);
  });

  test('error: a port the service does not have lists the ports it has and changes nothing', async () => {
    const r = await ws.tpv('intercept', 'echo', '--port', '18080:81');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /service default\/echo \(in front of deployment echo\) has no port 81; its ports are: http \(80\), tcp-echo \(9000\), udp-echo \(9001\/UDP\)/);
    assert.deepEqual(await namespaceState(ws, 'default'), defaultBefore);
  });

  test('an agent pod that never becomes ready: a clear error within --agent-timeout naming the pod, and everything undone', async () => {
    // The app's own readiness never passes, so the pod with the agent never becomes Ready.
    const file = join(ws.dir, 'sluggish');
    mkdirSync(file);
    const labels = { app: 'sluggish' };
    writeFileSync(join(file, 'deployment.json'), JSON.stringify({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'sluggish', namespace: 'default', labels },
      spec: {
        replicas: 1, selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'echo', image: 'lab/echo:1.0', ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { tcpSocket: { port: 7777 }, periodSeconds: 1 } }] } },
      },
    }));
    writeFileSync(join(file, 'service.json'), JSON.stringify({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'sluggish', namespace: 'default', labels }, spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    }));
    const made = await ws.exec('kubectl', ['apply', '-f', file]);
    assert.equal(made.code, 0, made.stderr);
    const before0 = await namespaceState(ws, 'default');
    const t0 = Date.now();
    const r = await ws.tpv('intercept', 'sluggish', '--port', '18080:80', '--agent-timeout', '5');
    const ms = Date.now() - t0;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /the traffic agent in deployment default\/sluggish did not become ready within 5s: pod sluggish-[a-z0-9]+-[a-z0-9]+: container\(s\) echo not ready\. Check `kubectl -n default describe pods -l app=sluggish`; the intercept was undone\./);
    assert.ok(ms < 15_000, `the error took ${ms} ms`);
    assert.deepEqual(await namespaceState(ws, 'default'), before0);
    assert.equal((await ws.exec('kubectl', ['delete', '-f', file])).code, 0);
  });

  test('an agent left by a daemon that was killed is removed by the next daemon\'s leave', async () => {
    await ws.tpvJson<InterceptResult>('intercept', 'echo', '--port', '18080:80');
    const { pid } = await ws.tpvJson<DaemonStatus>('status');
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100; i++) { try { process.kill(pid, 0); await new Promise((res) => setTimeout(res, 50)); } catch { break; } }
    assert.equal((await ws.tpv('quit', '--cleanup')).code, 0);
    const c = await ws.tpvJson<DaemonStatus>('connect', '--namespace', 'default');
    assert.equal(c.connection.state, 'connected');
    const r = await ws.tpv('leave', 'echo');
    assert.equal(r.code, 0, `${r.stderr}\n${ws.logTail(20)}`);
    assert.deepEqual(await namespaceState(ws, 'default'), defaultBefore);
  });

  test('disconnect leaves an active intercept: the template is restored and the agent objects go', async () => {
    await ws.tpvJson<InterceptResult>('intercept', 'echo', '--port', '18080:80');
    assert.equal((await ws.tpv('disconnect')).code, 0);
    const after0 = await namespaceState(ws, 'default') as { deployments: Record<string, unknown>; configmaps: Record<string, unknown> };
    assert.deepEqual(after0.deployments, defaultBefore.deployments);
    assert.deepEqual(Object.keys(after0.configmaps), Object.keys(defaultBefore.configmaps as object));
  });

  test('error: no permission to patch names the verb and resource, and changes nothing', async () => {
    const c = await ws.tpv('connect', '--context', 'lab-viewer', '--namespace', 'team-a');
    assert.equal(c.code, 0, `${c.stderr}\n${ws.logTail(30)}`);
    const before0 = await namespaceState(ws, 'default');
    const r = await ws.tpv('intercept', 'echo', '--namespace', 'default', '--port', '18080:80');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no permission to intercept deployment default\/echo: in namespace "default" you may not\n\s+- patch deployments\.apps/);
    assert.match(r.stderr, /Ask a cluster admin to grant you these rights/);
    assert.deepEqual(await namespaceState(ws, 'default'), before0);
    // The viewer's relay lives in team-a; take it out again so team-a ends as it began.
    assert.equal((await ws.tpv('uninstall')).code, 0);
    assert.equal((await ws.tpv('disconnect')).code, 0);
  });

  test('tpv uninstall removes agents from every workload (and the relay)', async () => {
    const c = await ws.tpvJson<DaemonStatus>('connect', '--namespace', 'default');
    assert.equal(c.connection.state, 'connected');
    await ws.tpvJson<InterceptResult>('intercept', 'greeter', '--namespace', 'team-a', '--port', '18081:80');
    const r = await ws.tpv('uninstall');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /agent in deployment team-a\/greeter/);
    assert.match(r.stdout, /configmap team-a\/tpv-agent/);
    assert.deepEqual(await namespaceState(ws, 'team-a'), teamABefore);
    // The relay went too, so default is as the lab made it.
    const { configmaps, secrets } = await namespaceState(ws, 'default') as { configmaps: object; secrets: object };
    assert.ok(!('tpv-relay' in configmaps) && !('tpv-relay' in secrets), 'the relay objects are gone');
  });
});
