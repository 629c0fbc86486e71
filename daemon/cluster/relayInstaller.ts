// Puts the relay into the cluster (or reuses it) and waits for a ready pod.
// Errors name the namespace, the object and what the user can do.
import { randomBytes } from 'node:crypto';
import type { AppsV1Api, CoreV1Api, V1Pod } from '@kubernetes/client-node';
import type { ScopedLogger } from '../log/logger';
import { errorCode, errorSummary } from './serviceCidr';
import {
  RELAY_NAME, RELAY_SELECTOR, VERSION_ANNOTATION, needsUpgrade,
  relayConfigMap, relayDeployment, relaySecret, type RelaySpec,
} from './relayManifests';

export interface InstalledRelay {
  namespace: string;
  pod: string;
  version: string;
  secret: string;
}

export type RelayParams = Omit<RelaySpec, 'secret'>;

function explain(e: unknown, what: string, namespace: string): Error {
  const code = errorCode(e);
  if (code === 403) {
    return new Error(`no permission to ${what} in namespace "${namespace}": ${errorSummary(e)}. Ask a cluster admin for create/update rights on deployments, configmaps and secrets there, or connect with a namespace where you have them.`);
  }
  if (code === undefined) {
    return new Error(`cannot reach the cluster's API server to ${what}: ${errorSummary(e)}. Check the network path to the API server (VPN) and that the kubeconfig's server address is right.`);
  }
  return new Error(`failed to ${what} in namespace "${namespace}": ${errorSummary(e)}`);
}

async function readSecret(core: CoreV1Api, namespace: string): Promise<string | undefined> {
  try {
    const s = await core.readNamespacedSecret({ name: RELAY_NAME, namespace });
    const b64 = s.data?.secret;
    return b64 ? Buffer.from(b64, 'base64').toString('utf8') : undefined;
  } catch (e) {
    if (errorCode(e) === 404) return undefined;
    throw explain(e, 'read the relay secret', namespace);
  }
}

export async function ensureRelay(core: CoreV1Api, apps: AppsV1Api, params: RelayParams, log: ScopedLogger, timeoutMs: number, signal?: AbortSignal): Promise<InstalledRelay> {
  const { namespace } = params;
  let installed: string | undefined;
  try {
    const d = await apps.readNamespacedDeployment({ name: RELAY_NAME, namespace });
    installed = d.metadata?.annotations?.[VERSION_ANNOTATION];
  } catch (e) {
    if (errorCode(e) !== 404) throw explain(e, 'look up the relay', namespace);
  }
  let secret = await readSecret(core, namespace);
  const upgrade = installed !== undefined && needsUpgrade(installed, params.version);
  if (installed === undefined || upgrade || secret === undefined) {
    // A fresh secret with every install or upgrade: old clients lose access.
    secret = randomBytes(32).toString('base64url');
    const spec: RelaySpec = { ...params, secret };
    log.info(installed === undefined ? `installing relay ${params.version} in ${namespace}`
      : upgrade ? `upgrading relay ${installed} → ${params.version} in ${namespace}`
      : `re-creating the relay's secret in ${namespace} (it was missing)`);
    await upsert(() => core.createNamespacedConfigMap({ namespace, body: relayConfigMap(spec) }), () => core.replaceNamespacedConfigMap({ name: RELAY_NAME, namespace, body: relayConfigMap(spec) }), 'create the relay ConfigMap', namespace);
    await upsert(() => core.createNamespacedSecret({ namespace, body: relaySecret(spec) }), () => core.replaceNamespacedSecret({ name: RELAY_NAME, namespace, body: relaySecret(spec) }), 'create the relay Secret', namespace);
    await upsert(() => apps.createNamespacedDeployment({ namespace, body: relayDeployment(spec) }), () => apps.replaceNamespacedDeployment({ name: RELAY_NAME, namespace, body: relayDeployment(spec) }), 'create the relay Deployment', namespace);
  } else {
    log.debug(`reusing relay ${installed} in ${namespace}`);
  }
  const pod = await waitForReadyRelayPod(core, namespace, params.version, timeoutMs, signal);
  return { namespace, pod, version: params.version, secret };
}

async function upsert(create: () => Promise<unknown>, replace: () => Promise<unknown>, what: string, namespace: string): Promise<void> {
  try {
    await create();
  } catch (e) {
    if (errorCode(e) !== 409) throw explain(e, what, namespace);
    try {
      await replace();
    } catch (e2) {
      throw explain(e2, what.replace('create', 'update'), namespace);
    }
  }
}

function isReady(p: V1Pod): boolean {
  return !p.metadata?.deletionTimestamp && p.status?.phase === 'Running' && !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Why a relay pod is not ready, in words (image pull, crash loop, pending). */
export function podProblem(p: V1Pod): string | undefined {
  for (const cs of p.status?.containerStatuses ?? []) {
    const w = cs.state?.waiting;
    if (w?.reason && w.reason !== 'ContainerCreating') return `${w.reason}${w.message ? `: ${w.message}` : ''}`;
    const t = cs.lastState?.terminated;
    if (t && cs.restartCount > 0) return `restarted ${cs.restartCount} times, last exit ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}`;
  }
  const sched = p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (sched) return `not scheduled: ${sched.message ?? sched.reason ?? 'unknown reason'}`;
  return undefined;
}

export async function waitForReadyRelayPod(core: CoreV1Api, namespace: string, version: string, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no relay pod exists yet';
  while (Date.now() < deadline) {
    if (signal?.aborted) throw new Error('connect cancelled while waiting for the relay');
    let pods: V1Pod[];
    try {
      pods = (await core.listNamespacedPod({ namespace, labelSelector: RELAY_SELECTOR })).items;
    } catch (e) {
      throw explain(e, 'list relay pods', namespace);
    }
    const current = pods.filter((p) => p.metadata?.annotations?.[VERSION_ANNOTATION] === version);
    if (current.length === 0 && pods.length > 0) last = `${pods.length} relay pod(s) exist, but none of version ${version} yet`;
    const ready = current.find(isReady);
    if (ready?.metadata?.name) return ready.metadata.name;
    const withProblem = current.map((p) => [p.metadata?.name, podProblem(p)] as const).find(([, why]) => why);
    if (withProblem) last = `pod ${withProblem[0]}: ${withProblem[1]}`;
    else if (current.length > 0) last = `pod ${current[0]!.metadata?.name} is ${current[0]!.status?.phase ?? 'Pending'} and not ready`;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the relay in namespace "${namespace}" did not become ready within ${Math.round(timeoutMs / 1000)}s (${last}). Check \`kubectl -n ${namespace} describe deploy/${RELAY_NAME}\`.`);
}

export async function uninstallRelay(core: CoreV1Api, apps: AppsV1Api, namespace: string): Promise<string[]> {
  const removed: string[] = [];
  const del = async (what: string, fn: () => Promise<unknown>) => {
    try { await fn(); removed.push(`${what} ${namespace}/${RELAY_NAME}`); } catch (e) {
      if (errorCode(e) !== 404) throw explain(e, `delete the relay ${what}`, namespace);
    }
  };
  await del('deployment', () => apps.deleteNamespacedDeployment({ name: RELAY_NAME, namespace, propagationPolicy: 'Foreground' }));
  await del('configmap', () => core.deleteNamespacedConfigMap({ name: RELAY_NAME, namespace }));
  await del('secret', () => core.deleteNamespacedSecret({ name: RELAY_NAME, namespace }));
  return removed;
}
