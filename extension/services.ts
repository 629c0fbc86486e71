// What the commands share: created once at activation.
import type * as vscode from 'vscode';
import type { DaemonSession } from './daemon/daemonSession';
import type { TelepresenceTreeProvider } from './tree/telepresenceTreeProvider';
import type { TreeNode } from './tree/treeModel';

export interface Services {
  context: vscode.ExtensionContext;
  log: vscode.LogOutputChannel;
  session: DaemonSession;
  tree: TelepresenceTreeProvider;
  treeView: vscode.TreeView<TreeNode>;
}
