// Just enough OpenAPI for kubectl: the v3 index and, per group version, the
// PATCH operations tagged with their group/version/kind and the
// `fieldValidation` query parameter, so `kubectl apply`/`create` rely on
// server-side validation instead of downloading schemas. No v2 document
// (kubectl then builds strategic merge patches from its compiled-in types).
import { createHash } from 'node:crypto';
import { RESOURCE_TYPES, type ResourceType } from './resources';

function gvPath(r: ResourceType): string {
  return r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`;
}

function groupDoc(path: string): Record<string, unknown> | undefined {
  const types = RESOURCE_TYPES.filter((r) => gvPath(r) === path && !r.createOnly);
  if (types.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  const params = ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map((name) => ({ name, in: 'query', schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true } }));
  for (const r of types) {
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    const base = `/${path}/${r.namespaced ? 'namespaces/{namespace}/' : ''}${r.plural}/{name}`;
    const op = (verb: string) => ({
      operationId: `${verb}${r.kind}`,
      'x-kubernetes-action': verb, 'x-kubernetes-group-version-kind': gvk,
      parameters: params,
      ...(verb === 'patch' ? { requestBody: { content: { 'application/apply-patch+yaml': {}, 'application/json-patch+json': {}, 'application/merge-patch+json': {}, 'application/strategic-merge-patch+json': {} } } } : {}),
      responses: { '200': { description: 'OK' } },
    });
    paths[base] = { get: op('get'), put: op('put'), patch: op('patch'), delete: op('delete') };
    paths[`/${path}/${r.namespaced ? 'namespaces/{namespace}/' : ''}${r.plural}`] = { get: op('list'), post: op('post') };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: { schemas: {} } };
}

export function openApiV3Index(): Record<string, unknown> {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const r of RESOURCE_TYPES) {
    const p = gvPath(r);
    if (paths[p]) continue;
    const hash = createHash('sha256').update(JSON.stringify(groupDoc(p) ?? {})).digest('hex').slice(0, 32).toUpperCase();
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash}` };
  }
  return { paths };
}

export function openApiV3Group(path: string): Record<string, unknown> | undefined {
  return groupDoc(path);
}

