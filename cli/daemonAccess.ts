// How `tpv` reaches the daemon: the socket from $TPV_SOCKET (or the default),
// and, for `connect`, a daemon started on demand. As root it is started
// directly; otherwise through `sudo` (the password prompt appears in this
// terminal), because the daemon changes the network.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DaemonClient } from '../client/daemon/daemonClient';
import { DaemonNotRunning } from '../client/daemon/daemonErrors';
import { ProcessLauncher } from '../client/daemon/daemonLauncher';
import { ensureDaemon } from '../client/daemon/ensureDaemon';
import type { DaemonLaunchSpec } from '../client/daemon/launchCommands';
import { clientSocketPath } from '../daemon/protocol/socketPath';
import type { CliEnvironment } from './dispatcher';

export function socketPath(env: CliEnvironment): string {
  return clientSocketPath(undefined, env.env);
}

/** The user the daemon serves: the one who typed the command, also under sudo. */
export function invokingUser(env: CliEnvironment): { uid: number; gid: number } {
  const uid = Number(env.env.SUDO_UID ?? process.getuid?.() ?? 0);
  const gid = Number(env.env.SUDO_GID ?? process.getgid?.() ?? 0);
  return { uid, gid };
}

/** Extra daemon arguments from the environment (tests and labs keep daemons apart this way). */
function extraDaemonArgs(env: CliEnvironment): string[] {
  const args: string[] = [];
  if (env.env.TPV_STATE_DIR) args.push('--state-dir', env.env.TPV_STATE_DIR);
  if (env.env.TPV_DEVICE) args.push('--device', env.env.TPV_DEVICE);
  if (env.env.TPV_RELAY_IMAGE) args.push('--relay-image', env.env.TPV_RELAY_IMAGE);
  return args;
}

export function daemonLaunchSpec(env: CliEnvironment): DaemonLaunchSpec {
  const user = invokingUser(env);
  const spec: DaemonLaunchSpec = {
    nodePath: process.execPath,
    daemonScript: join(__dirname, 'daemon.js'),
    socketPath: socketPath(env),
    ownerUid: user.uid,
    ownerGid: user.gid,
    extraArgs: extraDaemonArgs(env),
  };
  if (env.env.TPV_LOG_FILE) spec.logFile = env.env.TPV_LOG_FILE;
  if (env.env.TPV_IDLE_EXIT !== undefined && /^\d+$/.test(env.env.TPV_IDLE_EXIT)) spec.idleExitSeconds = Number(env.env.TPV_IDLE_EXIT);
  return spec;
}

/** Connects to a running daemon; fails with advice when there is none. */
export async function runningDaemon(env: CliEnvironment): Promise<DaemonClient> {
  try {
    return await DaemonClient.connect({ socketPath: socketPath(env) });
  } catch (e) {
    if (e instanceof DaemonNotRunning) throw new Error('the daemon is not running (nothing is connected); start it with "tpv connect"');
    throw e;
  }
}

/** Connects to the daemon, starting (or replacing an older) one when needed. */
export async function startedDaemon(env: CliEnvironment): Promise<DaemonClient> {
  const isRoot = process.getuid?.() === 0;
  const { client } = await ensureDaemon({
    socketPath: socketPath(env),
    clientVersion: env.version,
    spec: daemonLaunchSpec(env),
    launcher: () => {
      if (isRoot) return new ProcessLauncher('direct');
      // Ask for the password here, in the terminal; the detached start then uses sudo's cached credentials.
      env.stderr('The Telepresence daemon changes routes, DNS and a network device, so it runs as root; sudo may ask for your password.\n');
      const v = spawnSync('sudo', ['-v'], { stdio: 'inherit' });
      if (v.status !== 0) throw new Error('sudo did not authenticate; nothing was changed');
      return new ProcessLauncher('sudo');
    },
    // Typing `tpv connect` is the consent; what changes is printed by connect.
    consent: async () => true,
  });
  return client;
}

export async function withClient<T>(client: DaemonClient, fn: (c: DaemonClient) => Promise<T>): Promise<T> {
  try {
    return await fn(client);
  } finally {
    client.dispose();
  }
}
