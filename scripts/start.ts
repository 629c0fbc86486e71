// `npm start`, the main job: the lab cluster (with a VPN that conflicts),
// and VS Code (code-server) with the packaged extension, running inside the
// lab's workstation namespace, served to this machine on 127.0.0.1:8080.
// Ctrl-C stops VS Code and the daemon; the lab stays up until `npm run lab -- down`.
import { spawn } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { labUp } from '../test/lab/labLifecycle';
import { CodeServer } from '../test/e2e/harness/codeServer';
import { ensureVsix } from '../test/e2e/harness/vsix';

const LAB = process.env.TPV_LAB_NAME ?? 'tpvlab';
// Not $PORT: code-server reads that one and would listen there instead.
const PORT = Number(process.env.TPV_START_PORT ?? 8080);

function say(line: string): void {
  process.stdout.write(`start: ${line}\n`);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the lab builds network namespaces: run as root (sudo npm start)');
  say('packaging the extension');
  const vsix = ensureVsix(say);
  say(`bringing up the lab "${LAB}"`);
  const lab = await labUp({ name: LAB, progress: (l) => say(l) });
  say(`lab ready: kubeconfig ${lab.kubeconfig}`);
  const cs = new CodeServer({
    vsix: vsix.path,
    netns: lab.workstationNetns,
    settings: { 'telepresence.kubeconfig': lab.kubeconfig, 'telepresence.confirmElevation': true },
    workspaceFiles: { 'README.md': `# Telepresence lab\n\nRun **Telepresence: Connect** (context \`lab\`), then try \`curl http://echo.default/\` in a Telepresence terminal.\n` },
    log: say,
  });
  await cs.start();
  const inner = new URL(cs.url);
  // The workstation namespace's loopback is not this machine's: bridge it
  // through a Unix socket that both namespaces can see.
  const sock = join(lab.stateDir, 'code-server-bridge.sock');
  rmSync(sock, { force: true });
  const bridge = spawn('ip', ['netns', 'exec', lab.workstationNetns, process.execPath, '-e',
    `const net=require('net');net.createServer(c=>{const u=net.connect(${inner.port},'127.0.0.1');c.pipe(u).pipe(c);u.on('error',()=>c.destroy());c.on('error',()=>u.destroy());}).listen(${JSON.stringify(sock)});`], { stdio: 'inherit' });
  const server = createServer((c) => {
    const u = createConnection(sock);
    c.pipe(u).pipe(c);
    u.on('error', () => c.destroy());
    c.on('error', () => u.destroy());
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(PORT, '127.0.0.1', () => resolve()); });
  say(`open http://127.0.0.1:${PORT}/${inner.search} in a browser`);
  say('then run "Telepresence: Connect" from the command palette (context "lab"); Ctrl-C stops VS Code');
  const stop = async () => {
    say('stopping VS Code (the lab stays up; `npm run lab -- down` removes it)');
    server.close();
    bridge.kill();
    await cs.stop();
    rmSync(sock, { force: true });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((e: Error) => {
  process.stderr.write(`start: error: ${e.message}\n`);
  process.exit(1);
});
