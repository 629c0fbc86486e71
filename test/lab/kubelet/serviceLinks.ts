// The environment variables a kubelet derives from Services (the "service
// links", Docker-link style), exactly as kubelet's envvars package spells them.
import type { V1Service } from '@kubernetes/client-node';

export interface EnvVar {
  name: string;
  value: string;
}

/** `my-svc` → `MY_SVC`. */
export function envName(serviceOrPortName: string): string {
  return serviceOrPortName.toUpperCase().replace(/-/g, '_');
}

function hasClusterIp(s: V1Service): boolean {
  const ip = s.spec?.clusterIP;
  return !!ip && ip !== 'None';
}

/** Variables for one Service; headless services and services without ports give none. */
export function serviceEnv(s: V1Service): EnvVar[] {
  if (!hasClusterIp(s)) return [];
  const ports = s.spec?.ports ?? [];
  const first = ports[0];
  if (!first) return [];
  const name = envName(s.metadata?.name ?? '');
  const ip = s.spec!.clusterIP!;
  const out: EnvVar[] = [
    { name: `${name}_SERVICE_HOST`, value: ip },
    { name: `${name}_SERVICE_PORT`, value: String(first.port) },
  ];
  for (const p of ports) {
    if (p.name) out.push({ name: `${name}_SERVICE_PORT_${envName(p.name)}`, value: String(p.port) });
  }
  const url = (proto: string, port: number) => `${proto.toLowerCase()}://${ip}:${port}`;
  out.push({ name: `${name}_PORT`, value: url(first.protocol ?? 'TCP', first.port) });
  for (const p of ports) {
    const proto = (p.protocol ?? 'TCP').toUpperCase();
    const prefix = `${name}_PORT_${p.port}_${proto}`;
    out.push(
      { name: prefix, value: url(proto, p.port) },
      { name: `${prefix}_PROTO`, value: proto.toLowerCase() },
      { name: `${prefix}_PORT`, value: String(p.port) },
      { name: `${prefix}_ADDR`, value: ip },
    );
  }
  return out;
}

/**
 * The services a pod in `namespace` gets variables for: those of its own
 * namespace when service links are enabled, plus always the API server's
 * `default/kubernetes` (kubelet's "master services").
 */
export function serviceLinkEnv(namespace: string, services: V1Service[], enableServiceLinks = true): EnvVar[] {
  const chosen = new Map<string, V1Service>();
  const master: V1Service[] = [];
  for (const s of services) {
    if (!hasClusterIp(s)) continue;
    const ns = s.metadata?.namespace ?? 'default';
    const name = s.metadata?.name ?? '';
    if (ns === 'default' && name === 'kubernetes') master.push(s);
    else if (ns === namespace && enableServiceLinks) chosen.set(name, s);
  }
  for (const m of master) if (!chosen.has(m.metadata!.name!)) chosen.set(m.metadata!.name!, m);
  return [...chosen.keys()].sort().flatMap((k) => serviceEnv(chosen.get(k)!));
}
