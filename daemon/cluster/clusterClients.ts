// Typed API clients from the flattened kubeconfig a client handed over. The
// daemon runs as root and must never execute anything a kubeconfig names, so
// a kubeconfig with credential plugins is refused: the client resolves them
// as the user first.
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';

export interface ClusterClients {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  server: string;
  context: string;
}

export function refuseCredentialPlugins(kc: KubeConfig): void {
  for (const user of kc.getUsers()) {
    if (user.exec) {
      throw new Error(`kubeconfig user "${user.name}" uses the exec credential plugin "${user.exec.command}"; the daemon runs as root and never runs plugins. Connect through the extension or tpv, which resolve credentials as you.`);
    }
    if (user.authProvider) {
      throw new Error(`kubeconfig user "${user.name}" uses the auth provider "${user.authProvider.name}"; resolve it to a token as yourself before connecting (the extension and tpv do this).`);
    }
  }
}

export function clusterClients(kubeconfigText: string, context: string): ClusterClients {
  const kc = new KubeConfig();
  try {
    kc.loadFromString(kubeconfigText);
  } catch (e) {
    throw new Error(`the kubeconfig handed to the daemon is not valid YAML/JSON: ${(e as Error).message}`);
  }
  if (!kc.getContextObject(context)) throw new Error(`the kubeconfig has no context "${context}"`);
  kc.setCurrentContext(context);
  refuseCredentialPlugins(kc);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`context "${context}" names no cluster`);
  return { kubeConfig: kc, core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api), server: cluster.server, context };
}
