// Acceptance of issue 6 in a real VS Code: connected to the lab, right-click
// echo → Intercept and Debug… → the workspace's Node launch configuration
// runs a sample server under js-debug with the workload's mangled
// environment; a request from a lab pod to echo.default stops on the
// server's `debugger` statement; continuing answers it from the workstation;
// stopping the session leaves the intercept, and echo.default is served by
// the cluster again.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { LabWorkbench, missingLabE2ePieces } from './harness/labWorkbench';

const LOCAL_PORT = 18080;

/** A request from a lab pod; resolves with curl's output (it may wait on the breakpoint). */
function curlFromPod(netns: string, url: string, timeoutS: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', netns, 'curl', '-sS', '-m', String(timeoutS), url], { encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as NodeJS.ErrnoException & { code?: unknown }).code) || 1 : 0, stdout, stderr }));
  });
}

const SERVER_JS = `const http = require('node:http');
http.createServer((req, res) => {
  const echoHost = process.env.ECHO_SERVICE_HOST;
  debugger; // the e2e test waits for the debugger to stop here
  res.end('served by the workstation; ECHO_SERVICE_HOST=' + echoHost + '\\n');
}).listen(${LOCAL_PORT}, () => console.log('listening on ${LOCAL_PORT}'));
`;

const LAUNCH_JSON = JSON.stringify({
  version: '0.2.0',
  configurations: [{
    type: 'node', request: 'launch', name: 'echo server (local)', program: '${workspaceFolder}/server.js',
    telepresence: { workload: 'echo', port: `${LOCAL_PORT}:80` },
  }],
}, null, 2);

const skip = missingLabE2ePieces();
if (skip) {
  console.log(`# intercept-and-debug e2e skipped: ${skip}`);
  test('intercept and debug from the tree', { skip }, () => {});
}

describe('intercept and debug from the tree', { skip: skip !== undefined, timeout: 600_000 }, () => {
  let w: LabWorkbench;
  let clientNetns: string;

  before(async () => {
    w = await LabWorkbench.open({
      labPrefix: 'vd',
      settings: { 'debug.openDebug': 'openOnDebugBreak' },
      workspaceFiles: { 'server.js': SERVER_JS, '.vscode/launch.json': LAUNCH_JSON },
    });
    const client = w.lab.pods.find((p) => p.name.startsWith('greeter-')) ?? w.lab.pods.find((p) => !p.name.startsWith('echo-'));
    assert.ok(client, 'the lab has a pod other than echo to send requests from');
    clientNetns = client.netns;
    // Connected first, as a user would be (the connected e2e covers this flow in detail).
    await w.connectFromPalette();
    await w.waitForConnectedStatusBar();
    await w.wb.pane('Cluster').locator('.monaco-list-row[role="treeitem"]', { hasText: 'echo' }).first().waitFor({ timeout: 60_000 });
  });
  afterEach(async (t) => { await w?.reportIfFailed(t); });
  after(async () => { await w?.close('intercept-and-debug e2e'); });

  test('right-click echo → Intercept and Debug… starts the launch configuration with the intercept', async () => {
    await w.wb.treeItemAction('Cluster', 'echo', 'Intercept and Debug…');
    await w.wb.pickQuickItem(/^echo server \(local\)/);
    // The intercept is up once the daemon lists it; the debug toolbar shows the session.
    const deadline = Date.now() + 180_000;
    let st = await w.daemonStatus();
    while (!st.intercepts.some((i) => i.workload === 'echo' && i.mode === 'intercept') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      st = await w.daemonStatus();
    }
    const i = st.intercepts.find((x) => x.workload === 'echo');
    assert.ok(i, `the daemon lists no intercept of echo: ${JSON.stringify(st.intercepts)}`);
    assert.equal(i.localPort, LOCAL_PORT);
    await w.wb.page.locator('.debug-toolbar').waitFor({ timeout: 60_000 });
    // js-debug attaches before the program runs: wait until the server listens
    // (it prints this in the Debug Console once listen() succeeded).
    await w.wb.page.getByText(`listening on ${LOCAL_PORT}`).first().waitFor({ timeout: 60_000 });
  });

  test('a request from a lab pod to echo.default stops on the breakpoint; continuing answers it locally with the mangled env', async () => {
    const request = curlFromPod(clientNetns, 'http://echo.default/', 90);
    const paused = w.wb.page.getByText(/paused on debugger statement/i).first().waitFor({ timeout: 60_000 }).then(() => 'paused' as const);
    const first = await Promise.race([paused, request.then((r) => r)]);
    assert.equal(first, 'paused', `the request finished without stopping on the breakpoint: ${JSON.stringify(first)}`);
    await w.wb.screenshot('intercept-debug-breakpoint');
    await w.wb.runCommand('Debug: Continue');
    const r = await request;
    assert.equal(r.code, 0, r.stderr);
    const m = /served by the workstation; ECHO_SERVICE_HOST=(\S+)/.exec(r.stdout);
    assert.ok(m, `the answer did not come from the local server: ${r.stdout}`);
    assert.match(m[1]!, /^246\.246\./, 'ECHO_SERVICE_HOST holds a virtual IP');
  });

  test('stopping the debug session leaves the intercept; once the daemon lists it no more, echo.default is served by the cluster', async () => {
    await w.wb.runCommand('Debug: Stop');
    // The intercept stays listed (as leaving) until the pods without the agent have rolled out,
    // so gone means done: no rollout left to wait for before the cluster answers.
    const deadline = Date.now() + 180_000;
    const seen = new Set<string>();
    let st = await w.daemonStatus();
    while (st.intercepts.some((x) => x.workload === 'echo') && Date.now() < deadline) {
      for (const x of st.intercepts) if (x.workload === 'echo') seen.add(x.state ?? 'active');
      await new Promise((r) => setTimeout(r, 250));
      st = await w.daemonStatus();
    }
    assert.deepEqual(st.intercepts.filter((x) => x.workload === 'echo'), []);
    console.log(`# echo's states while it was listed after Debug: Stop: ${[...seen].join(', ')}`);
    for (let i = 0; i < 5; i++) {
      const r = await curlFromPod(clientNetns, 'http://echo.default/', 10);
      assert.equal(r.code, 0, `request ${i} once the intercept left the status: ${r.stderr}`);
      assert.match(r.stdout, /pod=echo-/, `request ${i} answered by an echo pod`);
    }
  });
});
