// Which tunnel carries a flow: a real destination inside a --proxy-via
// subnet is dialled by that workload's traffic agent (so it leaves the
// cluster from the workload's pod), everything else by the relay. The flow
// forwarder has already translated virtual IPs to real ones; DNS does not
// come through here and stays with the relay.
import { cidrContainsIp, parseCidr, tryParseIp, type Cidr } from '../net/cidr';
import type { RoutingPlan } from '../protocol/rpc';
import { TunnelError } from '../tunnel/tunnelErrors';
import type { TunnelDatagrams } from '../tunnel/tunnelDatagrams';
import type { EarlyTcpOpen, OpenTarget } from '../tunnel/tunnelSession';
import type { TunnelStream } from '../tunnel/tunnelStream';
import type { TunnelOpener } from './flowForwarder';

export interface ProxyViaRoute {
  subnet: Cidr;
  workload: string;
}

/** The plan's proxy-via subnets with their workloads (pure). */
export function proxyViaRoutes(plan: RoutingPlan): ProxyViaRoute[] {
  return plan.subnets
    .filter((s) => s.resolution === 'proxy-via' && s.workload !== undefined)
    .map((s) => ({ subnet: parseCidr(s.subnet), workload: s.workload! }));
}

/** The workload whose agent dials `realIp`, or undefined for the relay (pure). */
export function proxyWorkloadFor(routes: readonly ProxyViaRoute[], realIp: string): string | undefined {
  const ip = tryParseIp(realIp);
  if (!ip) return undefined;
  return routes.find((r) => cidrContainsIp(r.subnet, ip))?.workload;
}

export class TunnelRouter implements TunnelOpener {
  constructor(
    private readonly relay: TunnelOpener,
    private readonly routes: readonly ProxyViaRoute[],
    /** A tunnel to a ready agent pod of the workload; undefined when none is held. */
    private readonly agentTunnel: (workload: string) => TunnelOpener | undefined,
  ) {}

  /** The tunnel for a real destination. Never falls back to the relay: the flow must leave from the workload's pod or not at all. */
  tunnelFor(realIp: string): TunnelOpener {
    const workload = proxyWorkloadFor(this.routes, realIp);
    if (workload === undefined) return this.relay;
    const agent = this.agentTunnel(workload);
    if (!agent) throw new TunnelError('ETUNNELDOWN', `no tunnel to an agent of ${workload} (for --proxy-via ${realIp})`);
    return agent;
  }

  openTcp(target: OpenTarget): Promise<TunnelStream> {
    try { return this.tunnelFor(target.host).openTcp(target); } catch (e) { return Promise.reject(e); }
  }

  openTcpEarly(target: OpenTarget): EarlyTcpOpen | undefined {
    try { return this.tunnelFor(target.host).openTcpEarly?.(target); } catch { return undefined; }
  }

  openUdp(target: OpenTarget): Promise<TunnelDatagrams> {
    try { return this.tunnelFor(target.host).openUdp(target); } catch (e) { return Promise.reject(e); }
  }
}
