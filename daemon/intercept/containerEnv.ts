// A workload container's real runtime environment, as its process sees it:
// the API server resolves nothing of `valueFrom`/`envFrom`/service links for
// us, so ask the container itself (`env -0` over exec), like `kubectl exec`.
import { PassThrough } from 'node:stream';
import { Exec, type AppsV1Api, type CoreV1Api, type KubeConfig, type V1LabelSelector, type V1Pod, type V1PodSpec } from '@kubernetes/client-node';
import { errorCode, errorSummary } from '../cluster/serviceCidr';
import { AGENT_CONTAINER } from './agentInjection';

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'ReplicaSet';

export interface Workload {
  kind: WorkloadKind;
  name: string;
  namespace: string;
  selector: V1LabelSelector;
  template: V1PodSpec;
}

/** `KEY=VALUE` records separated by NUL (`env -0`) or, failing that, newlines. */
export function parseEnvOutput(out: string, nulSeparated: boolean): Record<string, string> {
  const env: Record<string, string> = {};
  for (const record of out.split(nulSeparated ? '\0' : '\n')) {
    const eq = record.indexOf('=');
    if (eq <= 0) continue;
    env[record.slice(0, eq)] = record.slice(eq + 1);
  }
  return env;
}

export function labelSelectorText(sel: V1LabelSelector): string {
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

export async function findWorkload(apps: AppsV1Api, namespace: string, name: string): Promise<Workload> {
  const attempts: Array<[WorkloadKind, () => Promise<{ spec?: { selector: V1LabelSelector; template?: { spec?: V1PodSpec } } }>]> = [
    ['Deployment', () => apps.readNamespacedDeployment({ name, namespace })],
    ['StatefulSet', () => apps.readNamespacedStatefulSet({ name, namespace })],
    ['ReplicaSet', () => apps.readNamespacedReplicaSet({ name, namespace })],
  ];
  for (const [kind, read] of attempts) {
    try {
      const o = await read();
      if (o.spec?.template?.spec) return { kind, name, namespace, selector: o.spec.selector, template: o.spec.template.spec };
    } catch (e) {
      if (errorCode(e) === 404) continue;
      if (errorCode(e) === 403) throw new Error(`no permission to read ${kind.toLowerCase()}s in namespace "${namespace}": ${errorSummary(e)}`);
      throw new Error(`cannot read workload ${namespace}/${name}: ${errorSummary(e)}`);
    }
  }
  throw new Error(`no Deployment, StatefulSet or ReplicaSet named "${name}" in namespace "${namespace}"; list them with \`kubectl -n ${namespace} get deploy,sts,rs\``);
}

function isReady(p: V1Pod): boolean {
  return !p.metadata?.deletionTimestamp && p.status?.phase === 'Running' && !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}

export async function readyPod(core: CoreV1Api, w: Workload): Promise<V1Pod> {
  const pods = (await core.listNamespacedPod({ namespace: w.namespace, labelSelector: labelSelectorText(w.selector) })).items;
  const pod = pods.find(isReady);
  if (!pod) throw new Error(`${w.kind} ${w.namespace}/${w.name} has no ready pod (${pods.length} pod(s) found); check \`kubectl -n ${w.namespace} get pods -l ${labelSelectorText(w.selector)}\``);
  return pod;
}

export function chooseContainer(spec: V1PodSpec, wanted: string | undefined, workload: string): string {
  const names = spec.containers.map((c) => c.name).filter((n) => n !== AGENT_CONTAINER);
  if (wanted) {
    if (!names.includes(wanted)) throw new Error(`workload ${workload} has no container "${wanted}"; its containers are: ${names.join(', ')}`);
    return wanted;
  }
  if (names.length === 0) throw new Error(`workload ${workload} has no containers`);
  return names[0]!;
}

/** Runs a command in a container and collects stdout; rejects with stderr on failure. */
export function execCollect(kc: KubeConfig, namespace: string, pod: string, container: string, command: string[], timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const out = new PassThrough();
    const err = new PassThrough();
    const chunks: Buffer[] = [];
    const errChunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    err.on('data', (c: Buffer) => errChunks.push(c));
    const timer = setTimeout(() => reject(new Error(`exec in ${namespace}/${pod} (${container}) took longer than ${timeoutMs / 1000}s`)), timeoutMs);
    new Exec(kc).exec(namespace, pod, container, command, out, err, null, false, (status) => {
      clearTimeout(timer);
      // The status arrives before the last stdout frames are flushed into the stream.
      setImmediate(() => {
        if (status.status === 'Success') resolve(Buffer.concat(chunks).toString('utf8'));
        else reject(new Error(`${command.join(' ')} in ${namespace}/${pod} (${container}) failed: ${status.message ?? ''} ${Buffer.concat(errChunks).toString('utf8')}`.trim()));
      });
    }).catch((e: unknown) => {
      clearTimeout(timer);
      reject(new Error(`cannot exec in ${namespace}/${pod}: ${errorSummary(e)}. Exec permission (pods/exec) is needed to read the container's environment.`));
    });
  });
}

export async function containerEnvironment(kc: KubeConfig, namespace: string, pod: string, container: string): Promise<Record<string, string>> {
  try {
    return parseEnvOutput(await execCollect(kc, namespace, pod, container, ['env', '-0']), true);
  } catch (e) {
    // Minimal images may have an `env` without -0.
    if (/permission|cannot exec/.test((e as Error).message)) throw e;
    return parseEnvOutput(await execCollect(kc, namespace, pod, container, ['env']), false);
  }
}
