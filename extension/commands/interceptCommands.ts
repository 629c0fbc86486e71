// Intercept…, Ingest…, Intercept and Debug…, Leave. They call the daemon's
// intercept/leave methods; the debug integration builds on interceptWorkload.
import * as vscode from 'vscode';
import type { InterceptParams, InterceptResult } from '../../daemon/protocol/rpc';
import type { TreeNode } from '../tree/treeModel';
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
    workloads.map((w) => ({ label: w.workload!.name, description: `${w.workload!.kind} · ${w.workload!.namespace}`, w })),
    { title, placeHolder: workloads.length ? 'Pick a workload' : 'No workloads listed yet: type the name' },
  );
  return pick ? { name: pick.w.workload!.name, namespace: pick.w.workload!.namespace } : undefined;
}

/** Asks for the port and intercepts (or ingests); returns the daemon's result with the mangled environment. */
export async function interceptWorkload(s: Services, mode: InterceptParams['mode'], node?: TreeNode): Promise<InterceptResult | undefined> {
  const what = mode === 'ingest' ? 'Ingesting a workload' : 'Intercepting a workload';
  const client = s.session.requireConnected(what);
  const workload = await chooseWorkload(s, node, mode === 'ingest' ? 'Telepresence: Ingest' : 'Telepresence: Intercept');
  if (!workload) return undefined;
  const port = await vscode.window.showInputBox({
    title: `${mode === 'ingest' ? 'Ingest' : 'Intercept'} ${workload.namespace}/${workload.name}`,
    prompt: 'Port as [LOCAL:]REMOTE; REMOTE may be a container port number or name',
    value: '8080',
    validateInput: (v) => (/^(\d{1,5}:)?[\w-]+$/.test(v.trim()) ? undefined : 'e.g. 8080 or 3000:http'),
  });
  if (port === undefined) return undefined;
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Telepresence: ${mode} ${workload.name}` }, () =>
    client.intercept({ workload: workload.name, namespace: workload.namespace, port: port.trim(), mode }));
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

export async function interceptAndDebugCommand(s: Services, node?: TreeNode): Promise<void> {
  const result = await interceptWorkload(s, 'intercept', node);
  if (!result) return;
  // The launch configuration integration (onDebugResolve) hands result.env to the debuggee.
  void vscode.window.showInformationMessage(`Intercepting ${result.intercept.workload}: start your debug session on localhost:${result.intercept.localPort}.`);
}

export async function leaveCommand(s: Services, node?: TreeNode): Promise<void> {
  const client = s.session.requireConnected('Leaving an intercept');
  const intercepts = s.session.status?.intercepts ?? [];
  let target = node?.intercept ? { workload: node.intercept.workload, namespace: node.intercept.namespace } : undefined;
  if (!target) {
    if (intercepts.length === 0) { void vscode.window.showInformationMessage('No intercept or ingest is active.'); return; }
    const pick = await vscode.window.showQuickPick(intercepts.map((i) => ({ label: i.workload, description: `${i.mode} · ${i.namespace} · :${i.remotePort}`, i })), { title: 'Telepresence: Leave' });
    if (!pick) return;
    target = { workload: pick.i.workload, namespace: pick.i.namespace };
  }
  await client.leave(target);
}

function openEnvTerminal(name: string, env: Record<string, string>): void {
  vscode.window.createTerminal({ name: `Telepresence: ${name}`, env, message: 'This terminal has the workload\'s environment; cluster IPs in VNAT subnets appear as virtual IPs.' }).show();
}
