// Extension entry. Activation only registers commands, views and the status
// bar; everything heavy (the Kubernetes client, the daemon client, command
// bodies) loads on first use, so activation stays within a few milliseconds.
import { moduleStart } from './activationClock';
import * as vscode from 'vscode';
import { DaemonSession } from './daemon/daemonSession';
import { TelepresenceTreeProvider } from './tree/telepresenceTreeProvider';
import { VnatViewProvider } from './vnat/vnatViewProvider';
import { TelepresenceStatusBar } from './status/statusBar';
import { reportCommandError } from './commands/commandErrors';
import type { Services } from './services';
import type { TreeNode } from './tree/treeModel';
import type { ClusterWatcher } from './kube/clusterWatcher';
import { loadRuntime } from './runtimeLoader';
import type { StatusDocument } from './commands/infoCommands';

export interface TelepresenceApi {
  /** CPU-side cost of activation: evaluating this bundle's modules plus the activate() call, in ms (waiting between the two is not counted). */
  activationMs: number;
}

export function activate(context: vscode.ExtensionContext): TelepresenceApi {
  const activateStart = performance.now();
  const log = vscode.window.createOutputChannel('Telepresence', { log: true });
  const session = new DaemonSession(context, log);
  const tree = new TelepresenceTreeProvider();
  const treeView = vscode.window.createTreeView('telepresence.tree', { treeDataProvider: tree, showCollapseAll: true });
  const statusBar = new TelepresenceStatusBar();
  const s: Services = { context, log, session, tree, treeView };
  const vnat = new VnatViewProvider(context.extensionUri, {
    connect: () => void vscode.commands.executeCommand('telepresence.connect'),
    reveal: (realIp, virtualIp) => void import('./commands/infoCommands').then((m) => m.revealMapping(s, realIp, virtualIp)),
  });
  context.subscriptions.push(log, session, treeView, statusBar, vscode.window.registerWebviewViewProvider(VnatViewProvider.viewId, vnat));
  void vscode.commands.executeCommand('setContext', 'telepresence.state', 'no-daemon');

  let statusDoc: StatusDocument | undefined;
  let debugProvider: import('./debug/interceptDebugProvider').InterceptDebugProvider | undefined;
  const getStatusDoc = async () => {
    if (!statusDoc) {
      const { StatusDocument } = await import('./commands/infoCommands');
      statusDoc = new StatusDocument(s);
      context.subscriptions.push(vscode.workspace.registerTextDocumentContentProvider('telepresence-status', statusDoc));
    }
    return statusDoc;
  };

  const register = (id: string, run: (...args: never[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, async (...args: never[]) => {
      try {
        return await run(...args);
      } catch (e) {
        reportCommandError(log, id, e);
        return undefined;
      }
    }));
  register('telepresence.connect', async (args?: import('./runtime').ConnectArgs) => loadRuntime().connectCommand(s, args));
  register('telepresence.disconnect', async () => (await import('./commands/daemonCommands')).disconnectCommand(s));
  register('telepresence.quitDaemon', async () => (await import('./commands/daemonCommands')).quitDaemonCommand(s));
  register('telepresence.uninstallRelay', async () => (await import('./commands/daemonCommands')).uninstallRelayCommand(s));
  register('telepresence.showStatus', async () => (await import('./commands/infoCommands')).showStatusCommand(await getStatusDoc()));
  register('telepresence.showVnatMappings', async () => (await import('./commands/infoCommands')).showVnatCommand());
  register('telepresence.openTerminal', async () => (await import('./commands/infoCommands')).openTerminalCommand(s));
  register('telepresence.showLogs', () => log.show());
  register('telepresence.statusBarMenu', async () => (await import('./commands/infoCommands')).statusBarMenuCommand(s));
  register('telepresence.refresh', () => { tree.update(session.status, watcher?.snapshot()); });
  register('telepresence.intercept', async (node?: TreeNode) => (await import('./commands/interceptCommands')).interceptCommand(s, 'intercept', node));
  register('telepresence.ingest', async (node?: TreeNode) => (await import('./commands/interceptCommands')).interceptCommand(s, 'ingest', node));
  register('telepresence.interceptAndDebug', async (node?: TreeNode) => (await import('./commands/interceptCommands')).interceptAndDebugCommand(s, node));
  register('telepresence.leave', async (node?: TreeNode) => (await import('./commands/interceptCommands')).leaveCommand(s, node));
  // Launch configurations with a "telepresence" block, for every debugger; the provider itself loads on first use.
  context.subscriptions.push(vscode.debug.registerDebugConfigurationProvider('*', {
    resolveDebugConfigurationWithSubstitutedVariables: async (folder, config) => {
      if (!config || !('telepresence' in config)) return config; // nothing to do: no module loaded
      debugProvider ??= new (await import('./debug/interceptDebugProvider')).InterceptDebugProvider(s);
      return debugProvider.resolveDebugConfigurationWithSubstitutedVariables(folder, config);
    },
  }));
  context.subscriptions.push({ dispose: () => debugProvider?.dispose() });
  register('telepresence.copySubnet', async (node?: TreeNode) => { if (node) await vscode.env.clipboard.writeText(`${node.label}\t${node.description ?? ''}`); });

  // Cluster watches follow the connected context, with the user's credentials.
  let watcher: ClusterWatcher | undefined;
  let watchedContext: string | undefined;
  const followCluster = async () => {
    const c = session.status?.connection;
    const wanted = c && (c.state === 'connected' || c.state === 'reconnecting') ? c.context : undefined;
    if (wanted === watchedContext) return;
    watcher?.dispose();
    watcher = undefined;
    watchedContext = wanted;
    if (!wanted) return;
    try {
      const { ClusterWatcher, kubeConfigFor, loadUserKubeconfig } = loadRuntime();
      const w = new ClusterWatcher(await kubeConfigFor(loadUserKubeconfig().config, wanted));
      if (watchedContext !== wanted) { w.dispose(); return; }
      watcher = w;
      w.onDidChange(() => tree.update(session.status, w.snapshot()));
      await w.start();
    } catch (e) {
      log.warn(`cannot watch workloads of ${wanted}: ${(e as Error).message}`);
      tree.update(session.status, { namespaces: [], workloads: [], loaded: true, error: `Cannot read the cluster with your kubeconfig: ${(e as Error).message}` });
    }
  };
  context.subscriptions.push({ dispose: () => watcher?.dispose() });

  const vnatState = () => {
    const st = session.status?.connection;
    const connection = !st ? 'no-daemon' : st.state === 'connected' ? 'connected' : st.state === 'connecting' || st.state === 'reconnecting' ? 'connecting' : 'disconnected';
    vnat.setConnection(connection, st?.context ? `${st.context}/${st.namespace}` : undefined);
  };
  context.subscriptions.push(
    session.onDidChangeStatus((st) => {
      statusBar.update(st);
      tree.update(st, watcher?.snapshot());
      vnatState();
      statusDoc?.refresh();
      void followCluster();
    }),
    session.onDidChangeMappings((change) => {
      vnat.mappingsChanged(change, session.mappings);
      statusBar.update(session.status && { ...session.status, vnatMappingCount: session.mappings.size });
    }),
    session.onCredentialsExpired(({ context: ctx }) => void refreshCredentials(s, ctx)),
  );

  // Attach to a daemon that already runs (another window or tpv started it), off the activation path.
  setTimeout(() => void session.discover(), 0);
  const activateMs = performance.now() - activateStart;
  const activationMs = Math.round((moduleEvaluationMs + activateMs) * 100) / 100;
  log.info(`Telepresence activated in ${activationMs} ms (module evaluation ${moduleEvaluationMs.toFixed(2)} ms, activate() ${activateMs.toFixed(2)} ms)`);
  return { activationMs };
}

/** The daemon asked for fresh credentials: resolve them again as the user (exec plugins run here). */
async function refreshCredentials(s: Services, contextName: string): Promise<void> {
  try {
    const { loadUserKubeconfig, flattenKubeconfig } = loadRuntime();
    const flat = await flattenKubeconfig(loadUserKubeconfig().config, contextName, s.session.status?.connection.namespace);
    await s.session.daemon?.updateCredentials(flat.text);
    s.log.info(`sent fresh credentials for ${contextName}`);
  } catch (e) {
    s.log.error(`refreshing credentials for ${contextName}: ${(e as Error).message}`);
    void vscode.window.showErrorMessage(`Telepresence: the cluster rejected the credentials for ${contextName} and refreshing them failed: ${(e as Error).message}`);
  }
}

export function deactivate(): void {
  // The daemon is shared and outlives this window; subscriptions clean up the rest.
}

// Last statement of the bundle's entry: everything above has been evaluated.
const moduleEvaluationMs = performance.now() - moduleStart;
