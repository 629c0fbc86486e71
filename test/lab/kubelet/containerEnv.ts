// A container's environment as a kubelet computes it: service links first,
// then `envFrom`, then `env` in order with `$(VAR)` expansion and `valueFrom`
// sources. Pure: the caller hands in the objects it has fetched.
import type { V1ConfigMap, V1Container, V1Pod, V1Secret, V1Service } from '@kubernetes/client-node';
import { serviceLinkEnv, type EnvVar } from './serviceLinks';

export interface EnvSources {
  pod: V1Pod;
  podIP: string;
  hostIP: string;
  /** Services of the pod's namespace and `default/kubernetes`. */
  services: V1Service[];
  configMap(name: string): V1ConfigMap | undefined;
  secret(name: string): V1Secret | undefined;
}

/** Why a container cannot be started yet: the pod shows `CreateContainerConfigError` with this message. */
export class ContainerConfigError extends Error {}

const C_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Kubernetes' `$(VAR)` expansion: known names expand, `$$` escapes, anything else stays literally. */
export function expandVars(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== '$' || i + 1 >= input.length) { out += ch; continue; }
    const next = input[i + 1];
    if (next === '$') { out += '$'; i++; continue; }
    if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) { out += input.slice(i); break; }
      const name = input.slice(i + 2, close);
      const value = lookup(name);
      out += value ?? `$(${name})`;
      i = close;
      continue;
    }
    out += ch;
  }
  return out;
}

function decodeSecret(secret: V1Secret, key: string): string | undefined {
  const b64 = secret.data?.[key];
  if (b64 !== undefined) return Buffer.from(b64, 'base64').toString('utf8');
  return secret.stringData?.[key];
}

function secretKeys(secret: V1Secret): string[] {
  return [...new Set([...Object.keys(secret.data ?? {}), ...Object.keys(secret.stringData ?? {})])];
}

function fieldValue(path: string, src: EnvSources): string {
  const meta = src.pod.metadata ?? {};
  const keyed = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(path);
  if (keyed) return (keyed[1] === 'labels' ? meta.labels : meta.annotations)?.[keyed[2]!] ?? '';
  switch (path) {
    case 'metadata.name': return meta.name ?? '';
    case 'metadata.namespace': return meta.namespace ?? 'default';
    case 'metadata.uid': return meta.uid ?? '';
    case 'spec.nodeName': return src.pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName': return src.pod.spec?.serviceAccountName ?? 'default';
    case 'status.podIP': case 'status.podIPs': return src.podIP;
    case 'status.hostIP': case 'status.hostIPs': return src.hostIP;
    default: throw new ContainerConfigError(`unsupported fieldRef "${path}"`);
  }
}

export function containerEnv(container: V1Container, src: EnvSources): EnvVar[] {
  const env = new Map<string, string>();
  const ns = src.pod.metadata?.namespace ?? 'default';
  for (const v of serviceLinkEnv(ns, src.services, src.pod.spec?.enableServiceLinks ?? true)) env.set(v.name, v.value);

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const cm = src.configMap(from.configMapRef.name!);
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) if (C_IDENTIFIER.test(prefix + k)) env.set(prefix + k, v);
    } else if (from.secretRef) {
      const secret = src.secret(from.secretRef.name!);
      if (!secret) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${from.secretRef.name}" not found`);
      }
      for (const k of secretKeys(secret)) if (C_IDENTIFIER.test(prefix + k)) env.set(prefix + k, decodeSecret(secret, k)!);
    }
  }

  for (const e of container.env ?? []) {
    let value: string | undefined;
    if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) value = fieldValue(vf.fieldRef.fieldPath, src);
      else if (vf.configMapKeyRef) {
        const ref = vf.configMapKeyRef;
        const cm = src.configMap(ref.name!);
        value = cm?.data?.[ref.key];
        if (value === undefined) {
          if (ref.optional) continue;
          throw new ContainerConfigError(cm ? `couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}` : `configmap "${ref.name}" not found`);
        }
      } else if (vf.secretKeyRef) {
        const ref = vf.secretKeyRef;
        const secret = src.secret(ref.name!);
        value = secret ? decodeSecret(secret, ref.key) : undefined;
        if (value === undefined) {
          if (ref.optional) continue;
          throw new ContainerConfigError(secret ? `couldn't find key ${ref.key} in Secret ${ns}/${ref.name}` : `secret "${ref.name}" not found`);
        }
      } else if (vf.resourceFieldRef) {
        value = '0';
      }
    } else {
      value = expandVars(e.value ?? '', (name) => env.get(name));
    }
    env.set(e.name, value ?? '');
  }
  return [...env].map(([name, value]) => ({ name, value }));
}

/** `command`/`args` with `$(VAR)` expanded against the container's environment, as kubelet does. */
export function expandCommand(words: string[] | undefined, env: EnvVar[]): string[] {
  if (!words) return [];
  const map = new Map(env.map((e) => [e.name, e.value]));
  return words.map((w) => expandVars(w, (n) => map.get(n)));
}
