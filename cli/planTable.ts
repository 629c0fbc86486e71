// Human output of `tpv connect --dry-run`: one aligned row per subnet.
import type { RoutingPlan, SubnetPlanEntry } from '../daemon/protocol/rpc';
import { formatTable } from './textTable';

const HEADERS = ['SUBNET', 'ORIGIN', 'RESOLUTION', 'VIRTUAL RANGE / WORKLOAD', 'CONFLICTING ROUTE'];

function translation(e: SubnetPlanEntry): string {
  if (e.resolution === 'proxy-via') return `${e.virtualRange ?? '-'} via ${e.workload}`;
  return e.virtualRange ?? '-';
}

export function formatPlanTable(plan: RoutingPlan): string {
  const rows = plan.subnets.map((e) => [e.subnet, e.origin, e.resolution, translation(e), e.conflictingRoute ?? '-']);
  const lines: string[] = [];
  if (rows.length === 0) {
    lines.push('no subnets to route (pass --service-cidr and --pod-cidr, or --also-proxy)');
  } else {
    lines.push(formatTable(HEADERS, rows));
  }
  lines.push('', `virtual subnet: ${plan.virtualSubnet}`);
  return `${lines.join('\n')}\n`;
}
