// The packaged extension the e2e tests install: `npm run package` output,
// rebuilt only when a source file is newer than it (packaging rewrites
// dist/, which other suites may be using at that moment).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
export const VSIX_PATH = join(root, 'dist', 'telepresence-vscode.vsix');
const SOURCES = ['extension', 'client', 'webview', 'daemon', 'cli', 'media', 'schemas', 'package.json', '.vscodeignore', 'scripts/build.mjs'];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

export function ensureVsix(log: (l: string) => void = () => {}): { path: string; packagedNow: boolean; seconds: number } {
  const override = process.env.TPV_E2E_VSIX;
  if (override) return { path: override, packagedNow: false, seconds: 0 };
  const vsixTime = existsSync(VSIX_PATH) ? statSync(VSIX_PATH).mtimeMs : 0;
  const sourceTime = Math.max(...SOURCES.map((s) => newestMtime(join(root, s))));
  if (vsixTime > sourceTime) return { path: VSIX_PATH, packagedNow: false, seconds: 0 };
  const t0 = Date.now();
  log('packaging the extension (npm run package)');
  execFileSync('npm', ['run', '--silent', 'package'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 });
  return { path: VSIX_PATH, packagedNow: true, seconds: (Date.now() - t0) / 1000 };
}
