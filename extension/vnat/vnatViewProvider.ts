// The VNAT mappings sidebar: a webview view fed by postMessage only, with
// the mapping list the daemon pushes (vnat.changed); nothing polls.
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import type { VnatMapping } from '../../daemon/protocol/rpc';
import { isFromWebview, type ToWebview, type VnatViewConnection } from '../../webview/vnatMessages';
import { vnatViewHtml } from './vnatHtml';

export interface VnatViewActions {
  connect(): void;
  reveal(realIp: string, virtualIp: string): void;
}

export class VnatViewProvider implements vscode.WebviewViewProvider {
  static readonly viewId = 'telepresence.vnatMappings';
  private view: vscode.WebviewView | undefined;
  private last: ToWebview = { type: 'state', connection: 'no-daemon', mappings: [] };

  constructor(private readonly extensionUri: vscode.Uri, private readonly actions: VnatViewActions) {}

  update(connection: VnatViewConnection, mappings: VnatMapping[], target?: string): void {
    this.last = { type: 'state', connection, mappings, ...(target ? { target } : {}) };
    if (this.view) {
      void this.view.webview.postMessage(this.last);
      this.view.badge = connection === 'connected' && mappings.length > 0 ? { value: mappings.length, tooltip: `${mappings.length} VNAT mappings` } : undefined;
    }
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
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
        case 'ready': void view.webview.postMessage(this.last); break;
        case 'copy': void vscode.env.clipboard.writeText(m.text).then(() => vscode.window.setStatusBarMessage('Copied VNAT mapping', 2000)); break;
        case 'reveal': this.actions.reveal(m.realIp, m.virtualIp); break;
        case 'connect': this.actions.connect(); break;
      }
    });
    view.onDidChangeVisibility(() => { if (view.visible) void view.webview.postMessage(this.last); });
    view.onDidDispose(() => { if (this.view === view) this.view = undefined; });
  }
}
