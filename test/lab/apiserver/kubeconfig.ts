// The kubeconfig the lab hands out: context `lab` (admin client
// certificate, namespace default), `lab-token` (admin bearer token),
// `lab-limited` (the limited user, namespace team-a), `lab-viewer` (reads
// everywhere, writes only in team-a) and `lab-exec` (a user
// whose token comes from the exec credential plugin shipped here).
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { EXEC_PLUGIN_SOURCE } from './execCredentialPlugin';
import type { LabPki } from './pki';

const b64 = (s: string) => Buffer.from(s).toString('base64');

export function kubeconfigYaml(pki: LabPki, server: string, pluginPath: string): string {
  return stringify({
    apiVersion: 'v1', kind: 'Config', preferences: {}, 'current-context': 'lab',
    clusters: [{ name: 'lab', cluster: { server, 'certificate-authority-data': b64(pki.caPem) } }],
    users: [
      { name: 'admin', user: { 'client-certificate-data': b64(pki.adminCertPem), 'client-key-data': b64(pki.adminKeyPem) } },
      { name: 'admin-token', user: { token: pki.tokens.admin } },
      { name: 'limited', user: { token: pki.tokens.limited } },
      ...(pki.tokens.viewer ? [{ name: 'viewer', user: { token: pki.tokens.viewer } }] : []),
      {
        name: 'lab-exec',
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [pluginPath],
            env: [{ name: 'TPV_LAB_EXEC_TOKEN', value: pki.tokens.exec }], interactiveMode: 'Never', provideClusterInfo: false,
          },
        },
      },
    ],
    contexts: [
      { name: 'lab', context: { cluster: 'lab', user: 'admin', namespace: 'default' } },
      { name: 'lab-token', context: { cluster: 'lab', user: 'admin-token', namespace: 'default' } },
      { name: 'lab-limited', context: { cluster: 'lab', user: 'limited', namespace: 'team-a' } },
      ...(pki.tokens.viewer ? [{ name: 'lab-viewer', context: { cluster: 'lab', user: 'viewer', namespace: 'team-a' } }] : []),
      { name: 'lab-exec', context: { cluster: 'lab', user: 'lab-exec', namespace: 'default' } },
    ],
  });
}

/** Writes the kubeconfig and, next to the PKI, the exec plugin script it names. */
export function writeKubeconfig(path: string, pki: LabPki, pkiDir: string, server: string): void {
  const pluginPath = join(pkiDir, 'exec-credential-plugin.js');
  writeFileSync(pluginPath, EXEC_PLUGIN_SOURCE, { mode: 0o755 });
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, kubeconfigYaml(pki, server, pluginPath), { mode: 0o600 });
  chmodSync(path, 0o600);
}
