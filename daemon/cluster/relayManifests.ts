// The relay's Kubernetes objects, as plain data. The relay is a stock `node`
// image running one script from a ConfigMap, so nothing of ours has to be
// pulled from a registry; upgrades are a new ConfigMap plus a rollout.
import type { V1ConfigMap, V1Deployment, V1Secret } from '@kubernetes/client-node';

export const RELAY_NAME = 'tpv-relay';
export const MANAGED_BY = 'telepresence-vscode';
export const VERSION_ANNOTATION = 'telepresence-vscode.dev/relay-version';
export const RELAY_LABELS = { 'app.kubernetes.io/name': RELAY_NAME, 'app.kubernetes.io/managed-by': MANAGED_BY } as const;
export const RELAY_SELECTOR = `app.kubernetes.io/name=${RELAY_NAME},app.kubernetes.io/managed-by=${MANAGED_BY}`;
export const DEFAULT_RELAY_IMAGE = 'node:20-alpine';

export interface RelaySpec {
  namespace: string;
  image: string;
  version: string;
  script: string;
  secret: string;
  tunnelPort: number;
  healthPort: number;
  secretEnv: string;
  portEnv: string;
  healthPortEnv: string;
}

const SCRIPT_DIR = '/opt/tpv-relay';

export function relayConfigMap(s: RelaySpec): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: RELAY_NAME, namespace: s.namespace, labels: { ...RELAY_LABELS }, annotations: { [VERSION_ANNOTATION]: s.version } },
    data: { 'relay.js': s.script },
  };
}

export function relaySecret(s: RelaySpec): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: RELAY_NAME, namespace: s.namespace, labels: { ...RELAY_LABELS } },
    stringData: { secret: s.secret },
  };
}

export function relayDeployment(s: RelaySpec): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: RELAY_NAME, namespace: s.namespace, labels: { ...RELAY_LABELS }, annotations: { [VERSION_ANNOTATION]: s.version } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { ...RELAY_LABELS } },
      template: {
        metadata: { labels: { ...RELAY_LABELS }, annotations: { [VERSION_ANNOTATION]: s.version } },
        spec: {
          automountServiceAccountToken: false,
          containers: [{
            name: 'relay',
            image: s.image,
            command: ['node', `${SCRIPT_DIR}/relay.js`],
            ports: [{ name: 'tunnel', containerPort: s.tunnelPort }, { name: 'health', containerPort: s.healthPort }],
            env: [
              { name: s.portEnv, value: String(s.tunnelPort) },
              { name: s.healthPortEnv, value: String(s.healthPort) },
              { name: s.secretEnv, valueFrom: { secretKeyRef: { name: RELAY_NAME, key: 'secret' } } },
            ],
            readinessProbe: { httpGet: { path: '/healthz', port: s.healthPort }, periodSeconds: 2 },
            volumeMounts: [{ name: 'script', mountPath: SCRIPT_DIR, readOnly: true }],
            resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '512Mi' } },
            securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, runAsUser: 1000 },
          }],
          volumes: [{ name: 'script', configMap: { name: RELAY_NAME } }],
        },
      },
    },
  };
}

/** Whether an installed relay must be replaced: any version other than ours. */
export function needsUpgrade(installedVersion: string | undefined, ours: string): boolean {
  return installedVersion !== ours;
}
