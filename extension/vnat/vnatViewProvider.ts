// The VNAT mappings sidebar: a webview view fed by postMessage only, with
// the mapping changes the daemon pushes (vnat.delta); nothing polls. The
// webview gets the whole table when it (re)loads or is shown again, then
// only the changes: a hidden view's webview is gone, so changes meanwhile are
// not posted, and showing it posts the table again.
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import type { VnatMapping } from '../../daemon/protocol/rpc';
import type { VnatChange } from '../../client/daemon/vnatMirror';
import { isFromWebview, type ToWebview, type VnatViewConnection } from '../../webview/vnatMessages';
import { vnatViewHtml } from './vnatHtml';

export interface VnatViewActions {
  connect(): void;
  reveal(realIp: string, virtualIp: string): void;
}

export class VnatViewProvider implements vscode.WebviewViewProvider {
  static readonly viewId = 'telepresence.vnatMappings';
  private view: vscode.WebviewView | undefined;
  private state: Extract<ToWebview, { type: 'state' }> = { type: 'state', connection: 'no-daemon' };
  private table: ReadonlyMap<string, VnatMapping> = new Map();
  /** The webview holds the table as of the last post, so a change can go as a delta. */
  private synced = false;
  private badgeCount = -1;

  constructor(private readonly extensionUri: vscode.Uri, private readonly actions: VnatViewActions) {}

  setConnection(connection: VnatViewConnection, target?: string): void {
    if (connection === this.state.connection && target === this.state.target) return;
    this.state = { type: 'state', connection, ...(target ? { target } : {}) };
    if (this.view) void this.view.webview.postMessage(this.state);
    this.updateBadge();
  }

  /** `table` is the table after `change` (the session's copy, by virtual IP). */
  mappingsChanged(change: VnatChange, table: ReadonlyMap<string, VnatMapping>): void {
    this.table = table;
    this.updateBadge();
    if (!this.view?.visible || !this.synced) return;
    const message: ToWebview = { type: 'mappings', full: change.full, upserts: change.upserts, removed: change.removed };
    void this.view.webview.postMessage(message);
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.synced = false;
    this.badgeCount = -1;
    const distUri = vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
    view.webview.options = { enableScripts: true, localResourceRoots: [distUri] };
    view.webview.html = vnatViewHtml({
      nonce: randomBytes(16).toString('base64'),
      cspSource: view.webview.cspSource,
      scriptUri: view.webview.asWebviewUri(vscode.Uri.joinPath(distUri, 'vnatView.js')).toString(),
    });
    view.webview.onDidReceiveMessage((m: unknown) => {
      if (!isFromWebview(m)) return;
      switch (m.type) {
        case 'ready': this.postAll(view); break;
        case 'copy': void vscode.env.clipboard.writeText(m.text).then(() => vscode.window.setStatusBarMessage('Copied VNAT mapping', 2000)); break;
        case 'reveal': this.actions.reveal(m.realIp, m.virtualIp); break;
        case 'connect': this.actions.connect(); break;
      }
    });
    view.onDidChangeVisibility(() => {
      if (view.visible) this.postAll(view);
      else this.synced = false;
    });
    view.onDidDispose(() => { if (this.view === view) { this.view = undefined; this.synced = false; } });
    this.updateBadge();
  }

  /** The state and the whole table: after a (re)load or being shown again. Changes then go as deltas. */
  private postAll(view: vscode.WebviewView): void {
    void view.webview.postMessage(this.state);
    const all: ToWebview = { type: 'mappings', full: true, upserts: [...this.table.values()], removed: [] };
    void view.webview.postMessage(all);
    this.synced = true;
  }

  private updateBadge(): void {
    if (!this.view) return;
    const n = this.state.connection === 'connected' ? this.table.size : 0;
    if (n === this.badgeCount) return;
    this.badgeCount = n;
    this.view.badge = this.state.connection === 'connected' && n > 0 ? { value: n, tooltip: `${n} VNAT mappings` } : undefined;
  }
}
