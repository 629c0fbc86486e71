// Acceptance of issue 5 in a real VS Code: the lab up, Connect from the
// palette, the status bar, the tree (namespaces, echo, both lab subnets as
// VNAT), a VNAT mapping appearing live once echo.default is resolved, and
// Disconnect back to the welcome state. code-server, Chromium and hence the
// extension host and the daemon it starts all run in the lab's workstation
// namespace, next to its VPN route 10.0.0.0/8.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { LabWorkbench, missingLabE2ePieces } from './harness/labWorkbench';

const skip = missingLabE2ePieces();
if (skip) {
  console.log(`# connected e2e skipped: ${skip}`);
  test('connected: Connect from the palette against the lab', { skip }, () => {});
}

describe('connected: Connect from the palette against the lab', { skip: skip !== undefined, timeout: 600_000 }, () => {
  let w: LabWorkbench;

  before(async () => { w = await LabWorkbench.open({ labPrefix: 've' }); });
  afterEach(async (t) => { await w?.reportIfFailed(t); });
  after(async () => { await w?.close('connected e2e'); });

  test('Connect from the palette: consent, then the status bar shows the connection', async () => {
    const consent = await w.connectFromPalette();
    assert.match(consent, /Start the Telepresence daemon as root\?/);
    assert.match(consent, /creates the network device tpv0/);
    assert.match(consent, new RegExp(w.lab.podCidr.replace(/\./g, '\\.')), 'the pod subnet read from the nodes is listed');
    await w.waitForConnectedStatusBar();
    assert.match(await w.wb.statusBarText(), /\/default · \d+ VNAT/);
  });

  test("the tree lists the lab's namespaces and echo", async () => {
    const pane = 'Cluster';
    await w.wb.pane(pane).locator('.monaco-list-row[role="treeitem"]', { hasText: 'echo' }).first().waitFor({ timeout: 60_000 });
    const rows = await w.wb.treeRows(pane);
    const labels = rows.map((r) => r.label);
    for (const ns of w.lab.namespaces) assert.ok(labels.includes(ns), `namespace ${ns} missing from the tree: ${labels.join(', ')}`);
    const echo = rows.find((r) => r.label === 'echo')!;
    assert.match(echo.description, /^Deployment \d+\/\d+/);
  });

  test('the Subnets node shows both lab subnets as VNAT', async () => {
    await w.wb.expandTreeItem('Cluster', 'Subnets');
    const rows = await w.wb.treeRows('Cluster');
    for (const cidr of [w.lab.serviceCidr, w.lab.podCidr]) {
      const row = rows.find((r) => r.label === cidr);
      assert.ok(row, `${cidr} missing from Subnets: ${rows.map((r) => r.label).join(', ')}`);
      assert.match(row.description, /^VNAT → 246\.246\./);
    }
    await w.wb.screenshot('connected-tree');
  });

  test('resolving echo.default makes the mapping appear in the VNAT view (pushed, no refresh)', async () => {
    const echo = w.lab.services.find((s) => s.namespace === 'default' && s.name === 'echo');
    assert.ok(echo, 'the lab has the echo service');
    const answer = execFileSync('ip', ['netns', 'exec', w.lab.workstationNetns, 'getent', 'hosts', 'echo.default'], { encoding: 'utf8' }).split(/\s+/)[0]!;
    assert.match(answer, /^246\.246\./);
    const frame = w.wb.webview();
    await frame.locator('vscode-data-grid-row', { hasText: echo.clusterIP }).first().waitFor({ timeout: 30_000 });
    const rows = await w.wb.webviewGridRows();
    const row = rows.find((cells) => cells[0] === echo.clusterIP);
    assert.ok(row, `no grid row for ${echo.clusterIP}: ${JSON.stringify(rows)}`);
    assert.equal(row[1], answer, 'the virtual IP shown is the one DNS answered');
    assert.match(row[3]!, /echo\.default/);
    await w.wb.screenshot('connected-vnat');
  });

  test('Disconnect returns the view to its welcome state', async () => {
    await w.wb.runCommand('Telepresence: Disconnect');
    await w.wb.pane('Cluster').locator('.welcome-view-content').waitFor({ timeout: 60_000 });
    await w.wb.page.locator('#workbench\\.parts\\.statusbar').getByText(/Telepresence: disconnected/).waitFor({ timeout: 30_000 });
    const message = w.wb.webview().locator('#message-text');
    await message.waitFor();
    assert.match(await message.innerText(), /Not connected/);
  });
});
