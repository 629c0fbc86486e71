import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { kubeconfigPaths } from '../../../client/kube/kubeconfigPaths';
import { listContexts, loadMergedKubeconfig, mergeKubeconfigs, parseKubeconfig } from '../../../client/kube/kubeconfigMerge';
import { credentialsFromRequestOptions, flattenKubeconfig, renderFlatKubeconfig } from '../../../client/kube/flattenKubeconfig';
import type { RawKubeconfig } from '../../../client/kube/kubeconfigTypes';

test('kubeconfig paths: setting > KUBECONFIG list > ~/.kube/config', () => {
  const home = '/home/u';
  assert.deepEqual(kubeconfigPaths({ home, env: {} }), ['/home/u/.kube/config']);
  assert.deepEqual(kubeconfigPaths({ home, env: { KUBECONFIG: '/a:/b::~/c:/a' }, delimiter: ':' }), ['/a', '/b', '/home/u/c']);
  assert.deepEqual(kubeconfigPaths({ home, env: { KUBECONFIG: '/a' }, explicit: '~/x.yaml', delimiter: ':' }), ['/home/u/x.yaml']);
  assert.deepEqual(kubeconfigPaths({ home, env: { KUBECONFIG: 'C:\\a;C:\\b' }, delimiter: ';' }), ['C:\\a', 'C:\\b']);
  assert.deepEqual(kubeconfigPaths({ home, env: { KUBECONFIG: '/a' }, explicit: '  ' }), ['/a']);
});

test('merge like kubectl: first file wins per name and for current-context', () => {
  const a: RawKubeconfig = {
    clusters: [{ name: 'c1', cluster: { server: 'https://a' } }],
    users: [{ name: 'u1', user: { token: 'A' } }],
    contexts: [{ name: 'x', context: { cluster: 'c1', user: 'u1' } }],
  };
  const b: RawKubeconfig = {
    'current-context': 'y',
    clusters: [{ name: 'c1', cluster: { server: 'https://b' } }, { name: 'c2', cluster: { server: 'https://c2' } }],
    users: [{ name: 'u1', user: { token: 'B' } }],
    contexts: [{ name: 'x', context: { cluster: 'c2', user: 'u1' } }, { name: 'y', context: { cluster: 'c2', user: 'u1', namespace: 'ns' } }],
  };
  const c: RawKubeconfig = { 'current-context': 'x' };
  const m = mergeKubeconfigs([a, b, c]);
  assert.equal(m['current-context'], 'y', 'the first file that sets current-context wins');
  assert.equal(m.clusters!.find((x) => x.name === 'c1')!.cluster.server, 'https://a');
  assert.equal(m.users!.find((x) => x.name === 'u1')!.user.token, 'A');
  assert.deepEqual(m.contexts!.map((x) => x.name), ['x', 'y']);
  assert.equal(m.contexts![0]!.context.cluster, 'c1');
  const contexts = listContexts(m);
  assert.deepEqual(contexts.map((x) => [x.name, x.server, x.current, x.namespace]), [['x', 'https://a', false, undefined], ['y', 'https://c2', true, 'ns']]);
});

test('loading resolves relative paths against each file and ignores missing files', () => {
  const files: Record<string, string> = {
    '/etc/k/one.yaml': 'clusters:\n- name: c\n  cluster: {server: "https://s", certificate-authority: ca.pem}\nusers:\n- name: u\n  user: {client-certificate: ../pki/u.crt, client-key: /abs/u.key, exec: {command: ./bin/plugin, apiVersion: client.authentication.k8s.io/v1}}\ncontexts:\n- name: ctx\n  context: {cluster: c, user: u}\n',
    '/home/two.yaml': 'users:\n- name: v\n  user: {exec: {command: gke-gcloud-auth-plugin}, tokenFile: tok}\n',
  };
  const read = (p: string) => { if (!(p in files)) throw Object.assign(new Error('nope'), { code: 'ENOENT' }); return files[p]!; };
  const m = loadMergedKubeconfig(['/etc/k/one.yaml', '/nowhere', '/home/two.yaml'], read);
  assert.deepEqual(m.files, ['/etc/k/one.yaml', '/home/two.yaml']);
  assert.deepEqual(m.missing, ['/nowhere']);
  assert.equal(m.config.clusters![0]!.cluster['certificate-authority'], '/etc/k/ca.pem');
  const u = m.config.users!.find((x) => x.name === 'u')!.user;
  assert.equal(u['client-certificate'], '/etc/pki/u.crt');
  assert.equal(u['client-key'], '/abs/u.key');
  assert.equal(u.exec!.command, '/etc/k/bin/plugin');
  const v = m.config.users!.find((x) => x.name === 'v')!.user;
  assert.equal(v.exec!.command, 'gke-gcloud-auth-plugin', 'a bare command is looked up in PATH');
  assert.equal(v.tokenFile, '/home/tok');
});

test('broken kubeconfigs are reported with the file name and what to do', () => {
  assert.throws(() => parseKubeconfig('clusters: [oops', '/k.yaml'), /\/k\.yaml is not a valid kubeconfig/);
  assert.throws(() => parseKubeconfig('clusters: {a: 1}', '/k.yaml'), /"clusters" must be a list/);
  assert.throws(() => parseKubeconfig('contexts: [{context: {}}]', '/k.yaml'), /needs a name/);
  assert.deepEqual(parseKubeconfig('', '/k.yaml'), {});
});

test('render: one context, data inlined, nothing that points at a file', () => {
  const text = renderFlatKubeconfig('lab', { server: 'https://10.0.0.1:6443', 'certificate-authority': '/x/ca.pem', 'tls-server-name': 'api' }, 'dev', {
    ca: Buffer.from('CA-PEM'), cert: Buffer.from('CERT'), key: Buffer.from('KEY'), token: 'tok',
  });
  const doc = parseYaml(text) as RawKubeconfig;
  assert.equal(doc['current-context'], 'lab');
  assert.deepEqual(doc.clusters, [{ name: 'lab', cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': Buffer.from('CA-PEM').toString('base64'), 'tls-server-name': 'api' } }]);
  assert.deepEqual(doc.users![0]!.user, { 'client-certificate-data': Buffer.from('CERT').toString('base64'), 'client-key-data': Buffer.from('KEY').toString('base64'), token: 'tok' });
  assert.deepEqual(doc.contexts, [{ name: 'lab', context: { cluster: 'lab', user: 'lab', namespace: 'dev' } }]);
  assert.throws(() => renderFlatKubeconfig('x', {}, 'd', {}), /no server URL/);
});

test('credentials are read from what the auth layer put into request options', () => {
  const creds = credentialsFromRequestOptions({ ca: Buffer.from('ca'), headers: { Authorization: 'Bearer abc.def' }, auth: 'bob:pa:ss' });
  assert.equal(creds.token, 'abc.def');
  assert.equal(creds.username, 'bob');
  assert.equal(creds.password, 'pa:ss');
  assert.equal(creds.ca!.toString(), 'ca');
});

test('flatten runs the exec plugin as the user and inlines files as data', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tpv-kc-'));
  try {
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'ca.pem'), 'FAKE-CA\n');
    writeFileSync(join(dir, 'client.crt'), 'FAKE-CERT\n');
    writeFileSync(join(dir, 'client.key'), 'FAKE-KEY\n');
    writeFileSync(join(dir, 'token.txt'), 'file-token\n');
    // The plugin records that it ran and hands out a token, like aws/gke plugins do.
    const plugin = join(dir, 'bin', 'plugin');
    writeFileSync(plugin, `#!/bin/sh\necho ran >> "${join(dir, 'plugin-ran')}"\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-token-'$PLUGIN_ARG'"}}'\n`);
    chmodSync(plugin, 0o755);
    writeFileSync(join(dir, 'config'), [
      'apiVersion: v1', 'kind: Config', 'current-context: certs',
      'clusters:', '- name: lab', '  cluster: {server: "https://127.0.0.1:6443", certificate-authority: ca.pem}',
      'users:',
      '- name: cert-user', '  user: {client-certificate: client.crt, client-key: client.key}',
      '- name: exec-user', '  user:', '    exec:', '      apiVersion: client.authentication.k8s.io/v1', '      command: ./bin/plugin', '      env: [{name: PLUGIN_ARG, value: "42"}]', '      interactiveMode: Never',
      '- name: file-user', '  user: {tokenFile: token.txt}',
      'contexts:',
      '- name: certs', '  context: {cluster: lab, user: cert-user, namespace: team}',
      '- name: exec', '  context: {cluster: lab, user: exec-user}',
      '- name: file', '  context: {cluster: lab, user: file-user}',
    ].join('\n'));
    const merged = loadMergedKubeconfig([join(dir, 'config')], (p) => readFileSync(p, 'utf8')).config;

    const certs = await flattenKubeconfig(merged, 'certs');
    assert.equal(certs.namespace, 'team');
    const certDoc = parseYaml(certs.text) as RawKubeconfig;
    assert.equal(Buffer.from(certDoc.clusters![0]!.cluster['certificate-authority-data']!, 'base64').toString(), 'FAKE-CA\n');
    assert.equal(Buffer.from(certDoc.users![0]!.user['client-key-data']!, 'base64').toString(), 'FAKE-KEY\n');
    assert.ok(!/\.pem|\.crt|\.key/.test(certs.text), 'no file paths remain');

    const exec = await flattenKubeconfig(merged, 'exec', 'chosen');
    const execDoc = parseYaml(exec.text) as RawKubeconfig;
    assert.equal(execDoc.users![0]!.user.token, 'exec-token-42');
    assert.equal(execDoc.users![0]!.user.exec, undefined, 'the daemon never sees the plugin');
    assert.equal(execDoc.contexts![0]!.context.namespace, 'chosen');
    assert.equal(readFileSync(join(dir, 'plugin-ran'), 'utf8').trim(), 'ran');

    const file = await flattenKubeconfig(merged, 'file');
    assert.equal((parseYaml(file.text) as RawKubeconfig).users![0]!.user.token, 'file-token');
    await assert.rejects(flattenKubeconfig(merged, 'nope'), /context "nope" does not exist; known contexts: certs, exec, file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
