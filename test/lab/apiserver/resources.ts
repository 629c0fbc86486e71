// The resource types the emulation serves: what discovery advertises, how
// URLs map to storage, and which kinds are namespaced. One table, so
// discovery, routing, tables and kubectl's shortNames never disagree.

export interface ResourceType {
  /** Lower-case plural used in URLs (`pods`). */
  plural: string;
  singular: string;
  kind: string;
  /** '' for the core group. */
  group: string;
  version: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  subresources: string[];
  /** Served only as a virtual create (SelfSubjectAccessReview): no storage, no list. */
  createOnly?: boolean;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function verbsOf(r: ResourceType): string[] {
  return r.createOnly ? ['create'] : ALL_VERBS;
}

function core(plural: string, kind: string, namespaced: boolean, shortNames: string[], all: boolean, subresources: string[] = []): ResourceType {
  return { plural, singular: kind.toLowerCase(), kind, group: '', version: 'v1', namespaced, shortNames, categories: all ? ['all'] : [], subresources };
}

export const RESOURCE_TYPES: ResourceType[] = [
  core('namespaces', 'Namespace', false, ['ns'], false, ['status']),
  core('nodes', 'Node', false, ['no'], false, ['status']),
  core('pods', 'Pod', true, ['po'], true, ['status', 'exec', 'portforward', 'log']),
  core('services', 'Service', true, ['svc'], true, ['status']),
  core('endpoints', 'Endpoints', true, ['ep'], false),
  core('configmaps', 'ConfigMap', true, ['cm'], false),
  core('secrets', 'Secret', true, [], false),
  core('serviceaccounts', 'ServiceAccount', true, ['sa'], false),
  core('events', 'Event', true, ['ev'], false),
  { plural: 'deployments', singular: 'deployment', kind: 'Deployment', group: 'apps', version: 'v1', namespaced: true, shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'] },
  { plural: 'replicasets', singular: 'replicaset', kind: 'ReplicaSet', group: 'apps', version: 'v1', namespaced: true, shortNames: ['rs'], categories: ['all'], subresources: ['status', 'scale'] },
  { plural: 'statefulsets', singular: 'statefulset', kind: 'StatefulSet', group: 'apps', version: 'v1', namespaced: true, shortNames: ['sts'], categories: ['all'], subresources: ['status', 'scale'] },
  { plural: 'endpointslices', singular: 'endpointslice', kind: 'EndpointSlice', group: 'discovery.k8s.io', version: 'v1', namespaced: true, shortNames: [], categories: [], subresources: [] },
  { plural: 'selfsubjectaccessreviews', singular: 'selfsubjectaccessreview', kind: 'SelfSubjectAccessReview', group: 'authorization.k8s.io', version: 'v1', namespaced: false, shortNames: [], categories: [], subresources: [], createOnly: true },
];

export function apiVersionOf(r: ResourceType): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

export function findResource(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

export function resourceByKind(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

/** Groups in discovery order (core first). */
export function apiGroups(): Array<{ group: string; version: string }> {
  const seen = new Map<string, string>();
  for (const r of RESOURCE_TYPES) if (r.group && !seen.has(r.group)) seen.set(r.group, r.version);
  return [...seen].map(([group, version]) => ({ group, version }));
}
