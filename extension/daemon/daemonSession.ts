// This window's link to the machine's daemon: finds a running one (several
// windows share it), starts one after consent, follows its pushed status and
// VNAT mappings, and streams its log into the output channel.
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import type { DaemonStatus, LogEntry, VnatMapping } from '../../daemon/protocol/rpc';
import type { DaemonClient } from '../../client/daemon/daemonClient';
import type { VnatChange } from '../../client/daemon/vnatMirror';
import type { DaemonLauncher, LaunchedProcess } from '../../client/daemon/daemonLauncher';
import type { DaemonLaunchSpec, LauncherKind } from '../../client/daemon/launchCommands';
import { readSettings } from '../settings';
import { consentText, type ConsentFacts } from './consentMessage';
import { loadDaemonLink, type DaemonLink } from '../runtimeLoader';
import { withinDeadline } from '../../client/daemon/stepDeadline';

/** How long one attach step (version, status, VNAT table, log subscription) may take before the look starts over. */
const ATTACH_STEP_MS = 10_000;

/** Thrown by commands that need a connected cluster. */
export class NotConnected extends Error {
  override readonly name = 'NotConnected';
  constructor(what: string) {
    super(`${what} requires a connection: run "Telepresence: Connect" first.`);
  }
}

const NO_MAPPINGS: ReadonlyMap<string, VnatMapping> = new Map();

export type ConsentFactsProvider = (launcher: LauncherKind) => Promise<Omit<ConsentFacts, 'launcher' | 'reason' | 'replaceDetail'>>;

export class DaemonSession implements vscode.Disposable {
  private client: DaemonClient | undefined;
  private clientSubscriptions: Array<{ dispose(): void }> = [];
  private discoverTimer: NodeJS.Timeout | undefined;
  private attaching: Promise<DaemonClient | undefined> | undefined;
  /** Why the last look found no daemon; said once in the log, not every 5 s. */
  private notRunningSaid: string | undefined;
  private _status: DaemonStatus | undefined;
  private readonly statusEmitter = new vscode.EventEmitter<DaemonStatus | undefined>();
  private readonly mappingsEmitter = new vscode.EventEmitter<VnatChange>();
  private readonly credentialsEmitter = new vscode.EventEmitter<{ context: string }>();
  /** undefined = no daemon. */
  readonly onDidChangeStatus = this.statusEmitter.event;
  /** How `mappings` just changed (deltas from the daemon; a full change replaces the table). */
  readonly onDidChangeMappings = this.mappingsEmitter.event;
  readonly onCredentialsExpired = this.credentialsEmitter.event;

  constructor(private readonly context: vscode.ExtensionContext, private readonly log: vscode.LogOutputChannel) {}

  get status(): DaemonStatus | undefined { return this._status; }
  /** The VNAT table by virtual IP, kept up to date by the daemon's pushes (the client's copy). */
  get mappings(): ReadonlyMap<string, VnatMapping> { return this.client?.vnatMappings ?? NO_MAPPINGS; }
  get connected(): boolean { return this._status?.connection.state === 'connected'; }
  get daemon(): DaemonClient | undefined { return this.client; }

  /** The client when a cluster is connected; otherwise a NotConnected error naming `what`. */
  requireConnected(what: string): DaemonClient {
    if (!this.client || !this.connected) throw new NotConnected(what);
    return this.client;
  }

  /**
   * Attaches to a daemon that is already running, without starting one; looks
   * again every few seconds while none runs, so a daemon another window or
   * `tpv` starts shows up here too.
   */
  async discover(): Promise<DaemonClient | undefined> {
    if (this.client) return this.client;
    this.attaching ??= (async () => {
      let client: DaemonClient;
      let link: DaemonLink;
      try {
        link = loadDaemonLink();
        client = await link.DaemonClient.connect({ socketPath: readSettings().socketPath, reconnect: true, log: (m) => this.log.debug(m) });
      } catch (e) {
        // No daemon listening is the ordinary case: one line says why (it names the socket), the
        // same reason again says nothing. Anything else is worth a warning every time.
        const message = (e as Error).message;
        if ((e as Error).name !== 'DaemonNotRunning') this.log.warn(`looking for a running daemon failed: ${message}; looking again in 5 s`);
        else if (this.notRunningSaid !== message) this.log.info(`${message} Looking for one every 5 s.`);
        this.notRunningSaid = (e as Error).name === 'DaemonNotRunning' ? message : undefined;
        this.scheduleDiscovery();
        return undefined;
      }
      this.notRunningSaid = undefined;
      try {
        // Every step has a deadline: a daemon that accepted the socket but never answers would
        // otherwise hold this look (and every later one, which joins it) forever, in silence.
        const v = await withinDeadline('version', ATTACH_STEP_MS, client.version());
        if (link.decideHandshake(v, { version: this.version, protocolVersion: link.PROTOCOL_VERSION }).action === 'client-too-old') {
          this.log.warn(`the running daemon ${v.version} speaks protocol ${v.protocolVersion}; update this extension to use it`);
          client.dispose();
          return undefined;
        }
        // Connect's ensure() may have started the daemon and adopted its own client while this
        // look was under way (the periodic one fires when the socket has just appeared):
        // adopting this one too would dispose that client and fail its connect request.
        if (this.client) { client.dispose(); return this.client; }
        await this.adopt(client);
        this.log.info(`attached to the running daemon ${v.version} (pid ${v.pid})`);
        return client;
      } catch (e) {
        // A half-adopted client would make every later look return it, and this window would
        // never show the daemon; a client left undisposed would keep reconnecting on its own.
        this.log.warn(`attaching to the running daemon failed: ${(e as Error).message}; trying again in 5 s`);
        if (this.client === client) this.release();
        else client.dispose();
        this.scheduleDiscovery();
        return undefined;
      }
    })().finally(() => { this.attaching = undefined; });
    return this.attaching;
  }

  /** Finds or starts the daemon (with the consent dialog) and returns a client. */
  async ensure(facts: ConsentFactsProvider, signal?: AbortSignal): Promise<DaemonClient> {
    const existing = this.client ?? (await this.discover());
    const settings = readSettings();
    const { ensureDaemon, ConsentDeclined, ElevationUnavailable, PROTOCOL_VERSION, decideHandshake } = loadDaemonLink();
    if (existing) {
      const v = await existing.version();
      if (decideHandshake(v, { version: this.version, protocolVersion: PROTOCOL_VERSION }).action === 'use') return existing;
      // Older daemon: let ensureDaemon replace it on a fresh connection.
      this.release();
    }
    let kind = await this.launcherKind(settings.launcher);
    for (;;) {
      try {
        const launcherKind = kind;
        const { client } = await ensureDaemon({
          socketPath: settings.socketPath,
          reconnect: true,
          log: (m) => this.log.debug(m),
          clientVersion: this.version,
          spec: this.launchSpec(),
          launcher: () => this.launcher(launcherKind),
          consent: async (why, detail) => this.askConsent({ ...(await facts(launcherKind)), launcher: launcherKind, reason: why, ...(detail ? { replaceDetail: detail } : {}) }),
          signal,
        });
        await this.adopt(client);
        return client;
      } catch (e) {
        if (e instanceof ElevationUnavailable && kind === 'pkexec') {
          this.log.warn(`${e.message}; falling back to sudo in a terminal`);
          kind = 'sudo';
          continue;
        }
        if (e instanceof ConsentDeclined) throw e;
        throw e;
      }
    }
  }

  /** After quit: forget the client and stop following it. */
  release(): void {
    for (const d of this.clientSubscriptions.splice(0)) d.dispose();
    this.client?.dispose();
    this.client = undefined;
    this.setStatus(undefined);
    this.mappingsEmitter.fire({ full: true, upserts: [], removed: [] });
  }

  dispose(): void {
    if (this.discoverTimer) clearTimeout(this.discoverTimer);
    this.release();
    this.statusEmitter.dispose();
    this.mappingsEmitter.dispose();
    this.credentialsEmitter.dispose();
  }

  private get version(): string {
    return String((this.context.extension.packageJSON as { version?: string }).version ?? '0.0.0');
  }

  private scheduleDiscovery(): void {
    if (this.discoverTimer) return;
    this.discoverTimer = setTimeout(() => { this.discoverTimer = undefined; void this.discover(); }, 5000);
  }

  private async adopt(client: DaemonClient): Promise<void> {
    if (this.client === client) return;
    this.release();
    this.client = client;
    this.clientSubscriptions.push(
      client.onStatusChanged((s) => this.setStatus(s)),
      client.onVnatChange((c) => this.mappingsEmitter.fire(c)),
      client.onLog((entry) => this.writeLog(entry)),
      client.onCredentialsExpired((c) => this.credentialsEmitter.fire(c)),
      client.onConnectionLost(() => { this.log.info('lost the daemon connection; reconnecting'); this.setStatus(undefined); }),
      // The client fetched the VNAT table again before saying so (a restarted daemon has another).
      client.onReconnected((v) => { this.log.info(`reconnected to daemon ${v.version} (pid ${v.pid})`); }),
    );
    this.setStatus(await withinDeadline('status', ATTACH_STEP_MS, client.status()));
    await withinDeadline('the VNAT table', ATTACH_STEP_MS, client.followVnat());
    await withinDeadline('the log subscription', ATTACH_STEP_MS, client.subscribeLogs(this.daemonLogLevel()));
  }

  private setStatus(s: DaemonStatus | undefined): void {
    this._status = s;
    void vscode.commands.executeCommand('setContext', 'telepresence.state', s ? s.connection.state : 'no-daemon');
    void vscode.commands.executeCommand('setContext', 'telepresence.connected', s?.connection.state === 'connected');
    this.statusEmitter.fire(s);
  }

  private writeLog(e: LogEntry): void {
    const line = `[daemon:${e.scope}] ${e.message}`;
    switch (e.level) {
      case 'trace': this.log.trace(line); break;
      case 'debug': this.log.debug(line); break;
      case 'info': this.log.info(line); break;
      case 'warn': this.log.warn(line); break;
      case 'error': this.log.error(line); break;
    }
  }

  private daemonLogLevel(): LogEntry['level'] {
    // Follow the output channel's level so "Set Log Level…" also applies to the daemon's lines.
    switch (this.log.logLevel) {
      case vscode.LogLevel.Trace: return 'trace';
      case vscode.LogLevel.Debug: return 'debug';
      case vscode.LogLevel.Warning: return 'warn';
      case vscode.LogLevel.Error: return 'error';
      default: return 'info';
    }
  }

  private launchSpec(): DaemonLaunchSpec {
    const s = readSettings();
    return {
      nodePath: process.execPath,
      daemonScript: vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'daemon.js').fsPath,
      socketPath: s.socketPath,
      ownerUid: process.getuid?.() ?? 0,
      ownerGid: process.getgid?.() ?? 0,
      logLevel: s.logLevel,
      idleExitSeconds: s.idleExitSeconds,
      ...(s.stateDir ? { stateDir: s.stateDir } : {}),
      ...(s.logFile ? { logFile: s.logFile } : {}),
    };
  }

  private async launcherKind(setting: ReturnType<typeof readSettings>['launcher']): Promise<LauncherKind> {
    const { defaultLauncherKind } = loadDaemonLink();
    if (setting !== 'auto') return setting;
    const kind = defaultLauncherKind(process.platform, process.getuid?.());
    // pkexec needs a polkit agent on a display; over SSH or without pkexec, sudo in a terminal works.
    if (kind === 'pkexec' && (!existsSync('/usr/bin/pkexec') || !(process.env.DISPLAY || process.env.WAYLAND_DISPLAY) || vscode.env.remoteName)) return 'sudo';
    return kind;
  }

  private async launcher(kind: LauncherKind): Promise<DaemonLauncher> {
    const { ProcessLauncher, TerminalSudoLauncher } = loadDaemonLink();
    if (kind !== 'sudo') return new ProcessLauncher(kind);
    return new TerminalSudoLauncher((shellLine) => this.runInTerminal(shellLine));
  }

  private runInTerminal(shellLine: string): LaunchedProcess {
    const terminal = vscode.window.createTerminal({
      name: 'Telepresence: start daemon',
      shellPath: '/bin/sh',
      // Keep the terminal open a moment on failure so the message can be read.
      shellArgs: ['-c', `echo 'Starting the Telepresence daemon as root:'; ${shellLine}; st=$?; [ $st -ne 0 ] && sleep 5; exit $st`],
      isTransient: true,
    });
    terminal.show(false);
    const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const sub = vscode.window.onDidCloseTerminal((t) => {
        if (t !== terminal) return;
        sub.dispose();
        resolve({ code: t.exitStatus?.code ?? null, stderr: '' });
      });
    });
    return { exited };
  }

  private async askConsent(facts: ConsentFacts): Promise<boolean> {
    if (!readSettings().confirmElevation) return true;
    const text = consentText(facts);
    const start = facts.reason === 'replace' ? 'Restart Daemon' : 'Start Daemon';
    const always = `${start} and Don't Ask Again on This Machine`;
    const answer = await vscode.window.showWarningMessage(text.message, { modal: true, detail: text.detail }, start, always);
    if (answer === always) await vscode.workspace.getConfiguration('telepresence').update('confirmElevation', false, vscode.ConfigurationTarget.Global);
    return answer === start || answer === always;
  }
}
