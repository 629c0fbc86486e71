// Starting the daemon as root: spawning the elevation command, then waiting
// until the daemon answers on its socket, telling a dismissed prompt apart
// from a real failure.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildLaunchCommand, classifyElevationExit, type DaemonLaunchSpec, type LaunchCommand, type LauncherKind } from './launchCommands';
import { DaemonLaunchFailed, ElevationCancelled, ElevationUnavailable } from './daemonErrors';

export interface LaunchedProcess {
  /** Settles when the elevation command (or, for long-lived ones, the daemon) exits. */
  exited: Promise<{ code: number | null; stderr: string }>;
}

export interface DaemonLauncher {
  readonly kind: LauncherKind;
  /** Starts the command; does not wait for the daemon to be ready. */
  launch(spec: DaemonLaunchSpec): LaunchedProcess;
}

/** Runs the command as a detached child (it must outlive this window). */
export class ProcessLauncher implements DaemonLauncher {
  constructor(readonly kind: LauncherKind, private readonly platform: NodeJS.Platform = process.platform) {}

  launch(spec: DaemonLaunchSpec): LaunchedProcess {
    return spawnDetached(buildLaunchCommand(this.kind, spec, this.platform));
  }
}

/**
 * sudo typed into a terminal: `run` shows the line to the user (the
 * extension uses a VS Code terminal, the CLI its own TTY) and reports how it ended.
 */
export class TerminalSudoLauncher implements DaemonLauncher {
  readonly kind = 'sudo' as const;
  constructor(private readonly run: (shellLine: string) => LaunchedProcess, private readonly platform: NodeJS.Platform = process.platform) {}

  launch(spec: DaemonLaunchSpec): LaunchedProcess {
    return this.run(buildLaunchCommand('sudo', spec, this.platform).shellLine!);
  }
}

export function spawnDetached(cmd: LaunchCommand): LaunchedProcess {
  // stderr goes to a file, not a pipe: a long-lived daemon must not get
  // EPIPE on a late write after this window has gone away.
  const dir = mkdtempSync(join(tmpdir(), 'tpv-launch-'));
  const errPath = join(dir, 'stderr.txt');
  const errFd = openSync(errPath, 'w', 0o600);
  const child = spawn(cmd.file, cmd.args, {
    detached: true,
    stdio: ['ignore', 'ignore', errFd],
    env: { ...process.env, ...cmd.env },
  });
  closeSync(errFd);
  const readStderr = () => {
    try { return readFileSync(errPath, 'utf8').slice(0, 8192); } catch { return ''; }
  };
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child.once('error', (e) => resolve({ code: null, stderr: `could not run ${cmd.file}: ${e.message}` }));
    child.once('exit', (code) => resolve({ code, stderr: readStderr() }));
  });
  void exited.finally(() => rmSync(dir, { recursive: true, force: true }));
  child.unref();
  return { exited };
}

export interface StartDaemonOptions {
  launcher: DaemonLauncher;
  spec: DaemonLaunchSpec;
  /** true once the daemon accepts connections on its socket. */
  isReady: () => Promise<boolean>;
  timeoutMs?: number;
  pollMs?: number;
  /** The prompt may stay open a long time; the wait then is the user's, not ours. */
  signal?: AbortSignal;
}

/** Launches and waits until the socket answers; throws ElevationCancelled when the prompt was dismissed. */
export async function startDaemon(opts: StartDaemonOptions): Promise<void> {
  const { launcher, spec, isReady } = opts;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const pollMs = opts.pollMs ?? 150;
  const longLived = buildLaunchCommand(launcher.kind, spec).longLived;
  const launched = launcher.launch(spec);
  let exit: { code: number | null; stderr: string } | undefined;
  void launched.exited.then((e) => { exit = e; });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (opts.signal?.aborted) throw new ElevationCancelled(launcher.kind);
    if (await isReady()) return;
    if (exit) {
      const outcome = classifyElevationExit(launcher.kind, exit.code, exit.stderr);
      if (outcome === 'cancelled') throw new ElevationCancelled(launcher.kind);
      if (outcome === 'no-agent') throw new ElevationUnavailable(`${launcher.kind} found no authentication agent to ask for the password: ${exit.stderr.trim()}`);
      if (outcome === 'failed' || longLived) {
        // One last look: the daemon may have become ready as the launcher exited.
        if (await isReady()) return;
        const detail = exit.stderr.trim() || `exit code ${exit.code}`;
        throw new DaemonLaunchFailed(`The Telepresence daemon did not start (${launcher.kind}: ${detail}). See the daemon log (/var/log/telepresence-vscode/daemon.log) or run \`sudo ${spec.nodePath} ${spec.daemonScript} --stderr\` to see why.`);
      }
    }
    if (Date.now() > deadline) {
      throw new DaemonLaunchFailed(`The Telepresence daemon did not answer on ${spec.socketPath} within ${Math.round(timeoutMs / 1000)} s after ${launcher.kind} started it; see /var/log/telepresence-vscode/daemon.log.`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
