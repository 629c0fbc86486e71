// Before an intercept changes anything, the daemon asks the API server
// (SelfSubjectAccessReview, what `kubectl auth can-i` does) whether the user
// may do every step, so a missing right is one clear error that lists them
// all, instead of a half-made intercept to roll back.
import type { KubeJson } from '../cluster/kubeJson';
import { qualifiedResource, type KindInfo } from './workloadKinds';

export interface Permission {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  /** Why the intercept needs it, for the error. */
  why: string;
}

/** What an intercept of a workload of kind `k` does in its namespace. */
export function interceptPermissions(k: KindInfo, redirectsService: boolean): Permission[] {
  const perms: Permission[] = [
    { verb: 'patch', group: k.group, resource: k.resource, why: `to add the traffic agent to the ${k.kind}'s pod template (and remove it on leave)` },
    { verb: 'create', group: '', resource: 'configmaps', why: 'for the agent\'s script' },
    { verb: 'delete', group: '', resource: 'configmaps', why: 'to remove the agent\'s script on leave' },
    { verb: 'get', group: '', resource: 'secrets', why: 'to reuse the agents\' session secret' },
    { verb: 'create', group: '', resource: 'secrets', why: 'for the agents\' session secret' },
    { verb: 'delete', group: '', resource: 'secrets', why: 'to remove the session secret on leave' },
    { verb: 'list', group: '', resource: 'pods', why: 'to find the pods that run the agent' },
    { verb: 'create', group: '', resource: 'pods', subresource: 'portforward', why: 'for the tunnel to each agent' },
    { verb: 'create', group: '', resource: 'pods', subresource: 'exec', why: 'to read the container\'s environment' },
  ];
  if (redirectsService) perms.push({ verb: 'patch', group: '', resource: 'services', why: 'to point the service\'s numeric target port at the agent' });
  return perms;
}

export function permissionText(p: Permission): string {
  return `${p.verb} ${qualifiedResource(p.group, p.resource)}${p.subresource ? `/${p.subresource}` : ''}`;
}

/** The error for rights the user lacks: which verb on which resource, and why each is needed. */
export function missingPermissionsError(missing: Permission[], namespace: string, what: string): Error {
  const lines = missing.map((p) => `  - ${permissionText(p)} (${p.why})`).join('\n');
  return new Error(`no permission to intercept ${what}: in namespace "${namespace}" you may not\n${lines}\n` +
    `Ask a cluster admin to grant you these rights there (a Role and RoleBinding), or intercept a workload in a namespace where you have them. Nothing was changed.`);
}

/**
 * The permissions the user lacks, or undefined when the server cannot answer
 * (reviews disabled or forbidden): the caller then relies on each call's own 403.
 */
export async function missingPermissions(api: KubeJson, namespace: string, perms: Permission[]): Promise<Permission[] | undefined> {
  try {
    const answers = await Promise.all(perms.map((p) => api.request<{ status?: { allowed?: boolean } }>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { namespace, verb: p.verb, group: p.group, resource: p.resource, ...(p.subresource ? { subresource: p.subresource } : {}) } },
    })));
    return perms.filter((_, i) => answers[i]?.status?.allowed !== true);
  } catch {
    return undefined;
  }
}
