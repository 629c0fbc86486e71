// Turns one context of the user's kubeconfig into a self-contained kubeconfig
// for the root daemon: the CA, client certificate and key inlined as data,
// and whatever a token file, exec plugin or auth provider yields resolved to
// a token *here, as the user*. The daemon refuses plugins; it never runs
// anything a kubeconfig names.
import type { RequestOptions } from 'node:https';
import { stringify as toYaml } from 'yaml';
import { findContext, inlineTokenFiles, onlyContext } from './kubeconfigMerge';
import type { RawCluster, RawKubeconfig, RawUser } from './kubeconfigTypes';

export interface ResolvedCredentials {
  /** PEM bytes of the cluster CA, when the kubeconfig names one. */
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  username?: string;
  password?: string;
  impersonate?: string;
}

export interface FlattenedKubeconfig {
  /** YAML text for ConnectParams.kubeconfig. */
  text: string;
  context: string;
  namespace: string;
  server: string;
}

/** Pure: builds the one-context kubeconfig from a cluster entry and resolved credentials. */
export function renderFlatKubeconfig(contextName: string, cluster: RawCluster, namespace: string, creds: ResolvedCredentials): string {
  if (!cluster.server) throw new Error(`the cluster of context "${contextName}" has no server URL; fix the kubeconfig`);
  const flatCluster: RawCluster = { server: cluster.server };
  if (creds.ca) flatCluster['certificate-authority-data'] = creds.ca.toString('base64');
  if (cluster['insecure-skip-tls-verify']) flatCluster['insecure-skip-tls-verify'] = true;
  if (cluster['tls-server-name']) flatCluster['tls-server-name'] = cluster['tls-server-name'];
  if (cluster['proxy-url']) flatCluster['proxy-url'] = cluster['proxy-url'];
  const user: RawUser = {};
  if (creds.cert) user['client-certificate-data'] = creds.cert.toString('base64');
  if (creds.key) user['client-key-data'] = creds.key.toString('base64');
  if (creds.token) user.token = creds.token;
  if (creds.username !== undefined) { user.username = creds.username; user.password = creds.password ?? ''; }
  if (creds.impersonate) user.as = creds.impersonate;
  const flat: RawKubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': contextName,
    clusters: [{ name: contextName, cluster: flatCluster }],
    users: [{ name: contextName, user }],
    contexts: [{ name: contextName, context: { cluster: contextName, user: contextName, namespace } }],
  };
  return toYaml(flat);
}

/** Reads what client-node put into request options after running the user's auth (exec plugins included). */
export function credentialsFromRequestOptions(opts: RequestOptions): ResolvedCredentials {
  const creds: ResolvedCredentials = {};
  const buf = (v: unknown): Buffer | undefined => (v === undefined || v === null ? undefined : Buffer.isBuffer(v) ? v : Buffer.from(String(v)));
  const ca = buf(opts.ca);
  if (ca) creds.ca = ca;
  const cert = buf(opts.cert);
  if (cert) creds.cert = cert;
  const key = buf(opts.key);
  if (key) creds.key = key;
  const headers = (opts.headers ?? {}) as Record<string, unknown>;
  const authorization = headers.Authorization ?? headers.authorization;
  if (typeof authorization === 'string' && /^bearer\s+/i.test(authorization)) creds.token = authorization.replace(/^bearer\s+/i, '');
  if (typeof headers['Impersonate-User'] === 'string') creds.impersonate = headers['Impersonate-User'];
  if (typeof opts.auth === 'string') {
    const i = opts.auth.indexOf(':');
    creds.username = i < 0 ? opts.auth : opts.auth.slice(0, i);
    creds.password = i < 0 ? '' : opts.auth.slice(i + 1);
  }
  return creds;
}

/**
 * Flattens `contextName` of the merged kubeconfig. Runs exec plugins and
 * reads token/cert files as the current user (client-node does the auth).
 */
export async function flattenKubeconfig(merged: RawKubeconfig, contextName: string, namespaceOverride?: string): Promise<FlattenedKubeconfig> {
  const ctx = findContext(merged, contextName);
  const cluster = merged.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster) throw new Error(`context "${contextName}" names cluster "${ctx.cluster}", which is not in the kubeconfig`);
  if (!merged.users?.some((u) => u.name === ctx.user)) throw new Error(`context "${contextName}" names user "${ctx.user}", which is not in the kubeconfig`);
  const { KubeConfig } = await import('./k8s');
  const kc = new KubeConfig();
  kc.loadFromString(JSON.stringify({ ...inlineTokenFiles(onlyContext(merged, contextName)), 'current-context': contextName }));
  const opts: RequestOptions = { headers: {} };
  try {
    await kc.applyToHTTPSOptions(opts);
  } catch (e) {
    throw new Error(`could not get credentials for context "${contextName}" (user "${ctx.user}"): ${(e as Error).message}. Check that \`kubectl --context ${contextName} get ns\` works.`);
  }
  const namespace = namespaceOverride || ctx.namespace || 'default';
  const creds = credentialsFromRequestOptions(opts);
  return { text: renderFlatKubeconfig(contextName, cluster, namespace, creds), context: contextName, namespace, server: cluster.server! };
}
