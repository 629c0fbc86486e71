// The status bar item: state, context/namespace and VNAT count; a click opens the actions menu.
import * as vscode from 'vscode';
import type { DaemonStatus } from '../../daemon/protocol/rpc';
import { statusBarView } from './statusBarText';

export class TelepresenceStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('telepresence.status', vscode.StatusBarAlignment.Left, 50);

  constructor() {
    this.item.name = 'Telepresence';
    this.item.command = 'telepresence.statusBarMenu';
    this.update(undefined);
    this.item.show();
  }

  update(status: DaemonStatus | undefined): void {
    const v = statusBarView(status);
    this.item.text = v.text;
    this.item.tooltip = v.tooltip;
    this.item.accessibilityInformation = { label: v.tooltip };
    this.item.backgroundColor = v.alert ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
