// `tpv connect`: connects through the daemon (started when absent), or with
// `--dry-run` only reads the routing table and the configuration and prints
// the routing plan, with no daemon and no root.
import { defaultClientConfigPath, loadClientConfig, mergeRoutingConfig } from '../../daemon/config/clientConfig';
import type { RoutingConfig, RoutingFlags } from '../../daemon/protocol/rpc';
import { type ClusterSubnet, planRouting } from '../../daemon/routing/planRouting';
import { parseDaemonOptions } from '../../daemon/session/daemonOptions';
import { splitFlagValues } from '../../daemon/vnat/vnatFlags';
import { type FlagSpec, type ParsedArgs, flagBoolean, flagList, flagString } from '../argParser';
import { type CliEnvironment, type CommandSpec, EXIT_FAILURE, EXIT_OK } from '../dispatcher';
import { formatPlanTable } from '../planTable';
import { startedDaemon, withClient } from '../daemonAccess';
import { flattenChoice } from '../kubeconfigChoice';
import { buildConnectParams } from '../../client/connect/connectParams';
import { formatStatus, statusJson } from '../statusText';

const FLAGS: FlagSpec[] = [
  { name: 'dry-run', kind: 'boolean', description: 'Print the routing plan and change nothing (needs no daemon and no root)' },
  { name: 'json', kind: 'boolean', description: 'Print the plan as JSON (the RoutingPlan object)' },
  { name: 'service-cidr', kind: 'list', valueName: 'CIDR', description: 'The cluster\'s service subnet' },
  { name: 'pod-cidr', kind: 'list', valueName: 'CIDR', description: 'A pod subnet of the cluster' },
  { name: 'also-proxy', kind: 'list', valueName: 'CIDR', description: 'Also route this subnet to the cluster (adds to routing.alsoProxy)' },
  { name: 'never-proxy', kind: 'list', valueName: 'CIDR', description: 'Never route this subnet to the cluster (adds to routing.neverProxy)' },
  { name: 'vnat', kind: 'list', valueName: 'CIDR|also|service|pods|all', description: 'Hide this subnet behind virtual IPs' },
  { name: 'proxy-via', kind: 'list', valueName: 'CIDR=WORKLOAD', description: 'Like --vnat, and the traffic leaves the cluster from WORKLOAD\'s pod (CIDR may be a symbol)' },
  { name: 'allow-conflicting-subnets', kind: 'list', valueName: 'CIDR', description: 'Route this subnet even where a local route overlaps it (adds to routing.allowConflictingSubnets)' },
  { name: 'virtual-subnet', kind: 'string', valueName: 'CIDR', description: 'Where virtual IPs come from (overrides routing.virtualSubnet)' },
  { name: 'no-auto-resolve-conflicts', kind: 'boolean', description: 'Fail on a conflict instead of hiding the subnet behind virtual IPs' },
  { name: 'config', kind: 'string', valueName: 'PATH', description: 'The Telepresence client config.yml to read (default: the usual location)' },
  { name: 'kubeconfig', kind: 'string', valueName: 'PATH', description: 'Kubeconfig file(s), \':\'-separated (default: $KUBECONFIG, then ~/.kube/config)' },
  { name: 'context', kind: 'string', valueName: 'NAME', description: 'Kubeconfig context (default: the current context)' },
  { name: 'namespace', kind: 'string', valueName: 'NAME', description: 'Namespace: short names resolve here, and the relay runs here (default: the context\'s)' },
];

export const connectCommand: CommandSpec = {
  name: 'connect',
  summary: 'Connect the workstation to the cluster network (--dry-run: only show the routing plan)',
  usage: '[flags]',
  flags: FLAGS,
  details: [
    'Later layers win: config.yml < command-line flags. List flags add to the lists in config.yml.',
    'Values of list flags may also be comma separated (--vnat service,pods).',
    'Exits with 1 and prints the reason when the plan has an error (e.g. an unresolved subnet conflict).',
  ].join('\n'),
  async run(args, env) {
    return flagBoolean(args, 'dry-run') ? dryRun(args, env) : connect(args, env);
  },
};

/** config.yml (or --config) merged with the scalar flags, and the list flags as typed. */
function routingFromArgs(args: ParsedArgs, env: CliEnvironment): { config: RoutingConfig; flags: RoutingFlags } {
  const explicitConfig = flagString(args, 'config');
  const configPath = explicitConfig ?? defaultClientConfigPath(env.platform, env.env, env.env.HOME);
  const loaded = loadClientConfig({ path: configPath, readFile: env.readFile });
  if (explicitConfig !== undefined && !loaded.found) throw new Error(`--config ${explicitConfig}: no such file`);

  const flagLayer: RoutingConfig = {};
  const virtualSubnet = flagString(args, 'virtual-subnet');
  if (virtualSubnet !== undefined) flagLayer.virtualSubnet = virtualSubnet;
  if (flagBoolean(args, 'no-auto-resolve-conflicts')) flagLayer.autoResolveConflicts = false;
  const config = mergeRoutingConfig(loaded.routing, flagLayer);

  const flags: RoutingFlags = {
    vnat: flagList(args, 'vnat'),
    proxyVia: flagList(args, 'proxy-via'),
    alsoProxy: flagList(args, 'also-proxy'),
    neverProxy: flagList(args, 'never-proxy'),
    allowConflictingSubnets: flagList(args, 'allow-conflicting-subnets'),
  };
  return { config, flags };
}

async function connect(args: ParsedArgs, env: CliEnvironment): Promise<number> {
  const { config, flags } = routingFromArgs(args, env);
  const flat = await flattenChoice({ kubeconfig: flagString(args, 'kubeconfig'), context: flagString(args, 'context'), namespace: flagString(args, 'namespace') }, env);
  const params = buildConnectParams({
    kubeconfig: flat.text,
    context: flat.context,
    namespace: flat.namespace,
    flags,
    routingLayers: [config],
    serviceCidrs: splitFlagValues(flagList(args, 'service-cidr')),
    podCidrs: splitFlagValues(flagList(args, 'pod-cidr')),
  });
  const client = await startedDaemon(env);
  const status = await withClient(client, (c) => c.connectCluster(params));
  env.stdout(flagBoolean(args, 'json') ? `${JSON.stringify(statusJson(status), null, 2)}\n` : formatStatus(status));
  return EXIT_OK;
}

async function dryRun(args: ParsedArgs, env: CliEnvironment): Promise<number> {
  const { config, flags } = routingFromArgs(args, env);
  const clusterSubnets: ClusterSubnet[] = [
    ...splitFlagValues(flagList(args, 'service-cidr')).map((subnet) => ({ subnet, origin: 'service' as const })),
    ...splitFlagValues(flagList(args, 'pod-cidr')).map((subnet) => ({ subnet, origin: 'pods' as const })),
  ];
  const routes = await env.readRoutingTable();
  const plan = planRouting({ routes, clusterSubnets, flags, config, platform: env.platform, ownDevice: parseDaemonOptions([], {}).device });

  env.stdout(flagBoolean(args, 'json') ? `${JSON.stringify(plan, null, 2)}\n` : formatPlanTable(plan));
  if (plan.error) {
    env.stderr(`tpv connect: error: ${plan.error}\n`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}
