// The lab end to end: one `up` shared by the network, DNS and kubectl checks,
// then `down` must leave the host exactly as before; and a `down` after an
// `up` that was killed half-way.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniquePrefix } from '../../support/netns';
import { missingNetworkPrivileges } from '../../support/privileges';
import { labDown, labStatus, labUp, type LabInfo } from '../../lab/labLifecycle';
import { labScript } from '../../lab/labEntry';

const skip = missingNetworkPrivileges();

function sh(cmd: string, args: string[], timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const inNs = (ns: string, cmd: string, ...args: string[]) => sh('ip', ['netns', 'exec', ns, cmd, ...args]);

/** Everything on the host a lab named `name` may touch; other engineers' parallel namespaces are filtered out by name. */
function hostSnapshot(name: string): Record<string, string> {
  const mine = (l: string) => l.includes(`${name}-`) || l.includes(`/${name}`);
  const procs: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (Number(pid) !== process.pid && (cmdline.includes(`${name}-`) || cmdline.includes(`/tpv-lab/${name}`))) procs.push(cmdline);
    } catch { /* exited */ }
  }
  const list = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter(mine).join('\n') : '<absent>');
  return {
    'ip netns list': execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter(mine).join('\n'),
    'ip link (host)': execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' }).replace(/ link\/ether \S+ brd \S+/g, ''),
    'nft list ruleset (host)': execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }),
    '/etc/netns': list('/etc/netns'),
    '/run/tpv-lab': existsSync(`/run/tpv-lab/${name}`) ? 'present' : 'absent',
    '/run/netns': list('/run/netns'),
    processes: procs.sort().join('\n'),
    '/proc/mounts': readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(name) || l.includes('tpv-lab')).join('\n'),
  };
}

describe('lab up: network, DNS, kubectl', { skip }, () => {
  const name = uniquePrefix('lab');
  let info: LabInfo;
  let beforeUp: Record<string, string>;
  let upSeconds = 0;

  before(async () => {
    beforeUp = hostSnapshot(name);
    const t0 = Date.now();
    info = await labUp({ name });
    upSeconds = (Date.now() - t0) / 1000;
  });
  after(async () => { await labDown(name); });

  const echo = () => info.services.find((s) => s.namespace === 'default' && s.name === 'echo')!;
  const pods = (prefix: string) => info.pods.filter((p) => p.name.startsWith(prefix));
  // A per-lab discovery cache under the lab's state directory: nothing in ~/.kube, and no stale cache from another lab on the same address.
  const kubectlEnv = () => ['env', `KUBECACHEDIR=${info.stateDir}/kube-cache`, 'kubectl', '--kubeconfig', info.kubeconfig];
  const kubectl = (...args: string[]) => inNs(info.workstationNetns, 'env', ...kubectlEnv().slice(1), '--request-timeout=20s', ...args);

  test('up describes the lab and is idempotent', async () => {
    assert.ok(upSeconds > 0);
    console.log(`# up took ${upSeconds.toFixed(1)} s`);
    assert.equal(info.workstationNetns, `${name}-ws`);
    assert.ok(info.kubeconfig.startsWith('/run/tpv-lab/'));
    assert.ok(existsSync(info.kubeconfig));
    assert.match(echo().clusterIP, /^10\.130\./);
    assert.ok(info.services.some((s) => s.namespace === 'kube-system' && s.name === 'kube-dns' && s.clusterIP === '10.130.0.10'));
    assert.ok(info.services.some((s) => s.namespace === 'team-a' && s.name === 'store' && s.clusterIP === 'None'));
    assert.ok(info.namespaces.includes('team-a'));
    assert.equal(pods('echo-').length, 2);
    const again = await labUp({ name });
    assert.equal(again.alreadyRunning, true);
    assert.equal(again.controlPlanePid, info.controlPlanePid);
    const st = await labStatus(name);
    assert.equal(st.phase, 'ready');
    assert.equal(st.running, true);
  });

  test('the workstation does not reach the cluster, but its VPN works', async () => {
    const direct = await inNs(info.workstationNetns, 'curl', '-sS', '-m', '1', `http://${echo().clusterIP}/`);
    assert.notEqual(direct.code, 0, `the workstation must not reach ${echo().clusterIP}: ${direct.stdout}`);
    const route = await inNs(info.workstationNetns, 'ip', 'route', 'get', echo().clusterIP);
    assert.match(route.stdout, /dev vpn0/, 'service addresses go into the VPN');
    const corp = await inNs(info.workstationNetns, 'curl', '-sS', '-m', '3', `http://${info.vpnHostName}/`);
    assert.equal(corp.code, 0, corp.stderr);
    assert.match(corp.stdout, /corporate intranet/);
  });

  test('from a pod: ClusterIP and cluster DNS reach both echo replicas, UDP echo answers', async () => {
    const client = pods('greeter-')[0] ?? pods('store-')[0]!;
    const seen = new Set<string>();
    for (let i = 0; i < 16 && seen.size < 2; i++) {
      const r = await inNs(client.netns, 'curl', '-sS', '-m', '3', `http://${echo().clusterIP}/`);
      assert.equal(r.code, 0, r.stderr);
      const pod = /pod=(\S+)/.exec(r.stdout)?.[1];
      assert.ok(pod?.startsWith('echo-'), r.stdout);
      assert.match(r.stdout, new RegExp(`caller=${client.ip!.replace(/\./g, '\\.')}:`), 'the client keeps its own address');
      seen.add(pod!);
    }
    assert.equal(seen.size, 2, `both replicas answer: ${[...seen].join(', ')}`);
    const byName = await inNs(client.netns, 'curl', '-sS', '-m', '3', 'http://echo.default.svc.cluster.local/');
    assert.equal(byName.code, 0, byName.stderr);
    assert.match(byName.stdout, /pod=echo-/);
    const headless = await inNs(client.netns, 'getent', 'hosts', `store-0.store.team-a.svc.cluster.local`);
    assert.equal(headless.stdout.split(/\s+/)[0], pods('store-0')[0]!.ip);
    const nx = await inNs(client.netns, 'getent', 'hosts', 'nothing.default.svc.cluster.local');
    assert.notEqual(nx.code, 0);
    const udp = await inNs(client.netns, process.execPath, '-e', `
      const s = require('dgram').createSocket('udp4');
      s.on('message', (m) => { console.log(String(m)); process.exit(0); });
      s.send('ping-udp', 9001, '${echo().clusterIP}');
      setTimeout(() => process.exit(3), 3000);`);
    assert.equal(udp.code, 0, `no UDP answer: ${udp.stderr}`);
    assert.match(udp.stdout, /^echo-\S+ \S+:\d+ ping-udp/);
    const greeter = info.services.find((s) => s.name === 'greeter')!;
    const g = await inNs(client.netns, 'curl', '-sS', '-m', '5', `http://${greeter.clusterIP}/echo`);
    assert.match(g.stdout, /^greeter greeter-\S+ reached pod=echo-/, 'a node image with a ConfigMap volume reaches echo.default by name');
    const hello = await inNs(client.netns, 'curl', '-sS', '-m', '5', `http://${greeter.clusterIP}/`);
    assert.match(hello.stdout, /^hello from greeter-\S+ \(token set\)/);
  });

  test('kubectl from the workstation: get, exec env, rollout restart, port-forward', async () => {
    const get = await kubectl('get', 'ns,nodes,pods,svc,deploy,rs,sts', '-A');
    assert.equal(get.code, 0, get.stderr);
    for (const want of ['namespace/team-a', `node/${info.nodeName}`, 'service/echo', 'deployment.apps/echo', 'statefulset.apps/store']) assert.match(get.stdout, new RegExp(want));

    const oldPods = pods('echo-');
    const env = await kubectl('exec', oldPods[0]!.name, '--', 'env');
    assert.equal(env.code, 0, env.stderr);
    assert.match(env.stdout, new RegExp(`^ECHO_SERVICE_HOST=${echo().clusterIP.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(env.stdout, /^KUBERNETES_SERVICE_HOST=10\.130\.0\.1$/m);
    assert.match(env.stdout, new RegExp(`^POD_NAME=${oldPods[0]!.name}$`, 'm'));

    const restart = await kubectl('rollout', 'restart', 'deploy/echo');
    assert.equal(restart.code, 0, restart.stderr);
    const status = await sh('ip', ['netns', 'exec', info.workstationNetns, ...kubectlEnv(), 'rollout', 'status', 'deploy/echo', '--timeout=90s'], 100_000);
    assert.equal(status.code, 0, status.stderr + status.stdout);
    // Old pods' processes and namespaces are really gone (allow the grace period to finish).
    const deadline = Date.now() + 20_000;
    let left: string[] = [];
    do {
      const ns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
      left = oldPods.filter((p) => ns.includes(p.netns)).map((p) => p.netns);
      if (left.length === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    } while (Date.now() < deadline);
    assert.deepEqual(left, [], 'old echo pods\' namespaces are removed');
    const now = (await labStatus(name)).pods.filter((p) => p.name.startsWith('echo-'));
    assert.equal(now.length, 2);
    for (const p of now) assert.ok(!oldPods.some((o) => o.name === p.name), `${p.name} is a new pod`);

    const pf = spawn('ip', ['netns', 'exec', info.workstationNetns, ...kubectlEnv(), 'port-forward', 'svc/echo', '18080:80'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`port-forward did not start: ${out}`)), 20_000);
        const onData = (c: Buffer) => { out += c.toString(); if (out.includes('Forwarding from')) { clearTimeout(timer); resolve(); } };
        pf.stdout.on('data', onData);
        pf.stderr.on('data', onData);
        pf.once('exit', (code) => { clearTimeout(timer); reject(new Error(`port-forward exited ${code}: ${out}`)); });
      });
      const r = await inNs(info.workstationNetns, 'curl', '-sS', '-m', '5', 'http://127.0.0.1:18080/');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /pod=echo-/);
    } finally {
      pf.kill('SIGTERM');
    }
  });

  test('kubectl from the workstation: apply, describe, get -w through a rollout, and the limited user\'s permission errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tpv-lab-kubectl-'));
    try {
      const manifest = join(dir, 'web.yaml');
      writeFileSync(manifest, [
        'apiVersion: apps/v1', 'kind: Deployment', 'metadata: {name: web, namespace: default}',
        'spec:', '  replicas: 1', '  selector: {matchLabels: {app: web}}',
        '  template:', '    metadata: {labels: {app: web}}',
        '    spec: {containers: [{name: web, image: lab/echo, ports: [{containerPort: 8080}]}]}', '',
      ].join('\n'));
      // A watch started before the apply sees the rollout: the pod added, then changing until it runs.
      const watch = spawn('ip', ['netns', 'exec', info.workstationNetns, ...kubectlEnv(), 'get', 'pods', '-l', 'app=web', '-w', '--output-watch-events'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let seen = '';
      watch.stdout.on('data', (c: Buffer) => { seen += c.toString(); });
      try {
        // kubectl prints nothing until the first event, so give the watch a moment to be established.
        await new Promise((r) => setTimeout(r, 1500));
        const apply = await kubectl('apply', '-f', manifest);
        assert.equal(apply.code, 0, apply.stderr);
        assert.match(apply.stdout, /deployment\.apps\/web created/);
        const rolled = await sh('ip', ['netns', 'exec', info.workstationNetns, ...kubectlEnv(), 'rollout', 'status', 'deploy/web', '--timeout=60s'], 70_000);
        assert.equal(rolled.code, 0, rolled.stderr + rolled.stdout);
        const deadline = Date.now() + 10_000;
        while (!/MODIFIED\s+web-\S+.*Running/.test(seen) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        assert.match(seen, /ADDED\s+web-\S+\s+0\/1\s+Pending/, `kubectl get -w saw: ${seen}`);
        assert.match(seen, /MODIFIED\s+web-\S+\s+1\/1\s+Running/, `the watch sees the pod become Running: ${seen}`);
      } finally {
        watch.kill('SIGTERM');
      }

      const described = await kubectl('describe', 'deploy', 'echo');
      assert.equal(described.code, 0, described.stderr);
      assert.match(described.stdout, /^Name:\s+echo$/m);
      assert.match(described.stdout, /^Replicas:\s+2 desired \| 2 updated \| 2 total \| 2 available/m);

      const limited = (...args: string[]) => kubectl('--context', 'lab-limited', ...args);
      const forbidden = await limited('get', 'pods', '-n', 'default');
      assert.notEqual(forbidden.code, 0);
      assert.match(forbidden.stderr, /Error from server \(Forbidden\): pods is forbidden: User "limited" cannot list resource "pods" in API group "" in the namespace "default"/);
      const allowed = await limited('get', 'pods', '-n', 'team-a');
      assert.equal(allowed.code, 0, allowed.stderr);
      const canI = await limited('auth', 'can-i', 'create', 'deployments', '-n', 'default');
      assert.equal(canI.stdout.trim(), 'no');
      const canIHome = await limited('auth', 'can-i', 'list', 'pods', '-n', 'team-a');
      assert.equal(canIHome.stdout.trim(), 'yes', canIHome.stderr);

      const del = await kubectl('delete', '-f', manifest, '--wait=false');
      assert.equal(del.code, 0, del.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('down leaves the host as before up', async () => {
    const t0 = Date.now();
    await labDown(name);
    console.log(`# down took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.deepEqual(hostSnapshot(name), beforeUp);
    assert.equal((await labStatus(name)).phase, 'absent');
  });
});

test('down after an up killed half-way leaves the host as before', { skip }, async (t) => {
  const name = uniquePrefix('lak');
  t.after(async () => { await labDown(name); });
  const beforeUp = hostSnapshot(name);
  const up = spawn(process.execPath, [labScript(), 'up', '--name', name], { stdio: 'ignore' });
  const upExited = new Promise((r) => up.once('exit', r));
  const deadline = Date.now() + 20_000;
  while (!execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).includes(`${name}-node`)) {
    assert.ok(Date.now() < deadline, 'up never created its namespaces');
    await new Promise((r) => setTimeout(r, 20));
  }
  // Give it a moment to start its detached processes, then kill it mid-flight.
  await new Promise((r) => setTimeout(r, 300));
  up.kill('SIGKILL');
  await upExited;
  assert.notDeepEqual(hostSnapshot(name), beforeUp, 'the killed up left something behind');
  await labDown(name);
  assert.deepEqual(hostSnapshot(name), beforeUp);
});
