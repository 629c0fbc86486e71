// The daemon's Connector: plans with the workstation's real routing table,
// builds LiveConnections, repairs after a crash from the journal, and
// removes the agents and the relay on uninstall.
import { clusterClients } from '../cluster/clusterClients';
import { kubeJson } from '../cluster/kubeJson';
import { clusterAccessFromKubeConfig } from '../cluster/portForwardAccess';
import { uninstallRelay } from '../cluster/relayInstaller';
import { uninstallAgents } from '../intercept/interceptManager';
import type { Logger } from '../log/logger';
import { cidrContainsIp, parseCidr, tryParseIp, type Cidr } from '../net/cidr';
import type { ConnectParams, RoutingPlan } from '../protocol/rpc';
import { planRouting } from '../routing/planRouting';
import { readRoutingTable } from '../routing/routingTableReader';
import { Journal } from '../system/journal';
import { VirtualIpAllocator } from '../vnat/virtualIpAllocator';
import type { ActiveConnection, Connector } from './connection';
import { clusterSubnets, LiveConnection, type Planner, type VnatTableFactory } from './liveConnection';

export interface ClusterConnectorOptions {
  stateDir: string;
  device: string;
  logger: Logger;
  relayImage?: string;
}

export const planWithLocalRoutes: Planner = async (params, cluster, ownDevice) => {
  const routes = await readRoutingTable();
  try {
    return planRouting({
      routes,
      clusterSubnets: [
        ...cluster.serviceCidrs.map((subnet) => ({ subnet, origin: 'service' as const })),
        ...cluster.podCidrs.map((subnet) => ({ subnet, origin: 'pods' as const })),
      ],
      flags: params.flags,
      config: params.routing,
      platform: process.platform,
      ownDevice,
    });
  } catch (e) {
    // Invalid flags or configuration: the message names the flag or key.
    return { virtualSubnet: params.routing.virtualSubnet ?? '', subnets: [], error: (e as Error).message };
  }
};

function within(cidrs: Cidr[], ip: string): boolean {
  const addr = tryParseIp(ip);
  return addr !== undefined && cidrs.some((c) => cidrContainsIp(c, addr));
}

export const vnatTableForPlan: VnatTableFactory = (plan: RoutingPlan) => {
  const allocator = VirtualIpAllocator.fromPlan(plan);
  const virtual = plan.virtualSubnet ? [parseCidr(plan.virtualSubnet)] : [];
  const routed = plan.subnets.filter((s) => s.resolution === 'route' || s.resolution === 'allowed').map((s) => parseCidr(s.subnet));
  const translated = plan.subnets.filter((s) => s.resolution === 'vnat' || s.resolution === 'proxy-via').map((s) => ({ cidr: parseCidr(s.subnet), text: s.subnet }));
  return {
    toVirtual: (ip) => allocator.toVirtual(ip),
    toReal: (ip) => allocator.toReal(ip),
    subnetOf: (ip) => translated.find((t) => within([t.cidr], ip))?.text,
    isVirtual: (ip) => within(virtual, ip),
    isRouted: (ip) => within(routed, ip),
  };
};

export function createClusterConnector(opts: ClusterConnectorOptions): Connector {
  const log = opts.logger.scoped('connector');
  let journal: Journal | undefined;
  const openJournal = async (): Promise<Journal> => {
    journal ??= await Journal.open(opts.stateDir);
    return journal;
  };

  return {
    async connect(params, events, signal): Promise<ActiveConnection> {
      const live = new LiveConnection(params, {
        logger: opts.logger,
        journal: await openJournal(),
        device: opts.device,
        planner: planWithLocalRoutes,
        vnatTable: vnatTableForPlan,
        ...(opts.relayImage ? { relayImage: opts.relayImage } : {}),
      }, events);
      return live.start(signal);
    },

    async plan(params: ConnectParams): Promise<RoutingPlan> {
      const clients = clusterClients(params.kubeconfig, params.context);
      return planWithLocalRoutes(params, await clusterSubnets(params, clients), opts.device);
    },

    async uninstall(params, active): Promise<string[]> {
      if (!params) throw new Error('nothing to uninstall from: connect once so the daemon knows the cluster, or pass a kubeconfig');
      const clients = clusterClients(params.kubeconfig, params.context);
      // Agents before the relay: a live connection also closes its intercepts' tunnels.
      const agents = active instanceof LiveConnection
        ? await active.uninstallAgents()
        : await uninstallAgents(kubeJson(await clusterAccessFromKubeConfig(clients.kubeConfig).then((a) => () => a)), [params.namespace], log.child('uninstall'));
      return [...agents, ...await uninstallRelay(clients.core, clients.apps, params.namespace)];
    },

    async repair(): Promise<string[]> {
      const j = await openJournal();
      const pending = j.pendingFromCrash();
      if (pending.length === 0) return [];
      log.warn(`found ${pending.length} host change(s) left by a previous daemon; reverting`);
      const report = await j.revertAll();
      for (const f of report.failed) log.error(`could not revert ${f.change}: ${f.error}`);
      return report.reverted;
    },
  };
}
