// The extension's settings, read in one place with their defaults.
import * as vscode from 'vscode';
import type { LogLevel } from '../daemon/protocol/rpc';
import { clientSocketPath } from '../daemon/protocol/socketPath';

export type LauncherSetting = 'auto' | 'pkexec' | 'sudo' | 'direct';

export interface TelepresenceSettings {
  kubeconfig: string;
  socketPath: string;
  launcher: LauncherSetting;
  logLevel: LogLevel;
  idleExitSeconds: number;
  /** Empty = the daemon's defaults. */
  stateDir: string;
  logFile: string;
  confirmElevation: boolean;
  askForFlags: boolean;
  defaultFlags: string;
}

export function readSettings(): TelepresenceSettings {
  const c = vscode.workspace.getConfiguration('telepresence');
  return {
    kubeconfig: c.get<string>('kubeconfig', '').trim(),
    socketPath: socketPathSetting(c),
    launcher: c.get<LauncherSetting>('daemon.launcher', 'auto'),
    logLevel: c.get<LogLevel>('daemon.logLevel', 'info'),
    idleExitSeconds: c.get<number>('daemon.idleExitSeconds', 300),
    stateDir: c.get<string>('daemon.stateDir', '').trim(),
    logFile: c.get<string>('daemon.logFile', '').trim(),
    confirmElevation: c.get<boolean>('confirmElevation', true),
    askForFlags: c.get<boolean>('connect.askForFlags', false),
    defaultFlags: c.get<string>('connect.flags', ''),
  };
}

/** `telepresence.routing.*` as an object for parseVsCodeRoutingSettings (daemon/config/clientConfig.ts). */
export function readRoutingSettings(): Record<string, unknown> {
  const c = vscode.workspace.getConfiguration('telepresence.routing');
  const out: Record<string, unknown> = {};
  for (const key of ['virtualSubnet', 'autoResolveConflicts', 'allowConflictingSubnets', 'alsoProxy', 'neverProxy']) {
    const inspected = c.inspect(key);
    // Only values the user set: the defaults must not hide config.yml.
    const v = inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/**
 * The daemon socket: the setting when the user set it, else TPV_SOCKET as for
 * `tpv`, else the default. The manifest's default does not count as set, or the
 * environment could never apply.
 */
function socketPathSetting(c: vscode.WorkspaceConfiguration): string {
  const i = c.inspect<string>('daemon.socketPath');
  return clientSocketPath(i?.workspaceFolderValue ?? i?.workspaceValue ?? i?.globalValue, process.env);
}
