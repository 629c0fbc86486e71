// Adapts the pure tree model to VS Code's TreeDataProvider. Redraws when the
// daemon pushes a status or the cluster watches report a change.
import * as vscode from 'vscode';
import { buildTree, parentIndex, type ClusterSnapshot, type TreeNode } from './treeModel';
import type { DaemonStatus } from '../../daemon/protocol/rpc';

const EMPTY: ClusterSnapshot = { namespaces: [], workloads: [], loaded: false };

export class TelepresenceTreeProvider implements vscode.TreeDataProvider<TreeNode> {
  private roots: TreeNode[] = [];
  private parents = new Map<string, TreeNode | undefined>();
  private readonly byId = new Map<string, TreeNode>();
  private status: DaemonStatus | undefined;
  private cluster: ClusterSnapshot = EMPTY;
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  update(status: DaemonStatus | undefined, cluster: ClusterSnapshot | undefined): void {
    this.status = status;
    this.cluster = cluster ?? EMPTY;
    this.roots = buildTree(this.status, this.cluster);
    this.parents = parentIndex(this.roots);
    this.byId.clear();
    const walk = (ns: TreeNode[]) => { for (const n of ns) { this.byId.set(n.id, n); walk(n.children); } };
    walk(this.roots);
    this.changed.fire(undefined);
  }

  get rootNodes(): readonly TreeNode[] { return this.roots; }

  node(id: string): TreeNode | undefined { return this.byId.get(id); }

  getChildren(element?: TreeNode): TreeNode[] {
    return element ? element.children : this.roots;
  }

  getParent(element: TreeNode): TreeNode | undefined {
    return this.parents.get(element.id);
  }

  getTreeItem(n: TreeNode): vscode.TreeItem {
    const state = n.collapsible === 'none' ? vscode.TreeItemCollapsibleState.None
      : n.collapsible === 'expanded' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed;
    const item = new vscode.TreeItem(n.label, state);
    item.id = n.id;
    if (n.description) item.description = n.description;
    if (n.tooltip) item.tooltip = n.tooltip;
    item.contextValue = n.contextValue;
    if (n.icon) item.iconPath = new vscode.ThemeIcon(n.icon, n.iconColor ? new vscode.ThemeColor(n.iconColor) : undefined);
    item.accessibilityInformation = { label: [n.label, n.description].filter(Boolean).join(', ') };
    return item;
  }
}
