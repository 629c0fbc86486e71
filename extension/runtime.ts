// The heavy half of the extension, bundled separately as
// dist/extensionRuntime.js and loaded on first use (Connect, or once a
// connection exists): the Kubernetes client, kubeconfig flattening, the
// cluster watches and config.yml parsing. Keeping it out of
// dist/extension.js keeps activation to a few milliseconds: compiling this
// half alone costs V8 ~50 ms here.
import { installAgentTlsOptions } from './kube/installAgentTlsOptions';

// Before the first Kubernetes request from this extension host (see agentTlsOptions.ts).
installAgentTlsOptions();

export { connectCommand, type ConnectArgs } from './commands/connectCommand';
export { ClusterWatcher } from './kube/clusterWatcher';
export { loadUserKubeconfig } from './kube/userKubeconfig';
export { kubeConfigFor } from '../client/kube/clusterAccess';
export { flattenKubeconfig } from '../client/kube/flattenKubeconfig';
