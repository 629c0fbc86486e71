// Runtime validation of every RPC input. TypeScript types vanish at the
// socket; a root daemon checks shapes, sizes and formats before acting.
import { ResponseError, ErrorCodes } from 'vscode-jsonrpc';
import type { ConnectParams, InterceptParams, LogLevel, RoutingConfig, RoutingFlags } from '../protocol/rpc';

const MAX_STRING = 4096;
const MAX_LIST = 256;
const MAX_KUBECONFIG = 1024 * 1024;

export class InvalidParams extends ResponseError<void> {
  constructor(path: string, problem: string) {
    super(ErrorCodes.InvalidParams, `invalid parameter ${path}: ${problem}`);
  }
}

type Obj = Record<string, unknown>;

export function object(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidParams(path, 'expected an object');
  return v as Obj;
}

export function string(v: unknown, path: string, max = MAX_STRING): string {
  if (typeof v !== 'string') throw new InvalidParams(path, 'expected a string');
  if (v.length > max) throw new InvalidParams(path, `longer than ${max} characters`);
  if (v.includes('\0')) throw new InvalidParams(path, 'contains a NUL character');
  return v;
}

export function optionalString(v: unknown, path: string, max = MAX_STRING): string | undefined {
  return v === undefined || v === null ? undefined : string(v, path, max);
}

export function boolean(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new InvalidParams(path, 'expected true or false');
  return v;
}

export function optionalBoolean(v: unknown, path: string): boolean | undefined {
  return v === undefined || v === null ? undefined : boolean(v, path);
}

export function stringList(v: unknown, path: string, optional = false): string[] {
  if ((v === undefined || v === null) && optional) return [];
  if (!Array.isArray(v)) throw new InvalidParams(path, 'expected a list of strings');
  if (v.length > MAX_LIST) throw new InvalidParams(path, `more than ${MAX_LIST} entries`);
  return v.map((x, i) => string(x, `${path}[${i}]`, 256));
}

/** Kubernetes names: DNS-1123 labels (namespaces, workloads) or subdomains (contexts are free-form). */
export function dns1123Label(v: unknown, path: string): string {
  const s = string(v, path, 63);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s)) {
    throw new InvalidParams(path, `"${s}" is not a valid name: use lower-case letters, digits and '-', starting and ending with a letter or digit`);
  }
  return s;
}

function routingFlags(v: unknown, path: string): RoutingFlags {
  const o = object(v, path);
  return {
    vnat: stringList(o.vnat, `${path}.vnat`, true),
    proxyVia: stringList(o.proxyVia, `${path}.proxyVia`, true),
    alsoProxy: stringList(o.alsoProxy, `${path}.alsoProxy`, true),
    neverProxy: stringList(o.neverProxy, `${path}.neverProxy`, true),
    allowConflictingSubnets: stringList(o.allowConflictingSubnets, `${path}.allowConflictingSubnets`, true),
  };
}

function routingConfig(v: unknown, path: string): RoutingConfig {
  if (v === undefined || v === null) return {};
  const o = object(v, path);
  const out: RoutingConfig = {};
  const vs = optionalString(o.virtualSubnet, `${path}.virtualSubnet`, 64);
  if (vs !== undefined) out.virtualSubnet = vs;
  const ar = optionalBoolean(o.autoResolveConflicts, `${path}.autoResolveConflicts`);
  if (ar !== undefined) out.autoResolveConflicts = ar;
  if (o.allowConflictingSubnets !== undefined) out.allowConflictingSubnets = stringList(o.allowConflictingSubnets, `${path}.allowConflictingSubnets`);
  if (o.alsoProxy !== undefined) out.alsoProxy = stringList(o.alsoProxy, `${path}.alsoProxy`);
  if (o.neverProxy !== undefined) out.neverProxy = stringList(o.neverProxy, `${path}.neverProxy`);
  return out;
}

export function connectParams(v: unknown): ConnectParams {
  const o = object(v, 'params');
  const params: ConnectParams = {
    kubeconfig: string(o.kubeconfig, 'params.kubeconfig', MAX_KUBECONFIG),
    context: string(o.context, 'params.context', 253),
    namespace: dns1123Label(o.namespace, 'params.namespace'),
    flags: routingFlags(o.flags ?? {}, 'params.flags'),
    routing: routingConfig(o.routing, 'params.routing'),
  };
  if (o.serviceCidrs !== undefined) params.serviceCidrs = stringList(o.serviceCidrs, 'params.serviceCidrs');
  if (o.podCidrs !== undefined) params.podCidrs = stringList(o.podCidrs, 'params.podCidrs');
  return params;
}

export function interceptParams(v: unknown): InterceptParams {
  const o = object(v, 'params');
  const mode = string(o.mode, 'params.mode', 16);
  if (mode !== 'intercept' && mode !== 'ingest') throw new InvalidParams('params.mode', 'expected "intercept" or "ingest"');
  const p: InterceptParams = { workload: dns1123Label(o.workload, 'params.workload'), port: string(o.port ?? '', 'params.port', 64), mode };
  if (o.namespace !== undefined) p.namespace = dns1123Label(o.namespace, 'params.namespace');
  if (o.container !== undefined) p.container = dns1123Label(o.container, 'params.container');
  if (o.agentTimeoutSeconds !== undefined) {
    const t = o.agentTimeoutSeconds;
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 1 || t > 3600) throw new InvalidParams('params.agentTimeoutSeconds', 'expected a number of seconds between 1 and 3600');
    p.agentTimeoutSeconds = t;
  }
  return p;
}

export function logLevel(v: unknown): LogLevel {
  const o = object(v, 'params');
  const level = string(o.level, 'params.level', 8);
  if (!['trace', 'debug', 'info', 'warn', 'error'].includes(level)) {
    throw new InvalidParams('params.level', 'expected one of trace, debug, info, warn, error');
  }
  return level as LogLevel;
}
