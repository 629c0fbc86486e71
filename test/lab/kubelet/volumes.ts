// A pod's volumes as directories under the lab's state directory: configMap
// and secret volumes hold one file per key (or per `items` entry), emptyDir is
// an empty directory. Containers see them through bind mounts (containerLaunch.ts).
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import type { V1ConfigMap, V1Container, V1Pod, V1Secret } from '@kubernetes/client-node';
import { ContainerConfigError } from './containerEnv';
import type { VolumeMount } from './containerLaunch';

export interface VolumeSources {
  configMap(name: string): V1ConfigMap | undefined;
  secret(name: string): V1Secret | undefined;
}

function safeRelative(path: string): string {
  const n = normalize(path);
  if (n.startsWith('..') || n.startsWith('/')) throw new ContainerConfigError(`volume item path "${path}" escapes the volume`);
  return n;
}

function writeEntries(dir: string, entries: Array<[string, Buffer]>, items: Array<{ key: string; path: string; mode?: number }> | undefined, mode: number, kind: string, name: string): void {
  const byKey = new Map(entries);
  const chosen = items ? items.map((i) => {
    const data = byKey.get(i.key);
    if (!data) throw new ContainerConfigError(`${kind} "${name}" has no key "${i.key}"`);
    return [safeRelative(i.path), data, i.mode ?? mode] as const;
  }) : entries.map(([k, v]) => [safeRelative(k), v, mode] as const);
  for (const [rel, data, m] of chosen) {
    const file = join(dir, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, data);
    chmodSync(file, m);
  }
}

/** Writes every volume of the pod under `root`; returns volume name → host directory. */
export function writePodVolumes(pod: V1Pod, root: string, src: VolumeSources): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of pod.spec?.volumes ?? []) {
    const dir = join(root, v.name);
    mkdirSync(dir, { recursive: true });
    out.set(v.name, dir);
    if (v.configMap) {
      const cm = src.configMap(v.configMap.name!);
      if (!cm) {
        if (v.configMap.optional) continue;
        throw new ContainerConfigError(`configmap "${v.configMap.name}" not found`);
      }
      const entries: Array<[string, Buffer]> = [
        ...Object.entries(cm.data ?? {}).map(([k, s]) => [k, Buffer.from(s)] as [string, Buffer]),
        ...Object.entries(cm.binaryData ?? {}).map(([k, b]) => [k, Buffer.from(b, 'base64')] as [string, Buffer]),
      ];
      writeEntries(dir, entries, v.configMap.items, v.configMap.defaultMode ?? 0o644, 'configmap', v.configMap.name!);
    } else if (v.secret) {
      const s = src.secret(v.secret.secretName!);
      if (!s) {
        if (v.secret.optional) continue;
        throw new ContainerConfigError(`secret "${v.secret.secretName}" not found`);
      }
      const entries: Array<[string, Buffer]> = [
        ...Object.entries(s.data ?? {}).map(([k, b]) => [k, Buffer.from(b, 'base64')] as [string, Buffer]),
        ...Object.entries(s.stringData ?? {}).map(([k, t]) => [k, Buffer.from(t)] as [string, Buffer]),
      ];
      writeEntries(dir, entries, v.secret.items, v.secret.defaultMode ?? 0o644, 'secret', v.secret.secretName!);
    } else if (!v.emptyDir) {
      // Other volume types (hostPath, PVCs, projected, ...) are not part of the lab; an empty directory keeps mounts working.
    }
  }
  return out;
}

export function containerMounts(container: V1Container, volumes: Map<string, string>, pod: V1Pod): VolumeMount[] {
  return (container.volumeMounts ?? []).map((m) => {
    const dir = volumes.get(m.name);
    if (!dir) throw new ContainerConfigError(`volume mount "${m.name}" names no volume of the pod`);
    const source = m.subPath ? join(dir, safeRelative(m.subPath)) : dir;
    if (m.subPath && !existsSync(source)) mkdirSync(source, { recursive: true });
    const vol = pod.spec?.volumes?.find((v) => v.name === m.name);
    const readOnly = m.readOnly === true || !!(vol?.configMap || vol?.secret);
    return { source, target: m.mountPath, readOnly, sourceIsFile: statSync(source).isFile() };
  });
}
