// How a command's failure reaches the user: a dismissed password prompt or a
// declined consent is calm information, a missing connection offers Connect,
// anything else is an error with a way to the logs.
import * as vscode from 'vscode';

export function reportCommandError(log: vscode.LogOutputChannel, command: string, e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  switch (err.name) {
    case 'ElevationCancelled':
    case 'ConsentDeclined':
      log.info(`${command}: ${err.message}`);
      void vscode.window.showInformationMessage(err.message);
      return;
    case 'NotConnected':
      void vscode.window.showWarningMessage(err.message, 'Connect').then((a) => { if (a) void vscode.commands.executeCommand('telepresence.connect'); });
      return;
    case 'Canceled':
      return;
  }
  log.error(`${command}: ${err.stack ?? err.message}`);
  void vscode.window.showErrorMessage(`Telepresence: ${err.message}`, 'Show Logs').then((a) => { if (a) log.show(true); });
}
