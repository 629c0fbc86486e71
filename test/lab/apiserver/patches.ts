// The three PATCH flavours the API server accepts: JSON merge patch
// (RFC 7386), strategic merge patch (lists of named things merged by key, as
// kubectl apply/edit/rollout restart send) and JSON patch (RFC 6902). Pure:
// each returns a new object and never touches its inputs.
import { badRequest, ApiStatusError } from './apiStatus';
import { canonicalJson } from './objects';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

export const MERGE_PATCH = 'application/merge-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
export const JSON_PATCH = 'application/json-patch+json';
export const APPLY_PATCH = 'application/apply-patch+yaml';

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * The merge key of a list field, as the Kubernetes types declare it
 * (`patchMergeKey`); lists without one are replaced wholesale.
 */
export function mergeKeyOf(field: string, items: Json[]): string | undefined {
  switch (field) {
    case 'containers': case 'initContainers': case 'ephemeralContainers': case 'volumes': case 'env': case 'imagePullSecrets': return 'name';
    case 'volumeMounts': return 'mountPath';
    case 'conditions': return 'type';
    case 'ports': return items.some((i) => isObject(i) && 'containerPort' in i) ? 'containerPort' : 'port';
    default: return undefined;
  }
}

function strategicList(field: string, target: Json[] | undefined, patch: Json[]): Json[] {
  // An item `{$patch: replace}` makes the patch's other items the whole list.
  if (patch.some((i) => isObject(i) && i.$patch === 'replace')) return clone(patch.filter((i) => !(isObject(i) && i.$patch === 'replace')));
  const key = mergeKeyOf(field, [...(target ?? []), ...patch]);
  if (!key || !patch.every(isObject)) return clone(patch);
  const out: Json[] = clone(target ?? []);
  for (const item of patch as JsonObject[]) {
    const id = item[key];
    const at = out.findIndex((o) => isObject(o) && o[key] === id);
    if (item.$patch === 'delete') { if (at >= 0) out.splice(at, 1); continue; }
    if (at >= 0) out[at] = strategicMergePatch(out[at], item);
    else out.push(strategicMergePatch(undefined, item));
  }
  return out;
}

export function strategicMergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const rest = { ...patch };
    delete rest.$patch;
    return clone(rest);
  }
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    // Directives kubectl adds that only order or prune lists: the order is ours to keep.
    if (k.startsWith('$setElementOrder/') || k.startsWith('$deleteFromPrimitiveList/') || k === '$retainKeys' || k === '$patch') continue;
    if (v === null) delete out[k];
    else if (Array.isArray(v)) out[k] = strategicList(k, Array.isArray(out[k]) ? (out[k] as Json[]) : undefined, v);
    else out[k] = strategicMergePatch(out[k], v);
  }
  return out;
}

export interface JsonPatchOp { op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test'; path: string; from?: string; value?: Json }

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw badRequest(`the JSON pointer "${path}" must start with "/"`);
  return path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, tokens: string[], path: string): { parent: JsonObject | Json[]; key: string } {
  let cur: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(cur) ? cur[Number(t)] : isObject(cur) ? cur[t] : undefined;
    if (next === undefined || next === null || typeof next !== 'object') throw new ApiStatusError('Invalid', `the server rejected our request due to an error in our request: doc is missing path: "${path}"`);
    cur = next;
  }
  if (typeof cur !== 'object' || cur === null) throw new ApiStatusError('Invalid', `doc is missing path: "${path}"`);
  return { parent: cur, key: tokens[tokens.length - 1]! };
}

/** An array index token: decimal digits without leading zeros (RFC 6901); `-` only where adding is allowed. */
function arrayIndex(key: string, path: string): number {
  if (!/^(0|[1-9]\d*)$/.test(key)) throw new ApiStatusError('Invalid', `the JSON pointer "${path}" has "${key}" where an array index belongs`);
  return Number(key);
}

function getAt(doc: Json, path: string): Json {
  const tokens = pointer(path);
  if (tokens.length === 0) return doc;
  const { parent, key } = parentOf(doc, tokens, path);
  const v = Array.isArray(parent) ? parent[arrayIndex(key, path)] : parent[key];
  if (v === undefined) throw new ApiStatusError('Invalid', `doc is missing path: "${path}"`);
  return v;
}

function removeAt(doc: Json, path: string): Json {
  const tokens = pointer(path);
  const { parent, key } = parentOf(doc, tokens, path);
  let old: Json | undefined;
  if (Array.isArray(parent)) [old] = parent.splice(arrayIndex(key, path), 1);
  else { old = parent[key]; delete parent[key]; }
  if (old === undefined) throw new ApiStatusError('Invalid', `doc is missing path: "${path}": unable to remove nonexistent key`);
  return old;
}

function addAt(doc: Json, path: string, value: Json, replace: boolean): Json {
  const tokens = pointer(path);
  if (tokens.length === 0) return value;
  const { parent, key } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) {
    const i = key === '-' && !replace ? parent.length : arrayIndex(key, path);
    // add may append at the end; replace needs an element to replace.
    if (i > parent.length || (replace && i === parent.length)) throw new ApiStatusError('Invalid', `index ${key} out of bounds in "${path}"`);
    if (replace) parent[i] = value; else parent.splice(i, 0, value);
  } else {
    if (replace && !(key in parent)) throw new ApiStatusError('Invalid', `doc is missing key: "${path}": missing value`);
    parent[key] = value;
  }
  return doc;
}

export function jsonPatch(target: Json, ops: JsonPatchOp[]): Json {
  if (!Array.isArray(ops)) throw badRequest('a JSON patch must be an array of operations');
  let doc = clone(target);
  for (const op of ops) {
    switch (op.op) {
      case 'add': doc = addAt(doc, op.path, clone(op.value ?? null), false); break;
      case 'replace': doc = addAt(doc, op.path, clone(op.value ?? null), true); break;
      case 'remove': removeAt(doc, op.path); break;
      case 'move': { const v = removeAt(doc, op.from ?? ''); doc = addAt(doc, op.path, v, false); break; }
      case 'copy': doc = addAt(doc, op.path, clone(getAt(doc, op.from ?? '')), false); break;
      case 'test':
        // Equality of values, not of their texts: key order does not matter (RFC 6902 4.6).
        if (canonicalJson(getAt(doc, op.path)) !== canonicalJson(op.value ?? null)) throw new ApiStatusError('Invalid', `testing value ${op.path} failed`);
        break;
      default: throw badRequest(`unknown JSON patch operation "${(op as { op: string }).op}"`);
    }
  }
  return doc;
}

/** Applies a PATCH body of `contentType` (the Content-Type without parameters). */
export function applyPatch(contentType: string, target: Json, body: Json): Json {
  switch (contentType) {
    case MERGE_PATCH: return mergePatch(target, body);
    case STRATEGIC_MERGE_PATCH: return strategicMergePatch(target, body);
    case JSON_PATCH: return jsonPatch(target, body as unknown as JsonPatchOp[]);
    default: throw new ApiStatusError('UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${JSON_PATCH}, ${MERGE_PATCH}, ${STRATEGIC_MERGE_PATCH}`);
  }
}
