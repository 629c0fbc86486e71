// Starts the intercept a launch configuration asks for (`"telepresence": {…}`),
// hands the workload's mangled environment to the debuggee, and leaves the
// intercept when the debug session ends. Registered for every debug type.
//
// Restarts: VS Code ends the old session and resolves the configuration again
// for the new one. The configuration keeps its session key and injection
// mark, so the intercept is not started twice, and the leave is delayed long
// enough for the new session to claim it.
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import type { Services } from '../services';
import { interceptRequest, withWorkloadEnv, type DebugConfigLike } from './debugConfigIntercept';

const LEAVE_GRACE_MS = 4000;

interface HeldIntercept {
  workload: string;
  namespace: string;
  sessions: number;
  leaveTimer?: NodeJS.Timeout;
}

export class InterceptDebugProvider implements vscode.DebugConfigurationProvider, vscode.Disposable {
  private readonly held = new Map<string, HeldIntercept>();
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly s: Services) {
    this.subscriptions = [
      vscode.debug.onDidStartDebugSession((session) => {
        const h = this.heldFor(session);
        if (!h) return;
        h.sessions++;
        if (h.leaveTimer) { clearTimeout(h.leaveTimer); delete h.leaveTimer; }
      }),
      vscode.debug.onDidTerminateDebugSession((session) => {
        const key = sessionKey(session);
        const h = key ? this.held.get(key) : undefined;
        if (!key || !h) return;
        h.sessions = Math.max(0, h.sessions - 1);
        if (h.sessions > 0) return;
        h.leaveTimer = setTimeout(() => void this.leave(key), LEAVE_GRACE_MS);
      }),
    ];
  }

  async resolveDebugConfigurationWithSubstitutedVariables(
    _folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): Promise<vscode.DebugConfiguration | undefined> {
    const status = this.s.session.status;
    let params;
    try {
      params = interceptRequest(config as DebugConfigLike, status?.connection.namespace);
    } catch (e) {
      void vscode.window.showErrorMessage((e as Error).message, 'Open launch.json').then((a) => a && vscode.commands.executeCommand('workbench.action.debug.configure'));
      return undefined; // undefined aborts the launch
    }
    if (!params) return config;
    if (status?.connection.state !== 'connected') {
      const pick = await vscode.window.showWarningMessage(
        `"${config.name}" intercepts ${params.workload}: connect to the cluster first.`, 'Connect');
      if (pick) await vscode.commands.executeCommand('telepresence.connect');
      if (this.s.session.status?.connection.state !== 'connected') return undefined;
    }
    const client = this.s.session.requireConnected('Debugging with an intercept');
    const namespace = params.namespace ?? this.s.session.status?.connection.namespace ?? 'default';
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Telepresence: intercepting ${namespace}/${params.workload} for "${config.name}"` },
      () => client.intercept({ ...params, namespace }),
    ).then(undefined, (e: Error) => {
      this.s.log.error(`intercept for debug configuration "${config.name}": ${e.message}`);
      void vscode.window.showErrorMessage(`Telepresence could not intercept ${params.workload}: ${e.message}`);
      return undefined;
    });
    if (!result) return undefined;
    const key = randomUUID();
    this.held.set(key, { workload: result.intercept.workload, namespace: result.intercept.namespace, sessions: 0 });
    this.s.log.info(`debug session "${config.name}": intercepting ${result.intercept.namespace}/${result.intercept.workload} port ${result.intercept.remotePort} → localhost:${result.intercept.localPort}; ${Object.keys(result.env).length} environment variables handed to the debuggee`);
    return withWorkloadEnv(config as DebugConfigLike, result.env, key) as vscode.DebugConfiguration;
  }

  private heldFor(session: vscode.DebugSession): HeldIntercept | undefined {
    const key = sessionKey(session);
    return key ? this.held.get(key) : undefined;
  }

  private async leave(key: string): Promise<void> {
    const h = this.held.get(key);
    if (!h || h.sessions > 0) return;
    this.held.delete(key);
    try {
      await this.s.session.requireConnected('Leaving an intercept').leave({ workload: h.workload, namespace: h.namespace });
      this.s.log.info(`debug session ended: left the intercept of ${h.namespace}/${h.workload}`);
    } catch (e) {
      this.s.log.warn(`leaving the intercept of ${h.namespace}/${h.workload} after the debug session: ${(e as Error).message}`);
    }
  }

  dispose(): void {
    for (const d of this.subscriptions) d.dispose();
    for (const h of this.held.values()) if (h.leaveTimer) clearTimeout(h.leaveTimer);
  }
}

function sessionKey(session: vscode.DebugSession): string | undefined {
  // Child sessions (js-debug's per-process targets) carry no key of their own: only the top session counts.
  const key = (session.configuration as { __telepresenceSession?: unknown }).__telepresenceSession;
  return typeof key === 'string' && !session.parentSession ? key : undefined;
}
