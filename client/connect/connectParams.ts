// Assembles the daemon's ConnectParams from what the user chose and the
// merged routing configuration (config.yml < VS Code settings < flags).
import { mergeRoutingConfig } from '../../daemon/config/clientConfig';
import type { ConnectParams, RoutingConfig, RoutingFlags } from '../../daemon/protocol/rpc';

export function emptyRoutingFlags(): RoutingFlags {
  return { vnat: [], proxyVia: [], alsoProxy: [], neverProxy: [], allowConflictingSubnets: [] };
}

export interface ConnectChoice {
  /** Flattened kubeconfig text (flattenKubeconfig). */
  kubeconfig: string;
  context: string;
  namespace: string;
  flags?: Partial<RoutingFlags>;
  /** Layers from lowest to highest precedence, e.g. [config.yml, VS Code settings]. */
  routingLayers?: ReadonlyArray<RoutingConfig | undefined>;
  serviceCidrs?: string[];
  podCidrs?: string[];
}

export function buildConnectParams(choice: ConnectChoice): ConnectParams {
  if (!choice.context) throw new Error('no kubeconfig context chosen');
  if (!choice.namespace) throw new Error('no namespace chosen');
  const flags: RoutingFlags = { ...emptyRoutingFlags() };
  for (const key of Object.keys(flags) as Array<keyof RoutingFlags>) flags[key] = [...(choice.flags?.[key] ?? [])];
  const params: ConnectParams = {
    kubeconfig: choice.kubeconfig,
    context: choice.context,
    namespace: choice.namespace,
    flags,
    routing: mergeRoutingConfig(...(choice.routingLayers ?? [])),
  };
  if (choice.serviceCidrs?.length) params.serviceCidrs = [...choice.serviceCidrs];
  if (choice.podCidrs?.length) params.podCidrs = [...choice.podCidrs];
  return params;
}

const FLAG_KEYS: Record<string, keyof RoutingFlags> = {
  '--vnat': 'vnat',
  '--proxy-via': 'proxyVia',
  '--also-proxy': 'alsoProxy',
  '--never-proxy': 'neverProxy',
  '--allow-conflicting-subnets': 'allowConflictingSubnets',
};

/**
 * Parses the routing flags a user types into the Connect dialog, exactly as
 * on tpv's command line (`--vnat service --proxy-via 10.0.0.0/8=echo`,
 * `--vnat=all`); values are checked by the daemon, names here.
 */
export function parseRoutingFlagsText(text: string): RoutingFlags {
  const flags = emptyRoutingFlags();
  const words = text.trim() === '' ? [] : text.trim().split(/\s+/);
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const eq = word.indexOf('=');
    const name = word.startsWith('--') && eq > 0 ? word.slice(0, eq) : word;
    const key = FLAG_KEYS[name];
    if (!key) throw new Error(`unknown flag "${word}"; use ${Object.keys(FLAG_KEYS).join(', ')}`);
    const value = name !== word ? word.slice(eq + 1) : words[++i];
    if (value === undefined || value === '' || value.startsWith('--')) throw new Error(`${name} needs a value`);
    // Like Telepresence, list flags accept comma-separated values too.
    flags[key].push(...value.split(',').filter((v) => v !== ''));
  }
  return flags;
}
