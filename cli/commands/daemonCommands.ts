// Commands that talk to a running daemon.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { envFileText } from '../envFile';
import { flagString } from '../argParser';
import { DaemonNotRunning } from '../../client/daemon/daemonErrors';
import { DaemonClient } from '../../client/daemon/daemonClient';
import { flagBoolean, type FlagSpec, type ParsedArgs } from '../argParser';
import { daemonLaunchSpec, runningDaemon, socketPath, withClient } from '../daemonAccess';
import { type CliEnvironment, type CommandSpec, EXIT_OK } from '../dispatcher';
import type { InterceptParams } from '../../daemon/protocol/rpc';
import { formatStatus, formatVnat, statusJson } from '../statusText';

const JSON_FLAG: FlagSpec = { name: 'json', kind: 'boolean', description: 'Print JSON (stable; documented in the README)' };
// Flags that intercept, ingest and leave share, with one wording.
const NAMESPACE_FLAG: FlagSpec = { name: 'namespace', kind: 'string', valueName: 'NAME', description: 'Namespace of the workload (default: the connected namespace)' };
const ENV_FILE_FLAG: FlagSpec = { name: 'env-file', kind: 'string', valueName: 'PATH', description: 'Write the environment as KEY=VALUE lines (docker --env-file format)' };
const ENV_JSON_FLAG: FlagSpec = { name: 'env-json', kind: 'string', valueName: 'PATH', description: 'Write the environment as a JSON object' };

/** Shared by intercept and ingest: both hand back the mangled environment. */
async function interceptOrIngest(args: ParsedArgs, env: CliEnvironment, base: InterceptParams): Promise<number> {
  const params: InterceptParams = { ...base };
  const namespace = flagString(args, 'namespace');
  const container = flagString(args, 'container');
  if (namespace) params.namespace = namespace;
  if (container) params.container = container;
  const result = await withClient(await runningDaemon(env), (c) => c.intercept(params));
  const envFile = flagString(args, 'env-file');
  const envJson = flagString(args, 'env-json');
  if (envFile) {
    const { text, skipped } = envFileText(result.env);
    writeFileSync(envFile, text, { mode: 0o600 });
    for (const k of skipped) env.stderr(`tpv ${base.mode}: warning: ${k} has a multi-line value, which the env-file format cannot hold; it is in --env-json\n`);
  }
  if (envJson) writeFileSync(envJson, `${JSON.stringify(result.env, null, 2)}\n`, { mode: 0o600 });
  if (flagBoolean(args, 'json')) {
    env.stdout(`${JSON.stringify(result, null, 2)}\n`);
    return EXIT_OK;
  }
  const i = result.intercept;
  const what = i.mode === 'intercept' ? `Intercepting ${i.kind} ${i.namespace}/${i.workload}: port ${i.remotePort} → localhost:${i.localPort}` : `Ingested ${i.kind} ${i.namespace}/${i.workload}`;
  env.stdout(`${what}; ${Object.keys(result.env).length} variables${envFile ? ` → ${envFile}` : ''}${envJson ? ` → ${envJson}` : ''}\n`);
  if (result.mounts.length) env.stdout(`Mounts: ${result.mounts.map((m) => m.mountPath).join(', ')}\n`);
  return EXIT_OK;
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
      env.stdout(flagBoolean(args, 'json') ? `${JSON.stringify(statusJson(status), null, 2)}\n` : formatStatus(status));
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
  {
    name: 'intercept',
    summary: 'Redirect a workload\'s traffic for a port to this workstation',
    usage: 'WORKLOAD --port [LOCAL:]REMOTE [--namespace N] [--container C] [--agent-timeout S] [--env-file F] [--env-json F] [--json]',
    flags: [
      { name: 'port', kind: 'string', valueName: '[LOCAL:]REMOTE', description: 'Service port (number or name) to intercept, and the local port to send it to (default: the same number)' },
      NAMESPACE_FLAG,
      { name: 'container', kind: 'string', valueName: 'NAME', description: 'Container whose environment to take (default: the one serving the port)' },
      { name: 'agent-timeout', kind: 'string', valueName: 'SECONDS', description: 'How long the traffic agent may take to become ready in every pod (default 120)' },
      ENV_FILE_FLAG,
      ENV_JSON_FLAG,
      JSON_FLAG,
    ],
    maxPositionals: 1,
    async run(args, env) {
      const workload = args.positionals[0];
      if (!workload) throw new Error('name the workload: tpv intercept WORKLOAD --port [LOCAL:]REMOTE');
      const port = flagString(args, 'port');
      if (!port) throw new Error('say which port to intercept: --port [LOCAL:]REMOTE (e.g. --port 8080:80)');
      const params: InterceptParams = { workload, port, mode: 'intercept' };
      const timeout = flagString(args, 'agent-timeout');
      if (timeout !== undefined) {
        const seconds = Number(timeout);
        if (!Number.isFinite(seconds) || seconds < 1 || seconds > 3600) throw new Error(`--agent-timeout "${timeout}" is not a number of seconds between 1 and 3600`);
        params.agentTimeoutSeconds = seconds;
      }
      return interceptOrIngest(args, env, params);
    },
  },
  {
    name: 'leave',
    summary: 'End an intercept or ingest',
    usage: 'WORKLOAD [--namespace N]',
    flags: [NAMESPACE_FLAG],
    maxPositionals: 1,
    async run(args, env) {
      const workload = args.positionals[0];
      if (!workload) throw new Error('name the workload to leave: tpv leave WORKLOAD');
      const namespace = flagString(args, 'namespace');
      await withClient(await runningDaemon(env), (c) => c.leave(namespace ? { workload, namespace } : { workload }));
      env.stdout(`Left ${workload}.\n`);
      return EXIT_OK;
    },
  },
  {
    name: 'ingest',
    summary: 'Get a workload\'s environment (IPs mapped to virtual IPs) and mounts without redirecting its traffic',
    usage: 'WORKLOAD [--container C] [--namespace N] [--env-file F] [--env-json F] [--json]',
    flags: [
      { name: 'container', kind: 'string', valueName: 'NAME', description: 'Container whose environment to take (default: the first)' },
      NAMESPACE_FLAG,
      ENV_FILE_FLAG,
      ENV_JSON_FLAG,
      JSON_FLAG,
    ],
    maxPositionals: 1,
    async run(args, env) {
      const workload = args.positionals[0];
      if (!workload) throw new Error('name the workload: tpv ingest WORKLOAD');
      return interceptOrIngest(args, env, { workload, port: '', mode: 'ingest' });
    },
  },
];
