// The lab kubelet on its own, against the minimal API server fixture: image
// pull failures, crash loops with restart counts, missing ConfigMaps, volumes
// mounted at paths that do not exist on the host (and nothing left there).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { uniquePrefix } from '../../support/netns';
import { missingNetworkPrivileges } from '../../support/privileges';
import { labDown, labUp, type LabInfo } from '../../lab/labLifecycle';

const skip = missingNetworkPrivileges();

interface PodJson {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  status?: { phase?: string; podIP?: string; containerStatuses?: Array<{ ready: boolean; restartCount: number; state: Record<string, { reason?: string; message?: string }>; lastState: Record<string, { exitCode?: number }> }> };
}

describe('lab kubelet (minimal API server)', { skip }, () => {
  const name = uniquePrefix('lkb');
  const rootDir = `/${name}-mnt`; // a mount target whose parent is /: created on the host, removed afterwards
  let info: LabInfo;
  let token = '';
  const previous = process.env.TPV_LAB_APISERVER;

  before(async () => {
    process.env.TPV_LAB_APISERVER = join(__dirname, 'fixtures', 'miniApiServer.ts');
    info = await labUp({ name });
    token = /token: (\S+)/.exec(readFileSync(info.kubeconfig, 'utf8'))![1]!;
  });
  after(async () => {
    if (previous === undefined) delete process.env.TPV_LAB_APISERVER; else process.env.TPV_LAB_APISERVER = previous;
    await labDown(name);
  });

  const api = <T>(method: string, path: string, body?: unknown): Promise<T> => new Promise((resolve, reject) => {
    const args = ['netns', 'exec', info.workstationNetns, 'curl', '-sk', '-m', '10', '-X', method, '-H', `Authorization: Bearer ${token}`, '-H', 'Content-Type: application/json'];
    if (body !== undefined) args.push('--data-binary', JSON.stringify(body));
    execFile('ip', [...args, `${info.apiServer}${path}`], { encoding: 'utf8' }, (err, stdout) => {
      if (err) reject(err); else resolve(JSON.parse(stdout) as T);
    });
  });
  const pod = (n: string) => api<PodJson>('GET', `/api/v1/namespaces/default/pods/${n}`);
  async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  test('an unknown image waits with ErrImagePull/ImagePullBackOff and never runs', async () => {
    await api('POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'nginx' }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } });
    await until('the pull failure is reported', async () => /ErrImagePull|ImagePullBackOff/.test((await pod('nginx')).status?.containerStatuses?.[0]?.state.waiting?.reason ?? ''));
    const p = await pod('nginx');
    assert.equal(p.status?.phase, 'Pending');
    assert.match(p.status!.containerStatuses![0]!.state.waiting!.message!, /Failed to pull image "nginx:1\.27"/);
  });

  test('a crashing container restarts with a growing restartCount and CrashLoopBackOff', async () => {
    await api('POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'crasher' }, spec: { containers: [{ name: 'c', image: 'node:20', command: ['node', '-e', 'process.exit(3)'] }] } });
    await until('it restarted twice and is backing off', async () => {
      const cs = (await pod('crasher')).status?.containerStatuses?.[0];
      return (cs?.restartCount ?? 0) >= 2 && cs?.state.waiting?.reason === 'CrashLoopBackOff';
    });
    const cs = (await pod('crasher')).status!.containerStatuses![0]!;
    assert.equal(cs.lastState.terminated?.exitCode, 3);
    assert.equal(cs.ready, false);
    assert.equal((await pod('crasher')).status?.phase, 'Running', 'a restarting pod is Running');
  });

  test('a missing ConfigMap blocks the start until it exists; volumes appear at their mountPath inside the container only', async () => {
    await api('POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'reader' },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{
          name: 'r', image: 'node:20',
          command: ['node', '-e', `require('http').createServer((q, s) => s.end(require('fs').readFileSync('${rootDir}/cfg/msg', 'utf8') + '|' + require('fs').readFileSync('/opt/${name}/msg', 'utf8') + '|' + process.env.MSG)).listen(8080)`],
          env: [{ name: 'MSG', valueFrom: { configMapKeyRef: { name: 'later', key: 'msg' } } }],
          readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
          volumeMounts: [{ name: 'cfg', mountPath: `${rootDir}/cfg` }, { name: 'cfg', mountPath: `/opt/${name}` }],
        }],
        volumes: [{ name: 'cfg', configMap: { name: 'later' } }],
      },
    });
    await until('CreateContainerConfigError is reported', async () => (await pod('reader')).status?.containerStatuses?.[0]?.state.waiting?.reason === 'CreateContainerConfigError');
    await api('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'later' }, data: { msg: 'from-configmap' } });
    await until('the reader is ready', async () => (await pod('reader')).status?.containerStatuses?.[0]?.ready === true);
    const ip = (await pod('reader')).status!.podIP!;
    const body = await new Promise<string>((resolve, reject) => execFile('ip', ['netns', 'exec', info.nodeNetns, 'curl', '-sS', '-m', '3', `http://${ip}:8080/`], { encoding: 'utf8' }, (e, out) => (e ? reject(e) : resolve(out))));
    assert.equal(body, 'from-configmap|from-configmap|from-configmap');
    assert.ok(!existsSync(`/opt/${name}`), 'a target under an existing directory lives in the container\'s overlay only');
    assert.ok(existsSync(rootDir), 'a target directly under / had to be created on the host');
    await api('DELETE', '/api/v1/namespaces/default/pods/reader');
    await until('the pod object is gone', async () => ((await pod('reader')) as unknown as { code?: number }).code === 404);
    assert.ok(!existsSync(rootDir), 'the host directory is removed with the pod');
  });
});
