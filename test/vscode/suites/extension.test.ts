// The e2e suite's checks, from inside a desktop VS Code's extension host:
// lazy activation and its cost, every command registered and in the
// palette under "Telepresence", the views contributed, and the
// requires-a-connection handling when no daemon runs.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

const EXTENSION_ID = 'telepresence-vscode.telepresence-vscode';

interface Manifest {
  contributes: {
    commands: Array<{ command: string; title: string; category: string }>;
    menus: { commandPalette: Array<{ command: string; when: string }> };
    views: Record<string, Array<{ id: string }>>;
    viewsWelcome: Array<{ view: string; contents: string }>;
  };
  activationEvents: string[];
}

suite('Telepresence extension', () => {
  const ext = vscode.extensions.getExtension<{ activationMs: number }>(EXTENSION_ID)!;
  const manifest = ext.packageJSON as Manifest;

  suiteSetup(async () => {
    // A socket nobody serves: a daemon running on this machine must not be found.
    await vscode.workspace.getConfiguration('telepresence').update('daemon.socketPath', process.env.TPV_VSCODE_SOCKET, vscode.ConfigurationTarget.Global);
  });

  test('is not active until its view or a command is used', () => {
    assert.ok(ext, `${EXTENSION_ID} is installed`);
    assert.equal(ext.isActive, false);
    assert.ok(!manifest.activationEvents.includes('*') && !manifest.activationEvents.includes('onStartupFinished'));
  });

  test('opening the Telepresence view activates it in under 50 ms', async () => {
    await vscode.commands.executeCommand('workbench.view.extension.telepresence');
    for (let i = 0; i < 100 && !ext.isActive; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(ext.isActive, true);
    const { activationMs } = ext.exports;
    console.log(`activation: ${activationMs} ms`);
    assert.ok(activationMs < 50, `activation took ${activationMs} ms`);
  });

  test('every contributed command is registered, under the Telepresence category', async () => {
    const registered = new Set(await vscode.commands.getCommands(true));
    for (const c of manifest.contributes.commands) {
      assert.equal(c.category, 'Telepresence');
      assert.ok(registered.has(c.command), `${c.command} is not registered`);
    }
  });

  test('the views and the welcome content are contributed', () => {
    const ids = manifest.contributes.views.telepresence!.map((v) => v.id);
    assert.deepEqual(ids, ['telepresence.tree', 'telepresence.vnatMappings']);
    assert.ok(manifest.contributes.viewsWelcome.some((w) => w.view === 'telepresence.tree' && w.contents.includes('(command:telepresence.connect)')));
  });

  test('a command that needs a connection does not throw without a daemon', async () => {
    await vscode.commands.executeCommand('telepresence.openTerminal');
    await vscode.commands.executeCommand('telepresence.leave');
    assert.equal(vscode.window.terminals.filter((t) => t.name.startsWith('Telepresence:')).length, 0);
  });
});
