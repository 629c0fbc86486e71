// The exact command lines that start the daemon as root on each platform.
// Pure, so that every variant (including the macOS and Windows ones, which
// cannot run here) is unit tested for quoting.
import type { LogLevel } from '../../daemon/protocol/rpc';

/**
 * - `direct`: this process is already root;
 * - `pkexec`: Linux, polkit's graphical prompt;
 * - `sudo`: fallback, typed into a terminal so the user can enter a password;
 * - `osascript`: macOS administrator-privileges dialog;
 * - `runas`: Windows UAC prompt (PowerShell `Start-Process -Verb RunAs`).
 */
export type LauncherKind = 'direct' | 'pkexec' | 'sudo' | 'osascript' | 'runas';

export interface DaemonLaunchSpec {
  /** The Node binary: `process.execPath` (Electron's binary runs as Node with ELECTRON_RUN_AS_NODE=1). */
  nodePath: string;
  /** Absolute path of dist/daemon.js. */
  daemonScript: string;
  socketPath: string;
  ownerUid: number;
  ownerGid: number;
  logLevel?: LogLevel;
  /** Seconds the daemon stays up while disconnected with no client (0 = forever). */
  idleExitSeconds?: number;
  logFile?: string;
  /** Where the daemon keeps its journal of host changes (default /var/run/telepresence-vscode). */
  stateDir?: string;
  extraArgs?: string[];
}

export interface LaunchCommand {
  file: string;
  args: string[];
  /** Added to the environment of `file` (only where it reaches the daemon). */
  env: Record<string, string>;
  /** The same command as one POSIX shell line (for a terminal), where that applies. */
  shellLine?: string;
  /**
   * true when `file` stays the daemon's parent (its exit means the daemon
   * ended); false when `file` only starts the daemon and returns.
   */
  longLived: boolean;
}

/** The daemon's own arguments, after the Node binary. */
export function daemonArgs(spec: DaemonLaunchSpec): string[] {
  const args = [spec.daemonScript, '--socket', spec.socketPath, '--owner-uid', String(spec.ownerUid), '--owner-gid', String(spec.ownerGid)];
  if (spec.logLevel) args.push('--log-level', spec.logLevel);
  if (spec.idleExitSeconds !== undefined) args.push('--idle-exit', String(spec.idleExitSeconds));
  if (spec.logFile) args.push('--log-file', spec.logFile);
  if (spec.stateDir) args.push('--state-dir', spec.stateDir);
  return [...args, ...(spec.extraArgs ?? [])];
}

const RUN_AS_NODE = { ELECTRON_RUN_AS_NODE: '1' };

export function buildLaunchCommand(kind: LauncherKind, spec: DaemonLaunchSpec, platform: NodeJS.Platform = process.platform): LaunchCommand {
  const node = [spec.nodePath, ...daemonArgs(spec)];
  switch (kind) {
    case 'direct':
      return { file: spec.nodePath, args: daemonArgs(spec), env: { ...RUN_AS_NODE }, longLived: true };
    case 'pkexec':
      // pkexec clears the environment, so `env` puts the variable back on the far side.
      return { file: 'pkexec', args: ['/usr/bin/env', 'ELECTRON_RUN_AS_NODE=1', ...node], env: {}, longLived: true };
    case 'sudo': {
      // -b: sudo returns once the password is accepted; setsid: closing the
      // terminal must not send the daemon SIGHUP (it would stop).
      const detach = platform === 'linux' ? ['setsid'] : [];
      const args = ['-b', '--', ...detach, '/usr/bin/env', 'ELECTRON_RUN_AS_NODE=1', ...node];
      return {
        file: 'sudo',
        args,
        env: {},
        shellLine: `${['sudo', ...args].map(shellQuote).join(' ')} </dev/null >/dev/null 2>&1`,
        longLived: false,
      };
    }
    case 'osascript': {
      const line = `ELECTRON_RUN_AS_NODE=1 ${node.map(shellQuote).join(' ')} </dev/null >/dev/null 2>&1 &`;
      return {
        file: '/usr/bin/osascript',
        args: ['-e', `do shell script ${appleScriptString(line)} with administrator privileges`],
        env: {},
        longLived: false,
      };
    }
    case 'runas': {
      // An elevated process started through ShellExecute does not inherit
      // this process's environment: cmd sets the variable on the far side.
      const inner = `set ELECTRON_RUN_AS_NODE=1&& ${node.map(windowsQuote).join(' ')}`;
      const command = `Start-Process -FilePath 'cmd.exe' -ArgumentList ${powershellString(`/d /c "${inner}"`)} -Verb RunAs -WindowStyle Hidden`;
      return { file: 'powershell.exe', args: ['-NoProfile', '-NonInteractive', '-Command', command], env: {}, longLived: false };
    }
  }
}

/** Which launcher fits: root needs none; otherwise the platform's prompt. */
export function defaultLauncherKind(platform: NodeJS.Platform, uid: number | undefined): LauncherKind {
  if (platform === 'win32') return 'runas';
  if (uid === 0) return 'direct';
  return platform === 'darwin' ? 'osascript' : 'pkexec';
}

export type ElevationOutcome = 'ok' | 'cancelled' | 'no-agent' | 'failed';

/** Reads how an elevation command ended: a dismissed prompt is not an error. */
export function classifyElevationExit(kind: LauncherKind, code: number | null, stderr: string): ElevationOutcome {
  if (code === 0) return 'ok';
  switch (kind) {
    case 'pkexec':
      // 126: the user dismissed the dialog; 127: not authorised, or no polkit agent to ask.
      if (code === 127 && /no authentication agent/i.test(stderr)) return 'no-agent';
      return code === 126 || code === 127 ? 'cancelled' : 'failed';
    case 'osascript':
      return /-128|user cancel+ed/i.test(stderr) ? 'cancelled' : 'failed';
    case 'runas':
      return /cancel+ed by the user|1223/i.test(stderr) ? 'cancelled' : 'failed';
    case 'sudo':
      // Ctrl-C at the prompt or three wrong passwords; sudo has no finer code.
      return code === 1 || code === 130 || /incorrect password|a password is required/i.test(stderr) ? 'cancelled' : 'failed';
    case 'direct':
      return 'failed';
  }
}

/** POSIX shell single-quoting; plain words stay readable. */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function appleScriptString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function powershellString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Quotes one argument for a Windows command line (CommandLineToArgvW rules). */
export function windowsQuote(s: string): string {
  if (s !== '' && !/[\s"]/.test(s)) return s;
  let out = '"';
  let backslashes = 0;
  for (const ch of s) {
    if (ch === '\\') { backslashes++; continue; }
    if (ch === '"') { out += '\\'.repeat(backslashes * 2 + 1) + '"'; backslashes = 0; continue; }
    out += '\\'.repeat(backslashes) + ch;
    backslashes = 0;
  }
  return `${out}${'\\'.repeat(backslashes * 2)}"`;
}
