// The REST surface: routes an authenticated request to discovery, OpenAPI,
// or a verb on a resource (list/get/watch/create/update/patch/delete, the
// status and scale subresources, SelfSubjectAccessReview), answering with
// objects, Lists, Tables or Status objects like the real server.
import { PROTOBUF_CONTENT_TYPE, decodeProtobufBody } from './protobufBody';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiStatusError, badRequest, invalid } from './apiStatus';
import { authorize, isAllowed, type UserInfo } from './auth';
import { coreVersions, groupDocument, groupList, resourceList, versionInfo } from './discovery';
import type { KubeObject } from './objects';
import { openApiV3Group, openApiV3Index } from './openapi';
import { APPLY_PATCH, applyPatch, type Json } from './patches';
import type { Registry } from './registry';
import type { ResourceRequest } from './requestInfo';
import { apiVersionOf, findResource, type ResourceType } from './resources';
import { matchesFields, matchesRequirements, parseFieldSelector, parseLabelSelector } from './selectors';
import { toTable, wantsTable, type IncludeObject } from './tables';
import { serveWatch } from './watchStream';

const MAX_BODY = 8 * 1024 * 1024;

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) { reject(new ApiStatusError('BadRequest', `the request body is larger than ${MAX_BODY} bytes`)); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseBody(buf: Buffer, contentType: string): Json {
  if (buf.length === 0) return null;
  const text = buf.toString('utf8');
  try {
    if (contentType === PROTOBUF_CONTENT_TYPE) return decodeProtobufBody(buf) as Json;
    return (contentType.includes('yaml') ? parseYaml(text) : JSON.parse(text)) as Json;
  } catch (err) {
    throw badRequest(`the body of the request could not be decoded: ${(err as Error).message}`);
  }
}

export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': String(data.length), 'Cache-Control': 'no-cache, private' });
  res.end(data);
}

export interface RestContext {
  registry: Registry;
  serverAddress: string;
}

export async function handleNonResource(ctx: RestContext, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const p = path.replace(/\/+$/, '') || '/';
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new ApiStatusError('MethodNotAllowed', `the server does not allow this method on the requested resource`);
  if (p === '/version') return sendJson(res, 200, versionInfo());
  if (p === '/healthz' || p === '/livez' || p === '/readyz') { res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok'); return; }
  if (p === '/api') return sendJson(res, 200, coreVersions(ctx.serverAddress));
  if (p === '/apis') return sendJson(res, 200, groupList());
  if (p === '/openapi/v3') return sendJson(res, 200, openApiV3Index());
  const v3 = /^\/openapi\/v3\/(.+)$/.exec(p);
  if (v3) {
    const doc = openApiV3Group(v3[1]!);
    if (doc) return sendJson(res, 200, doc);
  }
  const parts = p.split('/').filter(Boolean);
  if (parts[0] === 'api' && parts.length === 2) {
    const list = resourceList('', parts[1]!);
    if (list) return sendJson(res, 200, list);
  }
  if (parts[0] === 'apis' && parts.length === 2) {
    const g = groupDocument(parts[1]!);
    if (g) return sendJson(res, 200, g);
  }
  if (parts[0] === 'apis' && parts.length === 3) {
    const list = resourceList(parts[1]!, parts[2]!);
    if (list) return sendJson(res, 200, list);
  }
  throw new ApiStatusError('NotFound', 'the server could not find the requested resource');
}

function listMatcher(r: ResourceType, query: URLSearchParams, name?: string): (o: KubeObject) => boolean {
  const labels = parseLabelSelector(query.get('labelSelector'));
  const fields = parseFieldSelector(query.get('fieldSelector'), r.kind);
  return (o) => (!name || o.metadata.name === name) && matchesRequirements(o.metadata.labels, labels) && matchesFields(o, fields);
}

function includeObject(query: URLSearchParams): IncludeObject {
  const v = query.get('includeObject');
  return v === 'Object' || v === 'None' ? v : 'Metadata';
}

function deleteOptions(query: URLSearchParams, body: Json): { gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string }; propagationPolicy?: 'Orphan' | 'Background' | 'Foreground'; dryRun?: boolean } {
  const b = (body && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
  const grace = query.get('gracePeriodSeconds') ?? b.gracePeriodSeconds;
  const policy = (query.get('propagationPolicy') ?? b.propagationPolicy ?? (b.orphanDependents === true ? 'Orphan' : undefined)) as 'Orphan' | 'Background' | 'Foreground' | undefined;
  return {
    ...(grace !== undefined && grace !== null ? { gracePeriodSeconds: Number(grace) } : {}),
    ...(b.preconditions ? { preconditions: b.preconditions as { uid?: string } } : {}),
    ...(policy ? { propagationPolicy: policy } : {}),
    dryRun: query.getAll('dryRun').includes('All') || (Array.isArray(b.dryRun) && b.dryRun.includes('All')),
  };
}

/** The Scale of a workload (autoscaling/v1), what `kubectl scale` reads and writes. */
function scaleOf(o: KubeObject): Record<string, unknown> {
  return {
    kind: 'Scale', apiVersion: 'autoscaling/v1',
    metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
    spec: { replicas: o.spec?.replicas ?? 1 },
    status: { replicas: o.status?.replicas ?? 0, selector: Object.entries(o.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') },
  };
}

function selfSubjectAccessReview(user: UserInfo, body: Json): Record<string, unknown> {
  const review = (body ?? {}) as { spec?: { resourceAttributes?: Record<string, string>; nonResourceAttributes?: { path?: string; verb?: string } } };
  const ra = review.spec?.resourceAttributes;
  let allowed: boolean;
  if (ra) {
    allowed = isAllowed(user, { verb: ra.verb ?? 'get', group: ra.group ?? '', resource: ra.resource ?? '', ...(ra.subresource ? { subresource: ra.subresource } : {}), ...(ra.namespace ? { namespace: ra.namespace } : {}), ...(ra.name ? { name: ra.name } : {}) });
  } else if (review.spec?.nonResourceAttributes) {
    allowed = true;
  } else {
    throw invalid('SelfSubjectAccessReview', 'authorization.k8s.io', '', [{ field: 'spec', message: 'exactly one of nonResourceAttributes or resourceAttributes must be specified' }]);
  }
  return {
    kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: null },
    spec: review.spec, status: { allowed, ...(allowed ? { reason: user.groups.includes('system:masters') ? 'the user is a member of system:masters' : `RBAC: allowed in namespace ${ra?.namespace ?? ''}` } : {}) },
  };
}

export async function handleResource(ctx: RestContext, user: UserInfo, info: ResourceRequest, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const r = findResource(info.group, info.version, info.resource);
  if (!r) throw new ApiStatusError('NotFound', 'the server could not find the requested resource');
  authorize(user, { verb: info.verb, group: info.group, resource: info.resource, ...(info.subresource ? { subresource: info.subresource } : {}), ...(info.namespace ? { namespace: info.namespace } : {}), ...(info.name ? { name: info.name } : {}) });
  const { registry } = ctx;
  const ns = r.namespaced ? info.namespace : undefined;
  const method = req.method ?? 'GET';
  const contentType = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim();
  const body = method === 'GET' || method === 'HEAD' ? null : parseBody(await readBody(req), contentType);
  const dryRun = query.getAll('dryRun').includes('All');
  const table = wantsTable(req.headers.accept);

  if (r.createOnly) {
    if (method !== 'POST') throw new ApiStatusError('MethodNotAllowed', `the server does not allow this method on the requested resource`);
    return sendJson(res, 201, selfSubjectAccessReview(user, body));
  }
  if (info.subresource && !r.subresources.includes(info.subresource)) throw new ApiStatusError('NotFound', 'the server could not find the requested resource');
  if (info.subresource === 'exec' || info.subresource === 'portforward' || info.subresource === 'attach') {
    throw badRequest('Upgrade request required');
  }
  if (info.subresource === 'log') {
    registry.get(r, ns, info.name!);
    throw badRequest('the lab kubelet does not keep container logs: use `kubectl exec` to look inside the pod');
  }

  if (info.subresource === 'scale') {
    if (method === 'GET') return sendJson(res, 200, scaleOf(registry.get(r, ns, info.name!)));
    if (method === 'PUT' || method === 'PATCH') {
      const current = registry.get(r, ns, info.name!);
      let replicas: unknown;
      if (method === 'PUT') replicas = (body as { spec?: { replicas?: number } } | null)?.spec?.replicas;
      else {
        replicas = (applyPatch(contentType, scaleOf(current) as Json, body as Json) as { spec?: { replicas?: number } }).spec?.replicas;
      }
      if (!Number.isInteger(replicas) || (replicas as number) < 0) throw invalid('Scale', 'autoscaling', info.name!, [{ field: 'spec.replicas', value: replicas, message: 'must be greater than or equal to 0' }]);
      const updated = registry.patch(r, ns, info.name!, 'application/merge-patch+json', { spec: { replicas: replicas as number } }, { dryRun });
      return sendJson(res, 200, scaleOf(updated));
    }
  }

  const opts = { dryRun, ...(info.subresource ? { subresource: info.subresource } : {}) };
  switch (method) {
    case 'GET': case 'HEAD': {
      if (info.verb === 'watch') {
        const transformTable = (o: KubeObject, first: boolean) => toTable(r.kind, [o], { includeObject: includeObject(query), noHeaders: !first });
        serveWatch(registry.store, res, {
          resource: r, ...(ns ? { namespace: ns } : {}), matches: listMatcher(r, query, info.name),
          ...(query.get('resourceVersion') !== null ? { resourceVersion: query.get('resourceVersion')! } : {}),
          ...(query.get('timeoutSeconds') ? { timeoutSeconds: Number(query.get('timeoutSeconds')) } : {}),
          transform: table ? transformTable : (o) => o,
        });
        return;
      }
      if (info.name) {
        const o = registry.get(r, ns, info.name);
        return sendJson(res, 200, table ? toTable(r.kind, [o], { includeObject: includeObject(query) }) : o);
      }
      const matches = listMatcher(r, query);
      const items = registry.list(r, ns).filter(matches);
      const rv = String(registry.store.resourceVersion);
      if (table) return sendJson(res, 200, toTable(r.kind, items, { resourceVersion: rv, includeObject: includeObject(query) }));
      return sendJson(res, 200, { kind: `${r.kind}List`, apiVersion: apiVersionOf(r), metadata: { resourceVersion: rv }, items });
    }
    case 'POST': {
      if (info.name) throw new ApiStatusError('MethodNotAllowed', 'the server does not allow this method on the requested resource');
      return sendJson(res, 201, registry.create(r, ns, body as unknown as KubeObject, opts));
    }
    case 'PUT': {
      if (!info.name) throw new ApiStatusError('MethodNotAllowed', 'the server does not allow this method on the requested resource');
      return sendJson(res, 200, registry.update(r, ns, info.name, body as unknown as KubeObject, opts));
    }
    case 'PATCH': {
      if (!info.name) throw new ApiStatusError('MethodNotAllowed', 'the server does not allow this method on the requested resource');
      if (contentType === APPLY_PATCH) {
        // Server-side apply, simplified: create if missing, otherwise merge the applied fields.
        const existing = registry.find(r, ns, info.name);
        if (!existing) return sendJson(res, 201, registry.create(r, ns, { ...(body as unknown as KubeObject), metadata: { ...(body as unknown as KubeObject).metadata, name: info.name } }, opts));
        return sendJson(res, 200, registry.patch(r, ns, info.name, 'application/strategic-merge-patch+json', body as Json, opts));
      }
      return sendJson(res, 200, registry.patch(r, ns, info.name, contentType, body as Json, opts));
    }
    case 'DELETE': {
      const d = deleteOptions(query, body);
      if (!info.name) {
        const matches = listMatcher(r, query);
        const items = registry.list(r, ns).filter(matches);
        for (const o of items) registry.delete(r, o.metadata.namespace, o.metadata.name, d);
        return sendJson(res, 200, { kind: `${r.kind}List`, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(registry.store.resourceVersion) }, items });
      }
      const deleted = registry.delete(r, ns, info.name, d);
      // The real server answers a delete with the object (with deletionTimestamp while it terminates).
      return sendJson(res, 200, deleted);
    }
    default:
      throw new ApiStatusError('MethodNotAllowed', `the server does not allow this method on the requested resource`);
  }
}
