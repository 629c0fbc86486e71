// A lab workstation as the daemon suites drive it: commands run inside the
// lab's workstation namespace with a daemon of the suite's own (socket,
// state, log), so suites never meet another suite's daemon.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LabInfo } from '../lab/labLifecycle';
import type { DaemonStatus } from '../../daemon/protocol/rpc';

export const repoRoot = join(__dirname, '..', '..');
const tpvScript = join(repoRoot, 'dist', 'tpv.js');

export interface Run { code: number; stdout: string; stderr: string; ms: number }

/** Runs a command to its end; never rejects (the exit code is in the result). cwd: the repository, so `--import tsx` resolves. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { cwd: repoRoot, encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20, env: { ...process.env, ...opts.env } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Polls `probe` every `everyMs`; resolves with the ms since `t0`, or undefined once `deadlineMs` passed. */
export async function timeUntil(probe: () => Promise<boolean>, deadlineMs: number, everyMs = 100, t0 = Date.now()): Promise<number | undefined> {
  for (;;) {
    if (await probe().catch(() => false)) return Date.now() - t0;
    if (Date.now() - t0 > deadlineMs) return undefined;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

export class LabWorkstation {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  private readonly children: ChildProcess[] = [];

  /** `tag` names the temporary directory (tpv-<tag>-…), which helps when one is left behind. */
  constructor(readonly lab: LabInfo, tag = 'ws') {
    this.dir = mkdtempSync(join(tmpdir(), `tpv-${tag}-`));
    this.env = {
      TPV_SOCKET: join(this.dir, 'daemon.sock'),
      TPV_STATE_DIR: join(this.dir, 'state'),
      TPV_LOG_FILE: join(this.dir, 'daemon.log'),
      TPV_IDLE_EXIT: '0',
      HOME: this.dir,
      KUBECONFIG: lab.kubeconfig,
    };
  }

  get socket(): string { return this.env.TPV_SOCKET!; }
  get stateDir(): string { return this.env.TPV_STATE_DIR!; }
  get logFile(): string { return this.env.TPV_LOG_FILE!; }

  exec(cmd: string, args: string[], timeoutMs?: number): Promise<Run> {
    return run('ip', ['netns', 'exec', this.lab.workstationNetns, cmd, ...args], { env: this.env, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  tpv(...args: string[]): Promise<Run> {
    return this.exec(process.execPath, [tpvScript, ...args], 240_000);
  }

  async tpvJson<T>(...args: string[]): Promise<T> {
    const r = await this.tpv(...args, '--json');
    assert.equal(r.code, 0, `tpv ${args.join(' ')} failed: ${r.stderr}\nthe daemon's log ends with:\n${this.logTail(60)}`);
    return JSON.parse(r.stdout) as T;
  }

  status(): Promise<DaemonStatus> {
    return this.tpvJson<DaemonStatus>('status');
  }

  kubectl(...args: string[]): Promise<Run> {
    return this.exec('kubectl', ['--kubeconfig', this.lab.kubeconfig, ...args]);
  }

  async kubectlJson<T>(...args: string[]): Promise<T> {
    const r = await this.kubectl(...args, '-o', 'json');
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  /** A long-running process in the namespace, killed by close(). */
  spawn(cmd: string, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.lab.workstationNetns, cmd, ...args], { env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'], cwd: repoRoot });
    this.children.push(child);
    return child;
  }

  /** An HTTP server on 127.0.0.1:port in the workstation namespace answering `body`. */
  async localServer(port: number, body: string): Promise<void> {
    const script = `require('http').createServer((q,r)=>r.end(${JSON.stringify(body)})).listen(${port},'127.0.0.1',()=>console.log('listening'))`;
    const child = this.spawn(process.execPath, ['-e', script]);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (c) => reject(new Error(`local server on ${port} exited with ${c}`)));
    });
  }

  log(): string {
    try { return readFileSync(this.logFile, 'utf8'); } catch { return ''; }
  }

  logTail(lines: number): string {
    return this.log().trimEnd().split('\n').slice(-lines).join('\n') || '(no log)';
  }

  /** Stops the daemon and waits until its process is gone (it reverts its changes before exiting). */
  async quit(): Promise<void> {
    const pid = await this.status().then((s) => s.pid, () => undefined);
    await this.tpv('quit');
    if (pid) await timeUntil(async () => !alive(pid), 15_000, 50);
  }

  /** Removes the workstation's files; never throws (cleanup must go on to the lab). */
  remove(): void {
    try {
      rmSync(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    } catch (e) {
      console.error(`# could not remove ${this.dir}: ${(e as Error).message}`);
    }
  }

  /** Everything: the processes it started, the daemon, the files. */
  async close(): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL');
    await this.quit().catch(() => undefined);
    this.remove();
  }
}
