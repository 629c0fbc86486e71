// Reading the cluster as the user (namespace lists, workload watches). The
// client-node module is large: it is imported on first use, never at
// activation.
import type { KubeConfig } from '@kubernetes/client-node';
import { findContext, inlineTokenFiles, onlyContext } from './kubeconfigMerge';
import type { RawKubeconfig } from './kubeconfigTypes';

export async function kubeConfigFor(merged: RawKubeconfig, contextName: string): Promise<KubeConfig> {
  findContext(merged, contextName);
  const { KubeConfig } = await import('./k8s');
  const kc = new KubeConfig();
  kc.loadFromString(JSON.stringify({ ...inlineTokenFiles(onlyContext(merged, contextName)), 'current-context': contextName }));
  return kc;
}

export interface NamespaceList {
  names: string[];
  /** Set when the user may not list namespaces: `names` then holds only what the context suggests. */
  limited?: string;
}

/** Namespaces of the cluster, or the context's own namespace when listing them is forbidden. */
export async function listNamespaces(kc: KubeConfig, fallback: string): Promise<NamespaceList> {
  const { CoreV1Api } = await import('./k8s');
  try {
    const list = await kc.makeApiClient(CoreV1Api).listNamespace({ timeoutSeconds: 10 });
    return { names: list.items.map((n) => n.metadata?.name ?? '').filter((n) => n !== '').sort() };
  } catch (e) {
    const code = (e as { code?: number }).code;
    if (code === 401 || code === 403) return { names: [fallback], limited: `listing namespaces is not allowed for this user (HTTP ${code})` };
    throw new Error(`could not list namespaces on ${kc.getCurrentCluster()?.server ?? 'the cluster'}: ${(e as Error).message}`);
  }
}
