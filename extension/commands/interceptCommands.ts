// Intercept…, Ingest…, Intercept and Debug…, Leave. They call the daemon's
// intercept/leave methods; the debug integration builds on interceptWorkload.
import * as vscode from 'vscode';
import type { InterceptParams, InterceptResult } from '../../daemon/protocol/rpc';
import { isLeaving, type TreeNode } from '../tree/treeModel';
import { generatedLaunchConfig, type DebugConfigLike } from '../debug/debugConfigIntercept';
import type { Services } from '../services';

interface WorkloadRef { name: string; namespace: string }

async function chooseWorkload(s: Services, node: TreeNode | undefined, title: string): Promise<WorkloadRef | undefined> {
  if (node?.workload) return { name: node.workload.name, namespace: node.workload.namespace };
  const workloads: TreeNode[] = [];
  const walk = (ns: readonly TreeNode[]) => { for (const n of ns) { if (n.kind === 'workload') workloads.push(n); walk(n.children); } };
  walk(s.tree.rootNodes);
  const current = s.session.status?.connection.namespace;
  workloads.sort((a, b) => Number(b.namespace === current) - Number(a.namespace === current));
  const pick = await vscode.window.showQuickPick(
    workloads.map((w) => ({ label: w.workload!.name, description: `${w.workload!.kind} · ${w.workload!.namespace}${isLeaving(w.intercept) ? ' · leaving…' : ''}`, w })),
    { title, placeHolder: workloads.length ? 'Pick a workload' : 'No workloads listed yet: type the name' },
  );
  return pick ? { name: pick.w.workload!.name, namespace: pick.w.workload!.namespace } : undefined;
}

async function askPort(title: string): Promise<string | undefined> {
  const port = await vscode.window.showInputBox({
    title,
    prompt: 'Port as [LOCAL:]REMOTE; REMOTE may be a container port number or name',
    value: '8080',
    validateInput: (v) => (/^(\d{1,5}:)?[\w-]+$/.test(v.trim()) ? undefined : 'e.g. 8080 or 3000:http'),
  });
  return port?.trim();
}

/** Asks for the port and intercepts (or ingests); returns the daemon's result with the mangled environment. */
export async function interceptWorkload(s: Services, mode: InterceptParams['mode'], node?: TreeNode): Promise<InterceptResult | undefined> {
  const what = mode === 'ingest' ? 'Ingesting a workload' : 'Intercepting a workload';
  const client = s.session.requireConnected(what);
  const workload = await chooseWorkload(s, node, mode === 'ingest' ? 'Telepresence: Ingest' : 'Telepresence: Intercept');
  if (!workload) return undefined;
  const port = await askPort(`${mode === 'ingest' ? 'Ingest' : 'Intercept'} ${workload.namespace}/${workload.name}`);
  if (port === undefined) return undefined;
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Telepresence: ${mode} ${workload.name}` }, () =>
    client.intercept({ workload: workload.name, namespace: workload.namespace, port, mode }));
}

export async function interceptCommand(s: Services, mode: InterceptParams['mode'], node?: TreeNode): Promise<void> {
  const result = await interceptWorkload(s, mode, node);
  if (!result) return;
  const i = result.intercept;
  const action = await vscode.window.showInformationMessage(
    `${i.mode === 'ingest' ? 'Ingested' : `Intercepting port ${i.remotePort} of`} ${i.namespace}/${i.workload}${i.mode === 'intercept' ? ` → localhost:${i.localPort}` : ''}.`,
    'Open Terminal with Its Environment',
  );
  if (action) openEnvTerminal(`${i.workload} (${i.mode})`, result.env);
}

/**
 * Intercept and Debug…: a launch configuration of the workspace (or a
 * generated one) started with a "telepresence" block; the debug provider
 * intercepts, hands over the environment and leaves when the session ends.
 */
export async function interceptAndDebugCommand(s: Services, node?: TreeNode): Promise<void> {
  s.session.requireConnected('Intercept and Debug');
  const workload = await chooseWorkload(s, node, 'Telepresence: Intercept and Debug');
  if (!workload) return;
  const folder = vscode.workspace.workspaceFolders?.length === 1
    ? vscode.workspace.workspaceFolders[0]
    : vscode.workspace.workspaceFolders?.length ? await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Workspace folder whose launch configurations to use' }) : undefined;
  const launch = vscode.workspace.getConfiguration('launch', folder?.uri);
  const configurations = launch.get<DebugConfigLike[]>('configurations', []).filter((c) => c && c.request === 'launch');
  type Item = vscode.QuickPickItem & { config?: DebugConfigLike; language?: 'node' | 'python' | 'go' };
  const items: Item[] = [
    ...configurations.map((c) => ({ label: c.name, description: c.type, detail: telepresenceDetail(c), config: c })),
    { label: 'Generate', kind: vscode.QuickPickItemKind.Separator },
    { label: '$(add) Node.js launch configuration', description: 'runs the active file', language: 'node' as const },
    { label: '$(add) Python launch configuration', description: 'runs the active file (debugpy)', language: 'python' as const },
    { label: '$(add) Go launch configuration', description: "runs the active file's package", language: 'go' as const },
  ];
  const pick = await vscode.window.showQuickPick(items, {
    title: `Intercept and Debug ${workload.namespace}/${workload.name}`,
    placeHolder: configurations.length ? 'Launch configuration to debug with the intercept' : 'No launch configurations yet: generate one',
  });
  if (!pick || (!pick.config && !pick.language)) return;
  const preset = pick.config && isBlockFor(pick.config, workload) ? String((pick.config.telepresence as { port: unknown }).port) : undefined;
  const port = preset ?? (await askPort(`Intercept ${workload.namespace}/${workload.name} while debugging "${pick.config?.name ?? pick.label}"`));
  if (port === undefined) return;
  let config: DebugConfigLike;
  if (pick.language) {
    config = generatedLaunchConfig(pick.language, workload.name, workload.namespace, port);
    if (folder) {
      // Saved, so it can be started again with F5 and edited with completion (the schema knows "telepresence").
      await launch.update('configurations', [...launch.get<unknown[]>('configurations', []), config], vscode.ConfigurationTarget.WorkspaceFolder);
    }
  } else {
    config = { ...pick.config!, telepresence: { workload: workload.name, namespace: workload.namespace, port } };
  }
  const started = await vscode.debug.startDebugging(folder, config as vscode.DebugConfiguration);
  if (!started) s.log.warn(`the debug session "${config.name}" did not start`);
}

function isBlockFor(c: DebugConfigLike, w: WorkloadRef): boolean {
  const t = c.telepresence as { workload?: unknown; namespace?: unknown; port?: unknown } | undefined;
  return !!t && t.workload === w.name && (t.namespace === undefined || t.namespace === w.namespace) && t.port !== undefined;
}

function telepresenceDetail(c: DebugConfigLike): string | undefined {
  const t = c.telepresence as { workload?: unknown; port?: unknown } | undefined;
  return t ? `already intercepts ${String(t.workload)} port ${String(t.port)}` : undefined;
}

export async function leaveCommand(s: Services, node?: TreeNode): Promise<void> {
  const client = s.session.requireConnected('Leaving an intercept');
  const all = s.session.status?.intercepts ?? [];
  // Those being left already are not offered: leaving them again would only wait for that leave.
  const intercepts = all.filter((i) => !isLeaving(i));
  let target = node?.intercept ? { workload: node.intercept.workload, namespace: node.intercept.namespace } : undefined;
  if (!target) {
    if (intercepts.length === 0) {
      void vscode.window.showInformationMessage(all.length ? `Already leaving ${all.map((i) => i.workload).join(', ')}; no other intercept or ingest is active.` : 'No intercept or ingest is active.');
      return;
    }
    const pick = await vscode.window.showQuickPick(intercepts.map((i) => ({ label: i.workload, description: `${i.mode} · ${i.namespace} · :${i.remotePort}`, i })), { title: 'Telepresence: Leave' });
    if (!pick) return;
    target = { workload: pick.i.workload, namespace: pick.i.namespace };
  }
  await client.leave(target);
}

function openEnvTerminal(name: string, env: Record<string, string>): void {
  vscode.window.createTerminal({ name: `Telepresence: ${name}`, env, message: 'This terminal has the workload\'s environment; cluster IPs in VNAT subnets appear as virtual IPs.' }).show();
}
