// Disconnect, Quit Daemon and Uninstall Relay.
import * as vscode from 'vscode';
import type { Services } from '../services';

export async function disconnectCommand(s: Services): Promise<void> {
  const client = s.session.daemon;
  if (!client || !s.session.status || s.session.status.connection.state === 'disconnected') {
    void vscode.window.showInformationMessage('Telepresence is not connected.');
    return;
  }
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Telepresence: disconnecting' }, () => client.disconnect());
}

export async function quitDaemonCommand(s: Services): Promise<void> {
  const client = s.session.daemon ?? (await s.session.discover());
  if (!client) {
    void vscode.window.showInformationMessage('The Telepresence daemon is not running.');
    return;
  }
  if (s.session.connected) {
    const target = `${s.session.status?.connection.context}/${s.session.status?.connection.namespace}`;
    const ok = await vscode.window.showWarningMessage(
      'Quit the Telepresence daemon?',
      { modal: true, detail: `This disconnects ${target} for every window and the tpv CLI, ends all intercepts, and removes the routes, DNS settings and TUN device.` },
      'Quit Daemon',
    );
    if (ok !== 'Quit Daemon') return;
  }
  await client.quit({});
  s.session.release();
  void s.session.discover();
}

export async function uninstallRelayCommand(s: Services): Promise<void> {
  const client = s.session.requireConnected('Uninstalling the relay');
  const ok = await vscode.window.showWarningMessage(
    `Remove the Telepresence relay and all agents from ${s.session.status?.connection.context}?`,
    { modal: true, detail: 'Intercepts end for everyone using this cluster with Telepresence for VS Code; the next Connect installs the relay again.' },
    'Uninstall',
  );
  if (ok !== 'Uninstall') return;
  const { removed } = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Telepresence: removing the relay' }, () => client.uninstall());
  void vscode.window.showInformationMessage(removed.length ? `Removed: ${removed.join(', ')}` : 'Nothing to remove: no relay or agents were installed.');
}
