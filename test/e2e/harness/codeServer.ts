// A code-server process for one test file: its own user-data, extensions
// and config directories, the packaged extension installed, auth off, bound
// to loopback (on the host, or inside a given network namespace).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ensureCodeServer } from './codeServerInstall';
import { extensionHostsUnder, readProcessTable, type ProcessEntry } from './processTree';

export interface CodeServerOptions {
  vsix: string;
  /** Run inside this network namespace (`ip netns exec`); default: the host's loopback. */
  netns?: string;
  /** User settings (settings.json); `${e2eWorkspace}` in a string value becomes the workspace folder's path. */
  settings?: Record<string, unknown>;
  /** Extra environment for the server and its extension host (e.g. KUBECONFIG, HOME). */
  env?: Record<string, string>;
  /** Files to create in the workspace folder. */
  workspaceFiles?: Record<string, string>;
  log?: (line: string) => void;
}

export class CodeServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'tpv-e2e-cs-'));
  readonly userDataDir = join(this.dir, 'user-data');
  readonly extensionsDir = join(this.dir, 'extensions');
  readonly workspace = join(this.dir, 'workspace');
  readonly home = join(this.dir, 'home');
  private child: ChildProcess | undefined;
  private output = '';
  url = '';

  constructor(private readonly opts: CodeServerOptions) {}

  /** Everything the server printed (for failure messages). */
  get log(): string { return this.output; }

  /** The server's process id (`ip netns exec` replaces itself with code-server, so this is code-server's own). */
  get pid(): number | undefined { return this.child?.pid; }

  /** The extension host processes of this server's windows (its descendants run with `--type=extensionHost`). */
  extensionHosts(): ProcessEntry[] {
    const pid = this.pid;
    return pid === undefined ? [] : extensionHostsUnder(readProcessTable(), pid);
  }

  async start(): Promise<void> {
    const install = ensureCodeServer(this.opts.log);
    for (const d of [this.userDataDir, this.extensionsDir, this.workspace, this.home, join(this.userDataDir, 'User')]) mkdirSync(d, { recursive: true });
    for (const [name, text] of Object.entries(this.opts.workspaceFiles ?? {})) {
      mkdirSync(dirname(join(this.workspace, name)), { recursive: true });
      writeFileSync(join(this.workspace, name), text);
    }
    writeFileSync(join(this.userDataDir, 'User', 'settings.json'), JSON.stringify({
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'workbench.enableExperiments': false,
      'security.workspace.trust.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'update.mode': 'none',
      'window.commandCenter': false,
      ...this.opts.settings,
    }, null, 2).replaceAll('${e2eWorkspace}', this.workspace));
    const config = join(this.dir, 'config.yaml');
    writeFileSync(config, 'auth: none\ncert: false\n');
    const base = [...install.command.slice(1), '--config', config, '--user-data-dir', this.userDataDir, '--extensions-dir', this.extensionsDir];
    const env = { ...process.env, HOME: this.home, XDG_CONFIG_HOME: join(this.home, '.config'), XDG_DATA_HOME: join(this.home, '.local/share'), ...this.opts.env };
    // Installing is a separate run, as a user would do it.
    await new Promise<void>((resolve, reject) => {
      execFile(install.command[0], [...base, '--install-extension', this.opts.vsix], { env, timeout: 120_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`code-server --install-extension failed: ${stderr || stdout || err.message}`));
        else { this.output += stdout; resolve(); }
      });
    });
    const port = this.opts.netns ? 18080 + Math.floor(Math.random() * 1000) : await freePort();
    const args = [...base, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', '--ignore-last-opened', this.workspace];
    const [cmd, ...cmdArgs] = this.opts.netns ? ['ip', 'netns', 'exec', this.opts.netns, install.command[0], ...args] : [install.command[0], ...args];
    const child = spawn(cmd!, cmdArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const collect = (d: Buffer) => { this.output += d.toString(); };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`code-server did not start within 60 s:\n${this.output}`)), 60_000);
      const check = () => {
        if (/HTTP server listening on/.test(this.output)) { clearTimeout(timer); child.stdout!.off('data', check); resolve(); }
      };
      child.stdout!.on('data', check);
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`code-server exited (${code}) before listening:\n${this.output}`)); });
    });
    this.url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(this.workspace)}`;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The extension's own log (its LogOutputChannel as VS Code writes it), last `lines` lines; for failure reports. */
  extensionLogTail(lines = 60): string {
    const found: string[] = [];
    const walk = (d: string) => {
      let names: string[] = [];
      try { names = readdirSync(d); } catch { return; }
      for (const n of names) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (/Telepresence.*\.log$/.test(n)) found.push(p);
      }
    };
    walk(join(this.userDataDir, 'logs'));
    return found.map((f) => `== ${f}\n${readFileSync(f, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')}`).join('\n') || '(no extension log found)';
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
