// `tpv connect --proxy-via CIDR=WORKLOAD` in the lab (Telepresence's
// semantics; issue 4, scope 3): the pod subnet is VNATed, and a flow to a pod
// leaves the cluster from greeter's pod, through its traffic agent, which the
// echo image proves by naming its caller. Service traffic still leaves from
// the relay. Disconnect removes the agent and puts greeter's template back
// exactly; a workload that does not exist fails the connect and changes nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { labDown, labUp, type LabInfo } from '../../lab/labLifecycle';
import { uniquePrefix } from '../../support/netns';
import { missingNetworkPrivileges } from '../../support/privileges';
import type { DaemonStatus, InterceptResult } from '../../../daemon/protocol/rpc';
import { RELAY_SELECTOR } from '../../../daemon/cluster/relayManifests';
import { LabWorkstation as Workstation, run } from '../../support/labWorkstation';

const skip = missingNetworkPrivileges();


interface KubeList<T = unknown> { items: Array<{ metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> }; spec?: T; status?: { podIP?: string }; data?: unknown }> }
interface PodSpec { containers: Array<{ name: string }> }

const REVISION = 'deployment.kubernetes.io/revision';

/** greeter's Deployment as the user wrote it (no status, no revision bookkeeping), and team-a's ConfigMaps and Secrets. */
async function greeterState(ws: Workstation): Promise<Record<string, unknown>> {
  const d = await ws.kubectlJson<{ metadata: { annotations?: Record<string, string>; labels?: Record<string, string> }; spec: { template: unknown } }>('-n', 'team-a', 'get', 'deployment', 'greeter');
  const annotations = { ...d.metadata.annotations };
  delete annotations[REVISION];
  const [configmaps, secrets] = await Promise.all([ws.kubectlJson<KubeList>('-n', 'team-a', 'get', 'configmaps'), ws.kubectlJson<KubeList>('-n', 'team-a', 'get', 'secrets')]);
  return {
    template: d.spec.template, annotations, labels: d.metadata.labels,
    // The relay's own objects stay after disconnect (as after any connect); the agent's must go.
    configmaps: Object.fromEntries(configmaps.items.filter((c) => c.metadata.name !== 'tpv-relay').map((c) => [c.metadata.name, c.data])),
    secrets: Object.fromEntries(secrets.items.filter((s) => !s.metadata.name.startsWith('tpv-relay')).map((s) => [s.metadata.name, s.data])),
  };
}

/** Everything a connect could change in team-a (for the error case: nothing at all). */
async function teamAState(ws: Workstation): Promise<Record<string, unknown>> {
  const get = (what: string) => ws.kubectlJson<KubeList>('-n', 'team-a', 'get', what);
  const [deploys, services, configmaps, secrets] = await Promise.all([get('deployments'), get('services'), get('configmaps'), get('secrets')]);
  return {
    deployments: Object.fromEntries(deploys.items.map((d) => [d.metadata.name, d.spec])),
    services: Object.fromEntries(services.items.map((s) => [s.metadata.name, s.spec])),
    configmaps: Object.fromEntries(configmaps.items.map((c) => [c.metadata.name, c.data])),
    secrets: Object.fromEntries(secrets.items.map((s) => [s.metadata.name, s.data])),
  };
}

/** IPs of the greeter pods whose agent is the --proxy-via one (`none`) or an intercept's (`intercept`). */
async function greeterAgentIps(ws: Workstation, agent: 'none' | 'intercept'): Promise<string[]> {
  const pods = await ws.kubectlJson<KubeList<{ containers: Array<{ name: string; env?: Array<{ name: string; value?: string }> }> }>>('-n', 'team-a', 'get', 'pods', '-l', 'app=greeter');
  return pods.items.filter((p) => {
    const listen = p.spec!.containers.find((c) => c.name === 'tpv-agent')?.env?.find((e) => e.name === 'TPV_AGENT_LISTEN')?.value;
    return listen !== undefined && (agent === 'none') === (listen === 'none');
  }).map((p) => p.status!.podIP!);
}

/** A request from the workstation to an echo pod's virtual IP; returns the caller the echo pod saw. */
async function callerOfPodFlow(ws: Workstation, lab: LabInfo): Promise<string> {
  const echo = lab.pods.find((p) => p.namespace === 'default' && p.name.startsWith('echo-') && p.ip)!;
  const g = await ws.exec('getent', ['hosts', `${echo.ip!.replace(/\./g, '-')}.default.pod.cluster.local`]);
  const r = await ws.exec('curl', ['-sS', '--max-time', '5', `http://${g.stdout.split(/\s+/)[0]}:8080/`]);
  assert.equal(r.code, 0, `${r.stderr}\n${ws.logTail(30)}`);
  return callerOf(r.stdout);
}

function callerOf(body: string): string {
  const m = /caller=([\d.]+):\d+/.exec(body);
  assert.ok(m, `the echo body names no caller: ${body}`);
  return m[1]!;
}

describe('tpv connect --proxy-via CIDR=greeter', { skip }, () => {
  let lab: LabInfo;
  let ws: Workstation;
  let greeterBefore: Record<string, unknown>;

  before(async () => {
    lab = await labUp({ name: uniquePrefix('pv') });
    ws = new Workstation(lab);
    greeterBefore = await greeterState(ws);
  });

  after(async () => {
    if (ws) await ws.close().catch(() => undefined);
    if (lab) await labDown(lab.name);
  });

  test('error: a workload that does not exist fails the connect clearly and changes nothing', async () => {
    const before0 = await teamAState(ws);
    const r = await ws.tpv('connect', '--namespace', 'team-a', '--proxy-via', `${lab.podCidr}=nosuch`);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /--proxy-via: no Deployment, StatefulSet, ReplicaSet or Rollout named "nosuch" in namespace "team-a"/);
    assert.deepEqual(await teamAState(ws), before0, 'not even the relay was installed');
    const s = await ws.tpvJson<DaemonStatus>('status');
    assert.notEqual(s.connection?.state, 'connected');
  });

  test('connect: the pod subnet is listed as proxy-via greeter, and greeter runs the agent', async () => {
    const t0 = Date.now();
    const status = await ws.tpvJson<DaemonStatus>('connect', '--namespace', 'team-a', '--proxy-via', `${lab.podCidr}=greeter`);
    console.log(`# connect --proxy-via (agent injected and ready) took ${Date.now() - t0} ms`);
    assert.equal(status.connection!.state, 'connected');
    const again = await ws.tpvJson<DaemonStatus>('status');
    const entry = again.connection!.plan!.subnets.find((s) => s.subnet === lab.podCidr);
    assert.ok(entry, JSON.stringify(again.connection!.plan));
    assert.equal(entry.resolution, 'proxy-via');
    assert.equal(entry.workload, 'greeter');
    assert.ok(entry.virtualRange, 'a proxy-via subnet has virtual IPs');
    assert.deepEqual(again.intercepts, [], 'the proxy-via agent is not an intercept');
    const pods = await ws.kubectlJson<KubeList<PodSpec>>('-n', 'team-a', 'get', 'pods', '-l', 'app=greeter');
    assert.ok(pods.items.some((p) => p.spec!.containers.some((c) => c.name === 'tpv-agent')), 'a greeter pod runs the agent');
  });

  test('a pod\'s virtual IP: the flow leaves the cluster from greeter\'s pod (the echo pod sees greeter as caller)', async () => {
    const echo = lab.pods.find((p) => p.namespace === 'default' && p.name.startsWith('echo-') && p.ip)!;
    const name = `${echo.ip!.replace(/\./g, '-')}.default.pod.cluster.local`;
    const g = await ws.exec('getent', ['hosts', name]);
    assert.equal(g.code, 0, g.stderr);
    const vip = g.stdout.split(/\s+/)[0]!;
    assert.match(vip, /^246\.246\.\d+\.\d+$/, `pod DNS name ${name} → ${g.stdout}`);
    const greeterIps = (await ws.kubectlJson<KubeList<PodSpec>>('-n', 'team-a', 'get', 'pods', '-l', 'app=greeter')).items
      .filter((p) => p.spec!.containers.some((c) => c.name === 'tpv-agent')).map((p) => p.status?.podIP);
    for (let i = 0; i < 5; i++) {
      const r = await ws.exec('curl', ['-sS', '--max-time', '5', `http://${vip}:8080/`]);
      assert.equal(r.code, 0, `request ${i}: ${r.stderr}\n${ws.logTail(30)}`);
      assert.match(r.stdout, new RegExp(`pod=${echo.name}`));
      assert.ok(greeterIps.includes(callerOf(r.stdout)), `request ${i}: caller ${callerOf(r.stdout)} is not a greeter pod with the agent (${greeterIps.join(', ')})`);
    }
  });

  test('service traffic still leaves from the relay (the caller is the relay pod)', async () => {
    const relayPods = await ws.kubectlJson<KubeList>('-n', 'team-a', 'get', 'pods', '-l', RELAY_SELECTOR);
    const relayIps = relayPods.items.map((p) => p.status?.podIP);
    const r = await ws.exec('curl', ['-sS', '--max-time', '5', 'http://echo.default/']);
    assert.equal(r.code, 0, `${r.stderr}\n${ws.logTail(30)}`);
    assert.ok(relayIps.includes(callerOf(r.stdout)), `caller ${callerOf(r.stdout)} is not the relay (${relayIps.join(', ')})`);
  });

  test('the proxy-via workload alone is no intercept: tpv leave of it says so and changes nothing', async () => {
    const during = await greeterState(ws);
    const l = await ws.tpv('leave', 'greeter', '--namespace', 'team-a');
    assert.notEqual(l.code, 0);
    assert.match(l.stderr, /team-a\/greeter carries this connection's --proxy-via agent, which is removed on disconnect; there is no intercept to leave/);
    assert.deepEqual(await greeterState(ws), during);
  });

  test('intercepting the proxy-via workload shares its agent; leave puts the --proxy-via agent back and keeps proxying', async () => {
    await ws.localServer(18081, 'hello from the workstation on 18081');
    const store = lab.pods.find((p) => p.namespace === 'team-a' && p.name === 'store-0')!;
    // 12 s: one lost UDP DNS query costs glibc's 5 s retry on a loaded machine; that is no intercept failure.
  const fromPod = (url: string) => run('ip', ['netns', 'exec', store.netns, 'curl', '-4', '-sS', '-m', '12', url]);
    const serviceBefore = (await ws.kubectlJson<{ spec: unknown }>('-n', 'team-a', 'get', 'service', 'greeter')).spec;
    const t0 = Date.now();
    const ic = await ws.tpvJson<InterceptResult>('intercept', 'greeter', '--namespace', 'team-a', '--port', '18081:80');
    console.log(`# intercept of the proxy-via workload (agent swapped) active after ${Date.now() - t0} ms`);
    assert.equal(ic.intercept.localPort, 18081);
    for (let i = 0; i < 3; i++) {
      const r = await fromPod('http://greeter.team-a/');
      assert.equal(r.stdout, 'hello from the workstation on 18081', `request ${i}: ${r.stderr}\n${ws.logTail(20)}`);
    }
    const interceptAgents = await greeterAgentIps(ws, 'intercept');
    assert.ok(interceptAgents.length > 0);
    assert.ok(interceptAgents.includes(await callerOfPodFlow(ws, lab)), 'pod flows leave from the intercept agent\'s pod');
    const s = await ws.tpvJson<DaemonStatus>('status');
    assert.deepEqual(s.intercepts.map((i) => i.workload), ['greeter']);

    const t1 = Date.now();
    const l = await ws.tpv('leave', 'greeter', '--namespace', 'team-a');
    assert.equal(l.code, 0, `${l.stderr}\n${ws.logTail(20)}`);
    console.log(`# leave of the shared agent (--proxy-via agent back) took ${Date.now() - t1} ms`);
    assert.deepEqual((await ws.kubectlJson<{ spec: unknown }>('-n', 'team-a', 'get', 'service', 'greeter')).spec, serviceBefore, 'the service is restored');
    const back = await fromPod('http://greeter.team-a/');
    assert.match(back.stdout, /hello from greeter-/);
    const proxyAgents = await greeterAgentIps(ws, 'none');
    assert.ok(proxyAgents.length > 0, 'the --proxy-via agent is back');
    assert.deepEqual(await greeterAgentIps(ws, 'intercept'), []);
    assert.ok(proxyAgents.includes(await callerOfPodFlow(ws, lab)), 'pod flows still leave from greeter\'s pod');
    assert.deepEqual((await ws.tpvJson<DaemonStatus>('status')).intercepts, []);
  });

  test('tpv disconnect removes the agent: greeter\'s deployment and the agent objects are as before', async () => {
    const t0 = Date.now();
    const r = await ws.tpv('disconnect');
    assert.equal(r.code, 0, r.stderr);
    console.log(`# disconnect (agent removed) took ${Date.now() - t0} ms`);
    assert.deepEqual(await greeterState(ws), greeterBefore);
  });

  test('disconnect while the shared agent serves an intercept and --proxy-via: service and template restored exactly', async () => {
    const serviceBefore = (await ws.kubectlJson<{ spec: unknown }>('-n', 'team-a', 'get', 'service', 'greeter')).spec;
    await ws.tpvJson<DaemonStatus>('connect', '--namespace', 'team-a', '--proxy-via', `${lab.podCidr}=greeter`);
    await ws.tpvJson<InterceptResult>('intercept', 'greeter', '--namespace', 'team-a', '--port', '18081:80');
    assert.equal((await ws.tpv('disconnect')).code, 0);
    assert.deepEqual((await ws.kubectlJson<{ spec: unknown }>('-n', 'team-a', 'get', 'service', 'greeter')).spec, serviceBefore);
    assert.deepEqual(await greeterState(ws), greeterBefore);
  });

  test('tpv quit removes the agent as disconnect does', async () => {
    await ws.tpvJson<DaemonStatus>('connect', '--namespace', 'team-a', '--proxy-via', `${lab.podCidr}=greeter`);
    assert.notDeepEqual(await greeterState(ws), greeterBefore, 'the agent is in');
    assert.equal((await ws.tpv('quit')).code, 0);
    assert.deepEqual(await greeterState(ws), greeterBefore);
  });

  test('kill -9: the agent left behind is reused by the next connect with the same --proxy-via, and its disconnect restores greeter', async () => {
    await ws.tpvJson<DaemonStatus>('connect', '--namespace', 'team-a', '--proxy-via', `${lab.podCidr}=greeter`);
    const { pid } = await ws.tpvJson<DaemonStatus>('status');
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100; i++) { try { process.kill(pid, 0); await new Promise((res) => setTimeout(res, 50)); } catch { break; } }
    assert.equal((await ws.tpv('quit', '--cleanup')).code, 0);
    assert.notDeepEqual(await greeterState(ws), greeterBefore, 'a killed daemon cannot remove the agent itself');
    const c = await ws.tpvJson<DaemonStatus>('connect', '--namespace', 'team-a', '--proxy-via', `${lab.podCidr}=greeter`);
    assert.equal(c.connection!.state, 'connected', ws.logTail(30));
    const echo = lab.pods.find((p) => p.namespace === 'default' && p.name.startsWith('echo-') && p.ip)!;
    const g = await ws.exec('getent', ['hosts', `${echo.ip!.replace(/\./g, '-')}.default.pod.cluster.local`]);
    const r = await ws.exec('curl', ['-sS', '--max-time', '5', `http://${g.stdout.split(/\s+/)[0]}:8080/`]);
    assert.equal(r.code, 0, `${r.stderr}\n${ws.logTail(30)}`);
    assert.equal((await ws.tpv('disconnect')).code, 0);
    assert.deepEqual(await greeterState(ws), greeterBefore);
  });

  test('kill -9 and no new --proxy-via: tpv leave of the workload removes the leftover agent', async () => {
    await ws.tpvJson<DaemonStatus>('connect', '--namespace', 'team-a', '--proxy-via', `${lab.podCidr}=greeter`);
    const { pid } = await ws.tpvJson<DaemonStatus>('status');
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100; i++) { try { process.kill(pid, 0); await new Promise((res) => setTimeout(res, 50)); } catch { break; } }
    assert.equal((await ws.tpv('quit', '--cleanup')).code, 0);
    await ws.tpvJson<DaemonStatus>('connect', '--namespace', 'team-a');
    const l = await ws.tpv('leave', 'greeter');
    assert.equal(l.code, 0, `${l.stderr}\n${ws.logTail(20)}`);
    assert.equal((await ws.tpv('disconnect')).code, 0);
    assert.deepEqual(await greeterState(ws), greeterBefore);
  });
});
