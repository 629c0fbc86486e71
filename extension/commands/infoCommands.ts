// Show Status, Show Logs, Show VNAT Mappings, Open Connected Terminal, the
// status bar's action menu, and revealing a VNAT mapping's workload.
import * as vscode from 'vscode';
import { nodeIdForMapping } from '../tree/treeModel';
import type { Services } from '../services';

export const STATUS_URI = vscode.Uri.parse('telepresence-status:/Telepresence%20Status.jsonc');

/** The read-only status document, refreshed on every pushed status. */
export class StatusDocument implements vscode.TextDocumentContentProvider {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  constructor(private readonly s: Services) {}
  refresh(): void { this.changed.fire(STATUS_URI); }
  provideTextDocumentContent(): string {
    const st = this.s.session.status;
    if (!st) return '// The Telepresence daemon is not running. Run "Telepresence: Connect" to start it.\n';
    return `// Telepresence status (live; updates when the daemon pushes a change)\n${JSON.stringify({ ...st, vnatMappings: this.s.session.mappings.size }, null, 2)}\n`;
  }
}

export async function showStatusCommand(doc: StatusDocument): Promise<void> {
  doc.refresh();
  const d = await vscode.workspace.openTextDocument(STATUS_URI);
  await vscode.window.showTextDocument(d, { preview: true });
}

export async function showVnatCommand(): Promise<void> {
  await vscode.commands.executeCommand('telepresence.vnatMappings.focus');
}

export function openTerminalCommand(s: Services): void {
  s.session.requireConnected('Opening a connected terminal');
  const c = s.session.status!.connection;
  const vnat = c.plan?.subnets.filter((e) => e.resolution === 'vnat' || e.resolution === 'proxy-via') ?? [];
  const terminal = vscode.window.createTerminal({
    name: `Telepresence: ${c.context}/${c.namespace}`,
    env: {
      TELEPRESENCE_CONTEXT: c.context ?? '',
      TELEPRESENCE_NAMESPACE: c.namespace ?? '',
      ...(c.plan ? { TELEPRESENCE_VIRTUAL_SUBNET: c.plan.virtualSubnet } : {}),
    },
    message: [
      `Connected to ${c.context}/${c.namespace}: cluster DNS names (e.g. <service>.${c.namespace}, <service>.<namespace>.svc.cluster.local) resolve from here and their IPs are routed through ${c.device ?? 'the Telepresence device'}.`,
      vnat.length ? `Subnets behind VNAT (${vnat.map((e) => e.subnet).join(', ')}) resolve to virtual IPs in ${c.plan!.virtualSubnet}.` : '',
    ].filter(Boolean).join(' '),
  });
  terminal.show();
}

export async function revealMapping(s: Services, realIp: string, virtualIp: string): Promise<void> {
  const found = s.session.mappings.get(virtualIp);
  const m = found?.realIp === realIp ? found : undefined;
  const id = m && nodeIdForMapping(m, s.tree.rootNodes);
  const node = id ? s.tree.node(id) : undefined;
  if (!node) {
    void vscode.window.showInformationMessage(`No workload in the tree matches ${realIp} (${virtualIp}).`);
    return;
  }
  await s.treeView.reveal(node, { select: true, focus: true, expand: true });
}

export async function statusBarMenuCommand(s: Services): Promise<void> {
  const state = s.session.status?.connection.state;
  const items: Array<vscode.QuickPickItem & { command: string }> = [];
  if (state !== 'connected' && state !== 'connecting') items.push({ label: '$(plug) Connect…', command: 'telepresence.connect' });
  if (state === 'connected' || state === 'connecting' || state === 'reconnecting') items.push({ label: '$(debug-disconnect) Disconnect', command: 'telepresence.disconnect' });
  if (state === 'connected') {
    items.push(
      { label: '$(arrow-swap) Show VNAT Mappings', description: `${s.session.mappings.size}`, command: 'telepresence.showVnatMappings' },
      { label: '$(terminal) Open Connected Terminal', command: 'telepresence.openTerminal' },
      { label: '$(debug-alt) Intercept…', command: 'telepresence.intercept' },
    );
  }
  items.push({ label: '$(info) Show Status', command: 'telepresence.showStatus' }, { label: '$(output) Show Logs', command: 'telepresence.showLogs' });
  if (s.session.status) items.push({ label: '$(stop-circle) Quit Daemon', command: 'telepresence.quitDaemon' });
  const pick = await vscode.window.showQuickPick(items, { title: 'Telepresence', placeHolder: s.session.status ? `${state}` : 'daemon not running' });
  if (pick) await vscode.commands.executeCommand(pick.command);
}
