// One e2e suite's world: a lab, code-server with the packaged extension in
// the lab's workstation namespace, Chromium on it, and a daemon of the
// suite's own (socket, journal, log), plus what a failing test should print.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DaemonStatus, VnatMapping } from '../../../daemon/protocol/rpc';
import type { LabInfo } from '../../lab/labLifecycle';
import { uniquePrefix } from '../../support/netns';
import { missingNetworkPrivileges } from '../../support/privileges';
import { CodeServer } from './codeServer';
import { ensureVsix } from './vsix';
import { Workbench } from './workbench';

const root = join(__dirname, '..', '..', '..');

/** Why a lab e2e suite cannot run; undefined when the daemon bundle, the lab and privileges are there. */
export function missingLabE2ePieces(): string | undefined {
  const needed: Array<[string, string]> = [
    ['dist/daemon.js', 'the daemon bundle (run `node scripts/build.mjs`)'],
    ['test/lab/apiserver/index.ts', "the lab's API server emulation"],
  ];
  const absent = needed.filter(([p]) => !existsSync(join(root, p))).map(([p, what]) => `${what} (${p}) is absent`);
  return absent.length ? absent.join('; ') : missingNetworkPrivileges();
}

export interface LabWorkbenchOptions {
  /** Prefix of the lab's name (namespaces), unique per suite. */
  labPrefix: string;
  settings?: Record<string, unknown>;
  workspaceFiles?: Record<string, string>;
}

export class LabWorkbench {
  readonly dir = mkdtempSync(join(tmpdir(), 'tpv-e2e-'));
  readonly socketPath = join(this.dir, 'daemon.sock');
  readonly daemonLog = join(this.dir, 'daemon.log');
  lab!: LabInfo;
  private labName: string | undefined;
  server!: CodeServer;
  wb!: Workbench;
  private readonly t0 = Date.now();

  private constructor(private readonly opts: LabWorkbenchOptions) {}

  static async open(opts: LabWorkbenchOptions): Promise<LabWorkbench> {
    const w = new LabWorkbench(opts);
    try {
      await w.start();
    } catch (e) {
      await w.close('a failed start').catch(() => undefined); // nothing left behind
      throw e;
    }
    return w;
  }

  private async start(): Promise<void> {
    const w = this;
    const opts = this.opts;
    const { labUp } = await import('../../lab/labLifecycle');
    const vsix = ensureVsix((l) => console.log(`# ${l}`));
    w.labName = uniquePrefix(opts.labPrefix);
    w.lab = await labUp({ name: w.labName });
    console.log(`# lab ${w.lab.name} up after ${((Date.now() - w.t0) / 1000).toFixed(1)} s`);
    w.server = new CodeServer({
      vsix: vsix.path,
      netns: w.lab.workstationNetns,
      // TPV_SOCKET as well as the setting: a window opened after a frozen one was killed sometimes
      // does not get the suite's user settings from code-server, and would look for the daemon
      // on the default socket.
      env: { KUBECONFIG: w.lab.kubeconfig, TPV_SOCKET: w.socketPath },
      settings: {
        'telepresence.daemon.socketPath': w.socketPath,
        'telepresence.daemon.stateDir': join(w.dir, 'state'),
        'telepresence.daemon.logFile': w.daemonLog,
        'telepresence.daemon.idleExitSeconds': 0,
        ...opts.settings,
      },
      ...(opts.workspaceFiles ? { workspaceFiles: opts.workspaceFiles } : {}),
      log: (l) => console.log(`# ${l}`),
    });
    await w.server.start();
    w.wb = await Workbench.open(w.server.url, { netns: w.lab.workstationNetns });
  }

  /** Connect from the palette (current context, namespace default), consenting; returns the consent dialog's text. */
  async connectFromPalette(): Promise<string> {
    const { wb } = this;
    await wb.openViewContainer('Telepresence');
    await wb.pane('Cluster').locator('.welcome-view-content').waitFor();
    await wb.runCommand('Telepresence: Connect to Cluster…');
    await wb.pickQuickItem(/.+/); // the kubeconfig's current context comes first
    await wb.pickQuickItem(/^default$/);
    return wb.answerDialog('Start Daemon');
  }

  async waitForConnectedStatusBar(): Promise<void> {
    await this.wb.page.locator('#workbench\\.parts\\.statusbar').getByText(/\/default · \d+ VNAT/).waitFor({ timeout: 180_000 });
  }

  async daemonStatus(): Promise<DaemonStatus> {
    const { DaemonClient } = await import('../../../client/daemon/daemonClient');
    const client = await DaemonClient.connect({ socketPath: this.socketPath });
    try { return await client.status(); } finally { client.dispose(); }
  }

  async daemonMappings(): Promise<VnatMapping[]> {
    const { DaemonClient } = await import('../../../client/daemon/daemonClient');
    const client = await DaemonClient.connect({ socketPath: this.socketPath });
    try { return await client.vnatList(); } finally { client.dispose(); }
  }

  /** The daemon's log so far ('' before it wrote one). */
  daemonLogText(): string {
    try { return readFileSync(this.daemonLog, 'utf8'); } catch { return ''; }
  }

  /** A new window on the same workspace (the old one is closed first, abruptly); the extension activates in it as it would for a user. */
  async reopenWindow(): Promise<void> {
    await this.wb.openWindow(this.server.url);
  }

  /** For afterEach: a screenshot and the extension's and daemon's logs when the test failed. */
  async reportIfFailed(t: { name: string } & Partial<{ passed: boolean }>): Promise<void> {
    if (t.passed !== false || !this.server) return;
    await this.wb?.screenshot(`${this.opts.labPrefix}-failed-${t.name.slice(0, 24).replace(/\W+/g, '-')}`).catch(() => undefined);
    console.log(`# the extension's log:\n${this.server.extensionLogTail().replace(/^/gm, '# ')}`);
    try {
      console.log(`# the daemon's log:\n${readFileSync(this.daemonLog, 'utf8').trimEnd().split('\n').slice(-40).join('\n').replace(/^/gm, '# ')}`);
    } catch { /* no daemon yet */ }
  }

  /** Quits the suite's daemon (it outlives windows by design), stops VS Code, removes the lab and the files. */
  async close(what: string): Promise<void> {
    await this.wb?.close();
    try {
      const { DaemonClient } = await import('../../../client/daemon/daemonClient');
      const client = await DaemonClient.connect({ socketPath: this.socketPath });
      await client.quit({});
      client.dispose();
    } catch { /* not running */ }
    await this.server?.stop();
    this.server?.remove();
    if (this.labName) await (await import('../../lab/labLifecycle')).labDown(this.labName); // also after a half-done up
    rmSync(this.dir, { recursive: true, force: true });
    console.log(`# ${what} took ${((Date.now() - this.t0) / 1000).toFixed(1)} s`);
  }
}
