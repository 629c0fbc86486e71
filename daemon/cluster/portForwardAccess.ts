// Builds the port-forward client's ClusterAccess from a KubeConfig (the
// flattened one the client handed over; clusterClients.ts has already
// refused credential plugins, so nothing is executed here).
import type { RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterAccess } from './portForward';

/** The part of KubeConfig used here (a real KubeConfig fits). */
export type KubeConfigLike = Pick<KubeConfig, 'getCurrentCluster' | 'applyToHTTPSOptions'>;

export async function clusterAccessFromKubeConfig(kc: KubeConfigLike): Promise<ClusterAccess> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig\'s current context names no cluster');
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const headers: Record<string, string> = {};
  let bearerToken: string | undefined;
  for (const [k, v] of Object.entries((opts.headers ?? {}) as Record<string, unknown>)) {
    if (typeof v !== 'string') continue;
    if (k.toLowerCase() === 'authorization' && v.startsWith('Bearer ')) bearerToken = v.slice('Bearer '.length);
    else headers[k] = v;
  }
  const access: ClusterAccess = { server: cluster.server };
  if (opts.ca) access.caPem = pem(opts.ca);
  if (opts.cert) access.clientCertPem = pem(opts.cert);
  if (opts.key) access.clientKeyPem = pem(opts.key);
  if (bearerToken) access.bearerToken = bearerToken;
  if (typeof opts.auth === 'string' && opts.auth.includes(':')) {
    const i = opts.auth.indexOf(':');
    access.basicAuth = { username: opts.auth.slice(0, i), password: opts.auth.slice(i + 1) };
  }
  if (Object.keys(headers).length > 0) access.headers = headers;
  if (cluster.skipTLSVerify) access.insecureSkipTlsVerify = true;
  if (cluster.tlsServerName) access.tlsServerName = cluster.tlsServerName;
  return access;
}

function pem(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (Array.isArray(v)) return v.map(pem).join('\n');
  throw new Error('unsupported certificate value in the kubeconfig');
}
