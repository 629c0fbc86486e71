// Who is calling (client certificate or bearer token) and what they may do.
// Admin users (group system:masters) may do anything; the `limited` user
// only works inside namespace team-a; the `viewer` user works inside team-a
// and may only read (get, list, watch) everywhere else, so it can connect
// but not change other namespaces' workloads; everyone authenticated may read
// discovery and ask SelfSubjectAccessReviews. Messages match the real RBAC
// authorizer's, which clients show verbatim.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { ApiStatusError, qualified } from './apiStatus';
import type { LabTokens } from './pki';

export interface UserInfo { username: string; groups: string[] }

export const LIMITED_USER = 'limited';
export const LIMITED_NAMESPACE = 'team-a';
export const EXEC_USER = 'lab-exec';
export const VIEWER_USER = 'viewer';
const READ_VERBS = new Set(['get', 'list', 'watch']);

export function authenticate(req: IncomingMessage, tokens: LabTokens): UserInfo {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) {
    const token = auth.slice(7).trim();
    if (token === tokens.admin) return { username: 'admin', groups: ['system:masters', 'system:authenticated'] };
    if (token === tokens.limited) return { username: LIMITED_USER, groups: ['system:authenticated'] };
    if (token === tokens.exec) return { username: EXEC_USER, groups: ['system:masters', 'system:authenticated'] };
    if (tokens.viewer && token === tokens.viewer) return { username: VIEWER_USER, groups: ['system:authenticated'] };
    throw new ApiStatusError('Unauthorized', 'Unauthorized');
  }
  const socket = req.socket as TLSSocket;
  if (socket.authorized) {
    const cert = socket.getPeerCertificate();
    const o = cert.subject?.O;
    const groups = Array.isArray(o) ? o : o ? [o] : [];
    const cn = cert.subject?.CN;
    if (cn) return { username: Array.isArray(cn) ? cn[0]! : cn, groups: [...groups, 'system:authenticated'] };
  }
  throw new ApiStatusError('Unauthorized', 'Unauthorized');
}

export interface ResourceAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export function isAllowed(user: UserInfo, a: ResourceAttributes): boolean {
  if (user.groups.includes('system:masters')) return true;
  if (a.group === 'authorization.k8s.io' && a.resource.startsWith('selfsubject')) return true;
  if (user.username === LIMITED_USER) return a.namespace === LIMITED_NAMESPACE;
  if (user.username === VIEWER_USER) return a.namespace === LIMITED_NAMESPACE || (READ_VERBS.has(a.verb) && !a.subresource);
  return false;
}

export function forbiddenMessage(user: UserInfo, a: ResourceAttributes): string {
  const what = a.name ? `${qualified(a.resource, a.group)} "${a.name}"` : qualified(a.resource, a.group);
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return `${what} is forbidden: User "${user.username}" cannot ${a.verb} resource "${resource}" in API group "${a.group}" ${scope}`;
}

export function authorize(user: UserInfo, a: ResourceAttributes): void {
  if (!isAllowed(user, a)) {
    throw new ApiStatusError('Forbidden', forbiddenMessage(user, a), { ...(a.name ? { name: a.name } : {}), group: a.group, kind: a.resource });
  }
}
