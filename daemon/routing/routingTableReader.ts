// Reads the workstation's routing table with the platform's own tools. Only
// reads: never needs root. The command runner is injected so that tests and
// namespaces (`ip netns exec`) can supply their own.
import { type CommandRunner, runChecked, runCommand } from '../system/commandRunner';
import { parseIpAddrJson, parseIpRouteJson } from './linuxRoutes';
import { parseIfconfig, parseNetstatRoutes } from './macRoutes';
import type { Route } from './route';
import { parseGetNetIpAddressJson, parseGetNetRouteJson } from './windowsRoutes';

export interface ReadRoutingTableOptions {
  platform?: NodeJS.Platform;
  run?: CommandRunner;
}

const POWERSHELL = ['-NoProfile', '-NonInteractive', '-Command'];

export async function readRoutingTable(opts: ReadRoutingTableOptions = {}): Promise<Route[]> {
  const platform = opts.platform ?? process.platform;
  const run = opts.run ?? runCommand;
  const out = async (cmd: string, args: string[]) => (await runChecked(run, cmd, args)).stdout;
  switch (platform) {
    case 'linux': {
      // -4 matters: without it, "table all" lists both families and `default` rows lose theirs.
      const [addr, v4, v6] = await Promise.all([
        out('ip', ['-j', 'addr', 'show']),
        out('ip', ['-j', '-4', 'route', 'show', 'table', 'all']),
        out('ip', ['-j', '-6', 'route', 'show', 'table', 'all']),
      ]);
      const interfaces = parseIpAddrJson(addr);
      return [...parseIpRouteJson(v4, 4, interfaces), ...parseIpRouteJson(v6, 6, interfaces)];
    }
    case 'darwin': {
      const [ifconfig, netstat] = await Promise.all([out('ifconfig', []), out('netstat', ['-rn'])]);
      return parseNetstatRoutes(netstat, parseIfconfig(ifconfig));
    }
    case 'win32': {
      const [addresses, routes] = await Promise.all([
        out('powershell', [...POWERSHELL, 'Get-NetIPAddress | Select-Object IPAddress,InterfaceAlias,InterfaceIndex,PrefixLength,AddressFamily | ConvertTo-Json -Compress']),
        out('powershell', [...POWERSHELL, 'Get-NetRoute | Select-Object DestinationPrefix,NextHop,InterfaceAlias,InterfaceIndex,RouteMetric,AddressFamily | ConvertTo-Json -Compress']),
      ]);
      return parseGetNetRouteJson(routes, parseGetNetIpAddressJson(addresses));
    }
    default:
      throw new Error(`reading the routing table is not supported on ${platform}; pass the cluster subnets and resolve conflicts by hand`);
  }
}
