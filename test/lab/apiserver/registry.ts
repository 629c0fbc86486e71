// The verbs on stored objects with the real server's semantics: generated
// names, uids, generation, optimistic concurrency (409 on a stale
// resourceVersion), status subresources, dry runs that never persist, and
// graceful pod deletion (deletionTimestamp until the kubelet confirms).
import { randomUUID } from 'node:crypto';
import { alreadyExists, ApiStatusError, badRequest, conflict, invalid, notFound } from './apiStatus';
import { ClusterIpAllocator } from './clusterIpAllocator';
import { ObjectStore } from './objectStore';
import { canonicalJson, deepCopy, randomSuffix, type KubeObject, type NewObject } from './objects';
import { applyPatch, type Json } from './patches';
import { apiVersionOf, findResource, type ResourceType } from './resources';
import { prepareForStorage, tracksGeneration, type StrategyContext } from './strategies';

export interface WriteOptions { dryRun?: boolean; subresource?: string }

export interface DeleteOptions {
  dryRun?: boolean;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
}

const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export class Registry {
  readonly store = new ObjectStore();
  private readonly strategy: StrategyContext;

  constructor(serviceCidr: string) {
    const allocator = new ClusterIpAllocator(serviceCidr);
    const services = this.type('', 'services');
    this.strategy = {
      allocator,
      takenClusterIps: () => new Set(this.store.list(services).map((s) => s.spec?.clusterIP as string).filter((ip) => ip && ip !== 'None')),
      takenNodePorts: () => new Set(this.store.list(services).flatMap((s) => ((s.spec?.ports ?? []) as Array<{ nodePort?: number }>).map((p) => p.nodePort ?? 0))),
    };
  }

  /** A resource type by group and plural (the emulation's own lookups; they exist by construction). */
  type(group: string, plural: string): ResourceType {
    const version = group === '' ? 'v1' : 'v1';
    const r = findResource(group, version, plural);
    if (!r) throw new Error(`no resource ${plural} in group "${group}"`);
    return r;
  }

  get(r: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const o = this.store.get(r, namespace, name);
    if (!o) throw notFound(r.plural, r.group, name);
    return o;
  }

  find(r: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.store.get(r, namespace, name);
  }

  list(r: ResourceType, namespace?: string): KubeObject[] {
    return this.store.list(r, namespace);
  }

  private checkNamespace(r: ResourceType, namespace: string | undefined): void {
    if (!r.namespaced) return;
    const ns = this.store.get(this.type('', 'namespaces'), undefined, namespace ?? '');
    if (!ns) throw notFound('namespaces', '', namespace ?? '');
    if (ns.metadata.deletionTimestamp) {
      throw new ApiStatusError('Forbidden', `unable to create new content in namespace ${namespace} because it is being terminated`);
    }
  }

  create(r: ResourceType, namespace: string | undefined, body: NewObject, opts: WriteOptions = {}): KubeObject {
    if (!body || typeof body !== 'object') throw badRequest('the body of the request is not a JSON object');
    const o = deepCopy(body) as KubeObject;
    o.metadata = { ...(o.metadata ?? {}) };
    if (o.kind && o.kind !== r.kind) throw badRequest(`the API version in the data (${o.apiVersion}) and kind (${o.kind}) do not match the resource ${r.plural}`);
    o.kind = r.kind;
    o.apiVersion = apiVersionOf(r);
    if (r.namespaced) {
      if (o.metadata.namespace && namespace && o.metadata.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      o.metadata.namespace = namespace ?? o.metadata.namespace ?? 'default';
    } else {
      delete o.metadata.namespace;
    }
    if (!o.metadata.name && o.metadata.generateName) o.metadata.name = `${o.metadata.generateName}${randomSuffix()}`;
    if (!o.metadata.name) throw invalid(r.kind, r.group, '', [{ field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
    if (!NAME_RE.test(o.metadata.name) || o.metadata.name.length > 253) {
      throw invalid(r.kind, r.group, o.metadata.name, [{ field: 'metadata.name', value: o.metadata.name, message: "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character" }]);
    }
    this.checkNamespace(r, o.metadata.namespace);
    if (this.store.get(r, o.metadata.namespace, o.metadata.name)) throw alreadyExists(r.plural, r.group, o.metadata.name);
    o.metadata.uid = randomUUID();
    o.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    o.metadata.resourceVersion = '';
    delete o.metadata.deletionTimestamp;
    if (tracksGeneration(r.kind)) o.metadata.generation = 1;
    prepareForStorage(o, this.strategy);
    if (opts.dryRun) return { ...o, metadata: { ...o.metadata, resourceVersion: '' } };
    return this.store.put(r, o);
  }

  /** PUT: the whole object (or its status when `subresource` is `status`). */
  update(r: ResourceType, namespace: string | undefined, name: string, body: KubeObject, opts: WriteOptions = {}): KubeObject {
    const old = this.get(r, namespace, name);
    if (!body || typeof body !== 'object' || !body.metadata) throw badRequest('the body of the request is not an object with metadata');
    if (body.metadata.name && body.metadata.name !== name) throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    if (body.metadata.resourceVersion && body.metadata.resourceVersion !== old.metadata.resourceVersion) throw conflict(r.plural, r.group, name);
    return this.replace(r, old, body, opts);
  }

  patch(r: ResourceType, namespace: string | undefined, name: string, contentType: string, patchBody: Json, opts: WriteOptions = {}): KubeObject {
    const old = this.get(r, namespace, name);
    const patched = applyPatch(contentType, old as unknown as Json, patchBody) as unknown as KubeObject;
    if (!patched || typeof patched !== 'object' || !patched.metadata) throw badRequest('the patch removed the object\'s metadata');
    if (patched.metadata.resourceVersion && patched.metadata.resourceVersion !== old.metadata.resourceVersion) throw conflict(r.plural, r.group, name);
    return this.replace(r, old, patched, opts);
  }

  private replace(r: ResourceType, old: KubeObject, body: KubeObject, opts: WriteOptions): KubeObject {
    let next: KubeObject;
    if (opts.subresource === 'status') {
      // Only the status changes through the status subresource (what the kubelet writes).
      next = deepCopy(old);
      next.status = deepCopy(body.status);
    } else {
      next = deepCopy(body);
      next.kind = r.kind;
      next.apiVersion = apiVersionOf(r);
      // Server-managed metadata stays the server's.
      next.metadata = {
        ...next.metadata, name: old.metadata.name, uid: old.metadata.uid, creationTimestamp: old.metadata.creationTimestamp,
        ...(r.namespaced ? { namespace: old.metadata.namespace } : {}),
        ...(old.metadata.deletionTimestamp ? { deletionTimestamp: old.metadata.deletionTimestamp, deletionGracePeriodSeconds: old.metadata.deletionGracePeriodSeconds } : {}),
      };
      if (!r.namespaced) delete next.metadata.namespace;
      if (r.subresources.includes('status')) next.status = deepCopy(old.status);
      prepareForStorage(next, this.strategy, old);
      if (tracksGeneration(r.kind)) {
        next.metadata.generation = (old.metadata.generation ?? 1) + (canonicalJson(next.spec) !== canonicalJson(old.spec) ? 1 : 0);
      }
    }
    next.metadata.resourceVersion = '';
    if (opts.dryRun) return { ...next, metadata: { ...next.metadata, resourceVersion: old.metadata.resourceVersion } };
    // A terminating object whose last finalizer went away is deleted now.
    if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0 && r.kind !== 'Pod' && r.kind !== 'Namespace') {
      return this.store.remove(r, next) ?? next;
    }
    return this.store.put(r, next);
  }

  /** DELETE: pods on a node terminate gracefully (the kubelet deletes them for good with grace 0). */
  delete(r: ResourceType, namespace: string | undefined, name: string, opts: DeleteOptions = {}): KubeObject {
    const o = this.get(r, namespace, name);
    if (opts.preconditions?.uid && opts.preconditions.uid !== o.metadata.uid) {
      throw new ApiStatusError('Conflict', `Precondition failed: UID in precondition: ${opts.preconditions.uid}, UID in object meta: ${o.metadata.uid}`);
    }
    if (opts.preconditions?.resourceVersion && opts.preconditions.resourceVersion !== o.metadata.resourceVersion) {
      throw new ApiStatusError('Conflict', `Precondition failed: ResourceVersion in precondition: ${opts.preconditions.resourceVersion}, ResourceVersion in object meta: ${o.metadata.resourceVersion}`);
    }
    if (opts.dryRun) return o;
    if (opts.propagationPolicy === 'Orphan') this.orphanDependents(o);
    if (r.kind === 'Pod') {
      const grace = opts.gracePeriodSeconds ?? o.spec?.terminationGracePeriodSeconds ?? 30;
      const finished = o.status?.phase === 'Succeeded' || o.status?.phase === 'Failed';
      if (grace > 0 && o.spec?.nodeName && !finished) {
        if (o.metadata.deletionTimestamp && (o.metadata.deletionGracePeriodSeconds ?? 0) <= grace) return o;
        o.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
        o.metadata.deletionGracePeriodSeconds = grace;
        return this.store.put(r, o);
      }
      return this.store.remove(r, o) ?? o;
    }
    if (r.kind === 'Namespace' || (o.metadata.finalizers ?? []).length > 0) {
      // Namespaces empty themselves first (the namespace controller finishes the deletion).
      if (o.metadata.deletionTimestamp) return o;
      o.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      o.metadata.deletionGracePeriodSeconds = 0;
      if (r.kind === 'Namespace') o.status = { ...o.status, phase: 'Terminating' };
      return this.store.put(r, o);
    }
    return this.store.remove(r, o) ?? o;
  }

  /** Removes a namespace for good once the namespace controller has emptied it. */
  finalizeNamespace(name: string): void {
    const r = this.type('', 'namespaces');
    const ns = this.store.get(r, undefined, name);
    if (ns) this.store.remove(r, ns);
  }

  /** Writes a controller's change (no validation round trip for fields the controller owns). */
  write(r: ResourceType, o: KubeObject): KubeObject {
    return this.store.put(r, o);
  }

  private orphanDependents(owner: KubeObject): void {
    for (const r of [this.type('apps', 'replicasets'), this.type('', 'pods')]) {
      for (const d of this.store.list(r, owner.metadata.namespace)) {
        const refs = d.metadata.ownerReferences ?? [];
        if (!refs.some((ref) => ref.uid === owner.metadata.uid)) continue;
        d.metadata.ownerReferences = refs.filter((ref) => ref.uid !== owner.metadata.uid);
        this.store.put(r, d);
      }
    }
  }
}
