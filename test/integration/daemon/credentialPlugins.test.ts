// Kube credential plugins never run as root: `tpv connect` under sudo
// resolves them in a child process running as the invoking user, and the
// daemon refuses a kubeconfig that still names one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { refuseCredentialPlugins } from '../../../daemon/cluster/clusterClients';

const USER = 4242;
const isRoot = process.getuid?.() === 0;
const tpv = join(__dirname, '..', '..', '..', 'dist', 'tpv.js');
let dir = '';

function kubeconfig(pluginPath: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: nowhere
  cluster: { server: "https://127.0.0.1:9", insecure-skip-tls-verify: true }
users:
- name: plugin-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ${pluginPath}
      interactiveMode: Never
contexts:
- name: plugin
  context: { cluster: nowhere, user: plugin-user, namespace: default }
current-context: plugin
`;
}

before(() => {
  if (!isRoot) return;
  dir = mkdtempSync(join(tmpdir(), 'tpv-plugin-'));
  chmodSync(dir, 0o777);
  const log = join(dir, 'uids.log');
  writeFileSync(log, '', { mode: 0o666 });
  chmodSync(log, 0o666);
  const plugin = join(dir, 'plugin.sh');
  writeFileSync(plugin, `#!/bin/sh\nid -u >> ${log}\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-plugin"}}'\n`);
  chmodSync(plugin, 0o755);
  writeFileSync(join(dir, 'kubeconfig'), kubeconfig(plugin), { mode: 0o644 });
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('under sudo, tpv connect runs the credential plugin as the invoking user, never as root', { skip: isRoot ? false : 'needs root to act as sudo' }, async () => {
  assert.ok(existsSync(tpv), 'dist/tpv.js is built by npm test');
  const env = {
    ...process.env, SUDO_UID: String(USER), SUDO_GID: String(USER), HOME: dir,
    TPV_SOCKET: join(dir, 'daemon.sock'), TPV_STATE_DIR: join(dir, 'state'), TPV_LOG_FILE: join(dir, 'daemon.log'), TPV_IDLE_EXIT: '0',
  };
  const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(process.execPath, [tpv, 'connect', '--kubeconfig', join(dir, 'kubeconfig')], { env, timeout: 60_000 }, (err, _out, stderr) => resolve({ code: err ? 1 : 0, stderr }));
  });
  // Stop the daemon the attempt started (it runs as root, serving uid 4242).
  await new Promise((resolve) => execFile(process.execPath, [tpv, 'quit'], { env }, resolve));
  const uids = readFileSync(join(dir, 'uids.log'), 'utf8').trim().split('\n').filter(Boolean);
  assert.ok(uids.length >= 1, `the plugin ran (connect said: ${r.stderr.trim()})`);
  assert.deepEqual([...new Set(uids)], [String(USER)], `plugin uids: ${uids.join(',')}`);
  assert.notEqual(r.code, 0, 'nothing listens at 127.0.0.1:9, so the connect itself fails');
  assert.match(r.stderr, /tpv connect: error: /);
});

test('the daemon refuses kubeconfigs that still name a credential plugin or auth provider', () => {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig('/bin/false'));
  assert.throws(() => refuseCredentialPlugins(kc), /uses the exec credential plugin "\/bin\/false"; the daemon runs as root and never runs plugins/);
});
