// `npm run test:vscode`: the extension's mocha suites inside a desktop VS
// Code downloaded by @vscode/test-electron (needs the internet and a
// display; on Linux without one, run it under `xvfb-run -a`). The suites
// are bundled with esbuild first; `vscode` and `mocha` stay external.
import { runTests } from '@vscode/test-electron';
import { build } from 'esbuild';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const outDir = join(root, 'out', 'test', 'vscode');

async function main(): Promise<void> {
  const suites = readdirSync(join(__dirname, 'suites')).filter((f) => f.endsWith('.test.ts')).map((f) => join(__dirname, 'suites', f));
  await build({
    entryPoints: [join(__dirname, 'index.ts'), ...suites],
    outdir: outDir,
    outbase: __dirname,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', 'mocha'],
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  const workspace = mkdtempSync(join(tmpdir(), 'tpv-vscode-ws-'));
  await runTests({
    version: process.env.TPV_VSCODE_VERSION ?? 'stable',
    extensionDevelopmentPath: root,
    extensionTestsPath: join(outDir, 'index.js'),
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
    extensionTestsEnv: { TPV_VSCODE_SOCKET: join(workspace, 'no-daemon.sock') },
  });
}

main().catch((e: unknown) => {
  console.error(`VS Code tests failed: ${(e as Error).message ?? String(e)}`);
  process.exit(1);
});
