// The shape of stored objects. Specs and statuses stay loosely typed inside
// the emulation (it stores what clients send, like the real server); the
// metadata the server itself manages is typed.

export interface OwnerReference { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }

export interface ObjectMeta {
  name: string;
  generateName?: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  creationTimestamp: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
}

/* eslint-disable @typescript-eslint/no-explicit-any -- stored bodies are whatever the client sent */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: any;
  status?: any;
  [field: string]: any;
}

/** What a client or controller sends to create: the server fills in the rest of the metadata. */
export interface NewObject {
  apiVersion?: string;
  kind?: string;
  metadata: Partial<ObjectMeta>;
  spec?: any;
  status?: any;
  [field: string]: any;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export function deepCopy<T>(o: T): T {
  // undefined has no JSON text: an object without a status copies as one without a status.
  return o === undefined ? o : (JSON.parse(JSON.stringify(o)) as T);
}

/**
 * JSON with object keys sorted, so two values compare equal whatever order
 * their keys arrived in (kubectl sends Go field order, stored objects keep
 * the client's order plus appended defaults).
 */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_key, value: unknown) => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) sorted[k] = (value as Record<string, unknown>)[k];
    return sorted;
  });
}

export function isControlledBy(o: KubeObject, owner: KubeObject): boolean {
  return (o.metadata.ownerReferences ?? []).some((r) => r.uid === owner.metadata.uid && r.controller);
}

export function controllerRef(owner: KubeObject): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
}

export function isPodReady(pod: KubeObject): boolean {
  return ((pod.status?.conditions ?? []) as Array<{ type: string; status: string }>).some((c) => c.type === 'Ready' && c.status === 'True');
}

export function isTerminating(o: KubeObject): boolean {
  return !!o.metadata.deletionTimestamp;
}

/** Pods that count toward a workload: not being deleted and not finished. */
export function isActivePod(pod: KubeObject): boolean {
  return !isTerminating(pod) && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** The 5-character suffix of generated names (`echo-7d9f-xk2lp`), from the real alphabet (no vowels). */
export function randomSuffix(length = 5): string {
  let s = '';
  for (let i = 0; i < length; i++) s += NAME_ALPHABET[Math.floor(Math.random() * NAME_ALPHABET.length)];
  return s;
}

/** FNV-32a of the canonical JSON text, encoded with the same vowel-less alphabet (pod-template-hash). */
export function templateHash(value: unknown): string {
  const text = canonicalJson(value);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return String(h).split('').map((d) => NAME_ALPHABET[Number(d) % NAME_ALPHABET.length]).join('');
}
