// VS Code's extension host patches `https.request` for proxy support. With
// the default `http.proxySupport: override` it drops the caller's agent and
// keeps only its `ca` (@vscode/proxy-agent), so the client certificate and
// key that @kubernetes/client-node puts on its https.Agent never reach the
// TLS handshake: every kubeconfig that authenticates with a client
// certificate (kind, minikube, k3s, kubeadm admin.conf) gets 401/403 from
// inside VS Code while kubectl works. Copying the agent's TLS options onto
// the request options, where the patch keeps them, restores the handshake
// and still lets the user's proxy settings apply. Node merges agent options
// into request options anyway, so for any other caller this changes nothing.
import type { Agent, RequestOptions } from 'node:https';

/** The TLS options Node's https.Agent applies to the connections it makes. */
export const AGENT_TLS_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'servername', 'rejectUnauthorized', 'checkServerIdentity', 'ciphers', 'minVersion', 'maxVersion'] as const;

/** Request options with the agent's TLS options filled in where the request does not set them itself. Pure. */
export function withAgentTlsOptions<T extends RequestOptions>(options: T): T {
  const agent = options.agent as (Agent & { options?: Record<string, unknown> }) | undefined | false;
  const agentOptions = agent && typeof agent === 'object' ? agent.options : undefined;
  if (!agentOptions) return options;
  const filled = { ...options } as Record<string, unknown>;
  let changed = false;
  for (const k of AGENT_TLS_KEYS) {
    if (agentOptions[k] !== undefined && filled[k] === undefined) {
      filled[k] = agentOptions[k];
      changed = true;
    }
  }
  return changed ? (filled as T) : options;
}
