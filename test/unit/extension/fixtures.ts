// Daemon statuses as the daemon pushes them, for the view-model tests.
import { PROTOCOL_VERSION, type DaemonStatus, type SubnetPlanEntry } from '../../../daemon/protocol/rpc';

export function statusWith(state: DaemonStatus['connection']['state'], extra: Partial<DaemonStatus['connection']> = {}, rest: Partial<DaemonStatus> = {}): DaemonStatus {
  return {
    version: '0.1.0', protocolVersion: PROTOCOL_VERSION, pid: 1, ownerUid: 1000,
    connection: { state, since: '2026-01-01T00:00:00Z', ...extra },
    intercepts: [], vnatMappingCount: 0, ...rest,
  };
}

export const LAB_PLAN: SubnetPlanEntry[] = [
  { subnet: '10.130.0.0/16', origin: 'service', resolution: 'vnat', virtualRange: '246.246.0.0/17', conflictingRoute: '10.0.0.0/8 via 192.168.231.1 dev vpn0' },
  { subnet: '10.132.0.0/16', origin: 'pods', resolution: 'vnat', virtualRange: '246.246.128.0/17', conflictingRoute: '10.0.0.0/8 via 192.168.231.1 dev vpn0' },
  { subnet: '172.20.0.0/16', origin: 'also', resolution: 'route' },
  { subnet: '10.40.0.0/16', origin: 'also', resolution: 'proxy-via', workload: 'echo', virtualRange: '246.246.64.0/18' },
  { subnet: '10.50.0.0/16', origin: 'also', resolution: 'error', conflictingRoute: '10.0.0.0/8 via 10.0.0.0 dev utun4, gw 10.0.0.1', error: 'subnet 10.50.0.0/16 overlaps with existing route "10.0.0.0/8 via 10.0.0.0 dev utun4, gw 10.0.0.1"' },
];
