// Acceptance of issue 5 in a real VS Code: the lab up, Connect from the
// palette, the status bar, the tree (namespaces, echo, both lab subnets as
// VNAT), a VNAT mapping appearing live once echo.default is resolved, and
// Disconnect back to the welcome state. code-server, Chromium and hence the
// extension host and the daemon it starts all run in the lab's workstation
// namespace, next to its VPN route 10.0.0.0/8.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodeServer } from './harness/codeServer';
import { ensureVsix } from './harness/vsix';
import { Workbench } from './harness/workbench';
import { missingNetworkPrivileges } from '../support/privileges';
import { uniquePrefix } from '../support/netns';
import type { LabInfo } from '../lab/labLifecycle';

const root = join(__dirname, '..', '..');

/** Why the suite cannot run yet; undefined when the daemon, the lab and privileges are all there. */
function missingPieces(): string | undefined {
  const needed: Array<[string, string]> = [
    ['dist/daemon.js', 'the daemon bundle (run `node scripts/build.mjs`)'],
    ['test/lab/labLifecycle.ts', 'the lab module'],
    ['test/lab/apiserver/index.ts', "the lab's API server emulation"],
  ];
  const absent = needed.filter(([p]) => !existsSync(join(root, p))).map(([p, what]) => `${what} (${p}) is absent`);
  if (absent.length) return absent.join('; ');
  return missingNetworkPrivileges();
}

const skip = missingPieces();
if (skip) {
  console.log(`# connected e2e skipped: ${skip}`);
  test('connected: Connect from the palette against the lab', { skip }, () => {});
}

describe('connected: Connect from the palette against the lab', { skip: skip !== undefined, timeout: 600_000 }, () => {
  let lab: LabInfo;
  let labDown: (name: string) => Promise<unknown>;
  let server: CodeServer;
  let wb: Workbench;
  const dir = mkdtempSync(join(tmpdir(), 'tpv-e2e-connected-'));
  const socketPath = join(dir, 'daemon.sock');
  const t0 = Date.now();

  before(async () => {
    const lifecycle = await import('../lab/labLifecycle');
    labDown = lifecycle.labDown;
    const vsix = ensureVsix((l) => console.log(`# ${l}`));
    lab = await lifecycle.labUp({ name: uniquePrefix('ve') });
    console.log(`# lab ${lab.name} up after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    server = new CodeServer({
      vsix: vsix.path,
      netns: lab.workstationNetns,
      env: { KUBECONFIG: lab.kubeconfig },
      settings: {
        // This suite's own daemon: socket, journal and log never shared with another suite.
        'telepresence.daemon.socketPath': socketPath,
        'telepresence.daemon.stateDir': join(dir, 'state'),
        'telepresence.daemon.logFile': join(dir, 'daemon.log'),
        'telepresence.daemon.idleExitSeconds': 0,
      },
      log: (l) => console.log(`# ${l}`),
    });
    await server.start();
    wb = await Workbench.open(server.url, { netns: lab.workstationNetns });
  });

  afterEach((t) => {
    if (server && 'passed' in t && !t.passed) console.log(`# the extension's log:\n${server.extensionLogTail().replace(/^/gm, '# ')}`);
  });

  after(async () => {
    await wb?.close();
    // Quit the daemon the extension started (it outlives windows by design).
    try {
      const { DaemonClient } = await import('../../client/daemon/daemonClient');
      const client = await DaemonClient.connect({ socketPath });
      await client.quit({});
      client.dispose();
    } catch { /* not running */ }
    await server?.stop();
    server?.remove();
    if (lab) await labDown(lab.name);
    rmSync(dir, { recursive: true, force: true });
    console.log(`# connected e2e took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  test('Connect from the palette: consent, then the status bar shows the connection', async () => {
    await wb.openViewContainer('Telepresence');
    await wb.pane('Cluster').locator('.welcome-view-content').waitFor();
    await wb.runCommand('Telepresence: Connect to Cluster…');
    await wb.pickQuickItem(/.+/); // the kubeconfig's current context comes first
    await wb.pickQuickItem(/^default$/);
    const consent = await wb.answerDialog('Start Daemon');
    assert.match(consent, /Start the Telepresence daemon as root\?/);
    assert.match(consent, /creates the network device tpv0/);
    assert.match(consent, new RegExp(lab.podCidr.replace(/\./g, '\\.')), 'the pod subnet read from the nodes is listed');
    await wb.page.locator('#workbench\\.parts\\.statusbar').getByText(/\/default · \d+ VNAT/).waitFor({ timeout: 180_000 });
    assert.match(await wb.statusBarText(), /\/default · \d+ VNAT/);
  });

  test("the tree lists the lab's namespaces and echo", async () => {
    const pane = 'Cluster';
    await wb.pane(pane).locator('.monaco-list-row[role="treeitem"]', { hasText: 'echo' }).first().waitFor({ timeout: 60_000 });
    const rows = await wb.treeRows(pane);
    const labels = rows.map((r) => r.label);
    for (const ns of lab.namespaces) assert.ok(labels.includes(ns), `namespace ${ns} missing from the tree: ${labels.join(', ')}`);
    const echo = rows.find((r) => r.label === 'echo')!;
    assert.match(echo.description, /^Deployment \d+\/\d+/);
  });

  test('the Subnets node shows both lab subnets as VNAT', async () => {
    await wb.expandTreeItem('Cluster', 'Subnets');
    const rows = await wb.treeRows('Cluster');
    for (const cidr of [lab.serviceCidr, lab.podCidr]) {
      const row = rows.find((r) => r.label === cidr);
      assert.ok(row, `${cidr} missing from Subnets: ${rows.map((r) => r.label).join(', ')}`);
      assert.match(row.description, /^VNAT → 246\.246\./);
    }
    await wb.screenshot('connected-tree');
  });

  test('resolving echo.default makes the mapping appear in the VNAT view (pushed, no refresh)', async () => {
    const echo = lab.services.find((s) => s.namespace === 'default' && s.name === 'echo');
    assert.ok(echo, 'the lab has the echo service');
    const answer = execFileSync('ip', ['netns', 'exec', lab.workstationNetns, 'getent', 'hosts', 'echo.default'], { encoding: 'utf8' }).split(/\s+/)[0]!;
    assert.match(answer, /^246\.246\./);
    const frame = wb.webview();
    await frame.locator('vscode-data-grid-row', { hasText: echo.clusterIP }).first().waitFor({ timeout: 30_000 });
    const rows = await wb.webviewGridRows();
    const row = rows.find((cells) => cells[0] === echo.clusterIP);
    assert.ok(row, `no grid row for ${echo.clusterIP}: ${JSON.stringify(rows)}`);
    assert.equal(row[1], answer, 'the virtual IP shown is the one DNS answered');
    assert.match(row[3]!, /echo\.default/);
    await wb.screenshot('connected-vnat');
  });

  test('Disconnect returns the view to its welcome state', async () => {
    await wb.runCommand('Telepresence: Disconnect');
    await wb.pane('Cluster').locator('.welcome-view-content').waitFor({ timeout: 60_000 });
    await wb.page.locator('#workbench\\.parts\\.statusbar').getByText(/Telepresence: disconnected/).waitFor({ timeout: 30_000 });
    const message = wb.webview().locator('#message-text');
    await message.waitFor();
    assert.match(await message.innerText(), /Not connected/);
  });
});
