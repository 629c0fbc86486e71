// Installs code-server from npm so that it runs on this machine's Node 20,
// once, into test/.cache/ (later calls return at once). The recipe is the
// one DESIGN.md records: the package's own install scripts download
// prebuilt binaries from the internet, which is unreachable here, so every
// step is done by hand from registry packages and Debian's.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, lstatSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const CODE_SERVER_VERSION = '4.100.3';

export interface CodeServerInstall {
  /** Directory of the code-server package (holds out/node/entry.js). */
  packageDir: string;
  /** Command line that starts code-server with this machine's Node. */
  command: [string, ...string[]];
  /** Seconds this call spent installing; 0 when it was cached. */
  installSeconds: number;
  /** Size of the installation on disk, in MiB. */
  sizeMiB: number;
}

const repoRoot = join(__dirname, '..', '..', '..');
export const cacheDir = join(repoRoot, 'test', '.cache');

export function codeServerPrefix(version = CODE_SERVER_VERSION): string {
  return join(cacheDir, `code-server-${version}`);
}

/** Idempotent: returns the cached installation when its marker exists. */
export function ensureCodeServer(log: (line: string) => void = () => {}): CodeServerInstall {
  const prefix = codeServerPrefix();
  const packageDir = join(prefix, 'node_modules', 'code-server');
  const marker = join(prefix, '.installed.json');
  const entry = join(packageDir, 'out', 'node', 'entry.js');
  const result = (installSeconds: number, sizeMiB: number): CodeServerInstall => ({
    packageDir,
    command: [process.execPath, entry],
    installSeconds,
    sizeMiB,
  });
  if (existsSync(marker) && existsSync(entry)) {
    const info = JSON.parse(readFileSync(marker, 'utf8')) as { sizeMiB: number };
    return result(0, info.sizeMiB);
  }
  const started = Date.now();
  const env = { ...process.env, npm_config_yes: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
  const run = (cwd: string, cmd: string, args: string[]) => {
    log(`$ (cd ${cwd} && ${cmd} ${args.join(' ')})`);
    execFileSync(cmd, args, { cwd, env, stdio: ['ignore', 'inherit', 'inherit'], timeout: 15 * 60_000 });
  };

  mkdirSync(prefix, { recursive: true });
  if (!existsSync(join(prefix, 'package.json'))) writeFileSync(join(prefix, 'package.json'), JSON.stringify({ name: 'code-server-e2e-cache', private: true }, null, 2));
  // 1. The package itself, without its postinstall (which fetches VS Code's
  //    dependencies and prebuilt binaries from the internet).
  if (!existsSync(entry)) run(prefix, 'npm', ['install', '--no-save', '--ignore-scripts', `code-server@${CODE_SERVER_VERSION}`]);
  const vscodeDir = join(packageDir, 'lib', 'vscode');
  // 2. VS Code server's runtime dependencies, again without install scripts.
  if (!existsSync(join(vscodeDir, 'node_modules', 'node-pty'))) run(vscodeDir, 'npm', ['install', '--omit=dev', '--ignore-scripts']);
  // 3. Native modules compiled against this Node (headers come from the
  //    Debian/nodesource package; kerberos needs libkrb5-dev).
  const natives = ['@parcel/watcher', 'node-pty', 'kerberos', 'native-watchdog', '@vscode/spdlog', '@vscode/deviceid']
    .filter((m) => existsSync(join(vscodeDir, 'node_modules', m)));
  run(vscodeDir, 'npm', ['rebuild', ...natives]);
  // 4. ripgrep: its postinstall downloads a binary; Debian ships one.
  const rgDir = join(vscodeDir, 'node_modules', '@vscode', 'ripgrep', 'bin');
  mkdirSync(rgDir, { recursive: true });
  const rg = join(rgDir, 'rg');
  if (!existsSync(rg)) {
    if (!existsSync('/usr/bin/rg')) throw new Error('code-server setup: /usr/bin/rg is missing; install it with `apt-get install -y ripgrep`');
    symlinkSync('/usr/bin/rg', rg);
  }
  // 5. The server looks for its modules in node_modules.asar (an Electron archive in desktop builds).
  const asar = join(vscodeDir, 'node_modules.asar');
  if (!pathExists(asar)) symlinkSync('node_modules', asar);
  // 6. argon2 (password hashing, loaded at start even with --auth none).
  run(prefix, 'npm', ['rebuild', 'argon2']);

  const sizeMiB = Math.round(duSync(prefix) / (1024 * 1024));
  const installSeconds = Math.round((Date.now() - started) / 1000);
  writeFileSync(marker, JSON.stringify({ version: CODE_SERVER_VERSION, installSeconds, sizeMiB, node: process.version }, null, 2));
  log(`code-server ${CODE_SERVER_VERSION} installed in ${installSeconds}s (${sizeMiB} MiB) at ${prefix}`);
  return result(installSeconds, sizeMiB);
}

/** Removes the cached installation (used after a failed, half-done install). */
export function removeCodeServer(): void {
  rmSync(codeServerPrefix(), { recursive: true, force: true });
}

function pathExists(p: string): boolean {
  try { lstatSync(p); return true; } catch { return false; }
}

function duSync(dir: string): number {
  let total = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) stack.push(p);
      else if (st.isFile()) total += st.size;
    }
  }
  void statSync;
  return total;
}
