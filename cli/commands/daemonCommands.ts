// Commands that need the daemon. They are listed (so help is complete) and
// fail with a clear message until the daemon client lands.
import type { CommandSpec } from '../dispatcher';

function needsDaemon(name: string, summary: string, usage = '[flags]', maxPositionals = 0): CommandSpec {
  return {
    name,
    summary,
    usage,
    flags: [],
    maxPositionals,
    async run() {
      throw new Error(`"tpv ${name}" is not available yet: it needs the daemon client, which this build does not include`);
    },
  };
}

export const daemonCommands: CommandSpec[] = [
  needsDaemon('status', 'Show the connection, routing plan and intercepts'),
  needsDaemon('vnat', 'List the virtual IP mappings'),
  needsDaemon('disconnect', 'Disconnect from the cluster (routes, DNS and device are removed)'),
  needsDaemon('quit', 'Disconnect and stop the daemon'),
  needsDaemon('uninstall', 'Remove the relay and every agent from the cluster'),
  needsDaemon('intercept', 'Redirect a workload\'s traffic to this workstation', 'WORKLOAD [flags]', 1),
  needsDaemon('leave', 'End an intercept', 'WORKLOAD', 1),
  needsDaemon('ingest', 'Get a workload\'s environment and mounts without redirecting its traffic', 'WORKLOAD [flags]', 1),
];
