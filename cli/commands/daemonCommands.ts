// Commands that talk to a running daemon.
import { spawnSync } from 'node:child_process';
import { DaemonNotRunning } from '../../client/daemon/daemonErrors';
import { DaemonClient } from '../../client/daemon/daemonClient';
import { flagBoolean, type FlagSpec } from '../argParser';
import { daemonLaunchSpec, runningDaemon, socketPath, withClient } from '../daemonAccess';
import { type CommandSpec, EXIT_OK } from '../dispatcher';
import { formatStatus, formatVnat } from '../statusText';

const JSON_FLAG: FlagSpec = { name: 'json', kind: 'boolean', description: 'Print JSON (stable; documented in the README)' };

function needsAgent(name: string, summary: string, usage: string): CommandSpec {
  return {
    name, summary, usage, flags: [], maxPositionals: 1,
    async run() {
      throw new Error(`"tpv ${name}" needs the traffic agent, which this version cannot inject into workloads yet`);
    },
  };
}

export const daemonCommands: CommandSpec[] = [
  {
    name: 'status',
    summary: 'Show the connection, routing plan and intercepts',
    usage: '[--json]',
    flags: [JSON_FLAG],
    async run(args, env) {
      let client: DaemonClient;
      try {
        client = await DaemonClient.connect({ socketPath: socketPath(env) });
      } catch (e) {
        if (!(e instanceof DaemonNotRunning)) throw e;
        env.stdout(flagBoolean(args, 'json') ? `${JSON.stringify({ daemon: 'not running' })}\n` : 'Daemon:     not running\n');
        return EXIT_OK;
      }
      const status = await withClient(client, (c) => c.status());
      env.stdout(flagBoolean(args, 'json') ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
      return EXIT_OK;
    },
  },
  {
    name: 'vnat',
    summary: 'List the virtual IP mappings (real IP, virtual IP, names, flows, bytes)',
    usage: '[--json]',
    flags: [JSON_FLAG],
    async run(args, env) {
      const list = await withClient(await runningDaemon(env), (c) => c.vnatList());
      env.stdout(flagBoolean(args, 'json') ? `${JSON.stringify(list, null, 2)}\n` : formatVnat(list));
      return EXIT_OK;
    },
  },
  {
    name: 'disconnect',
    summary: 'Disconnect from the cluster (routes, DNS and device are removed; the daemon stays)',
    usage: '',
    flags: [],
    async run(_args, env) {
      const s = await withClient(await runningDaemon(env), (c) => c.disconnect());
      env.stdout(`Disconnected (${s.connection.state}).\n`);
      return EXIT_OK;
    },
  },
  {
    name: 'quit',
    summary: 'Disconnect and stop the daemon; --cleanup also repairs what a crashed daemon left behind',
    usage: '[--cleanup]',
    flags: [{ name: 'cleanup', kind: 'boolean', description: 'Revert host changes recorded by a daemon that died (kill -9, power loss)' }],
    async run(args, env) {
      const cleanup = flagBoolean(args, 'cleanup');
      let client: DaemonClient | undefined;
      try {
        client = await DaemonClient.connect({ socketPath: socketPath(env) });
      } catch (e) {
        if (!(e instanceof DaemonNotRunning)) throw e;
      }
      if (client) {
        await withClient(client, (c) => c.quit({ cleanup }));
        env.stdout('Daemon stopped.\n');
        return EXIT_OK;
      }
      if (!cleanup) {
        env.stdout('The daemon is not running.\n');
        return EXIT_OK;
      }
      // No daemon: run one in repair-only mode (it needs root, like the daemon).
      const spec = daemonLaunchSpec(env);
      const argv = [spec.daemonScript, '--repair', ...spec.extraArgs!];
      const asRoot = process.getuid?.() === 0;
      const r = spawnSync(asRoot ? spec.nodePath : 'sudo', asRoot ? argv : ['--', spec.nodePath, ...argv], { encoding: 'utf8', stdio: ['inherit', 'pipe', 'pipe'] });
      if (r.status !== 0) throw new Error(`repair failed: ${(r.stderr || r.error?.message || '').trim()}`);
      env.stdout(r.stdout);
      return EXIT_OK;
    },
  },
  {
    name: 'uninstall',
    summary: 'Remove the relay and every agent from the cluster',
    usage: '',
    flags: [],
    async run(_args, env) {
      const r = await withClient(await runningDaemon(env), (c) => c.uninstall());
      env.stdout(r.removed.length ? `Removed:\n${r.removed.map((x) => `  ${x}`).join('\n')}\n` : 'Nothing of ours was installed.\n');
      return EXIT_OK;
    },
  },
  needsAgent('intercept', 'Redirect a workload\'s traffic to this workstation', 'WORKLOAD --port [LOCAL:]REMOTE [flags]'),
  needsAgent('leave', 'End an intercept', 'WORKLOAD'),
  needsAgent('ingest', 'Get a workload\'s environment and mounts without redirecting its traffic', 'WORKLOAD [flags]'),
];
