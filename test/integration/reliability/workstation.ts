// The reliability suites' view of a lab workstation: commands run inside the
// lab's workstation namespace, with a daemon of their own (socket, state,
// log), so these suites never meet another suite's daemon. Helper scripts of
// this folder run there too, through tsx.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LabInfo } from '../../lab/labLifecycle';
import type { DaemonStatus } from '../../../daemon/protocol/rpc';

export const repoRoot = join(__dirname, '..', '..', '..');
const tpvScript = join(repoRoot, 'dist', 'tpv.js');
/** Label selector of the relay pods (daemon/cluster/relayManifests.ts). */
export { RELAY_SELECTOR } from '../../../daemon/cluster/relayManifests';

export interface Run { code: number; stdout: string; stderr: string; ms: number }

export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<Run> {
  // cwd: the repository, so `--import tsx` resolves from its node_modules.
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { cwd: repoRoot, encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20, env: { ...process.env, ...opts.env } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export class Workstation {
  readonly dir = mkdtempSync(join(tmpdir(), 'tpv-rel-'));
  readonly env: NodeJS.ProcessEnv;

  constructor(readonly lab: LabInfo) {
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
    return run('ip', ['netns', 'exec', this.lab.workstationNetns, cmd, ...args], { env: this.env, timeoutMs });
  }

  tpv(...args: string[]): Promise<Run> {
    return this.exec(process.execPath, [tpvScript, ...args], 180_000);
  }

  async tpvJson<T>(...args: string[]): Promise<T> {
    const r = await this.tpv(...args, '--json');
    assert.equal(r.code, 0, `tpv ${args.join(' ')} failed: ${r.stderr}\nthe daemon's log ends with:\n${this.logTail(40)}`);
    return JSON.parse(r.stdout) as T;
  }

  status(): Promise<DaemonStatus> {
    return this.tpvJson<DaemonStatus>('status');
  }

  kubectl(...args: string[]): Promise<Run> {
    return this.exec('kubectl', ['--kubeconfig', this.lab.kubeconfig, ...args]);
  }

  /** A TypeScript helper of this folder, run in the workstation namespace; its last stdout line is JSON. */
  async helper<T>(script: string, input: unknown, timeoutMs = 120_000): Promise<T> {
    const r = await this.exec(process.execPath, ['--import', 'tsx', join(__dirname, script), JSON.stringify(input)], timeoutMs);
    const last = r.stdout.trim().split('\n').pop() ?? '';
    try {
      return JSON.parse(last) as T;
    } catch {
      throw new Error(`${script} exited ${r.code} without a JSON answer; stdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-2000)}`);
    }
  }

  /** A long-running process in the namespace (e.g. a transfer the test interrupts). */
  spawn(cmd: string, args: string[]): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.lab.workstationNetns, cmd, ...args], { env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'], cwd: repoRoot });
  }

  /** One short HTTP request to echo.default through the system resolver and the daemon. */
  async httpOk(target = 'http://echo.default/', timeoutSeconds = 2): Promise<boolean> {
    const r = await this.exec('curl', ['-sS', '--max-time', String(timeoutSeconds), target], (timeoutSeconds + 3) * 1000);
    return r.code === 0 && /pod=echo-/.test(r.stdout);
  }

  /** One datagram to the UDP echo port of `vip` and its answer. */
  async udpEcho(vip: string, message = 'ping-after'): Promise<boolean> {
    const script = `const s=require('dgram').createSocket('udp4');s.on('message',m=>{console.log(m.toString());process.exit(0)});s.send(${JSON.stringify(message)},9001,'${vip}');setTimeout(()=>{console.log('TIMEOUT');process.exit(1)},5000);`;
    const r = await this.exec(process.execPath, ['-e', script]);
    return r.code === 0 && r.stdout.includes(message);
  }

  /**
   * POSTs `bytes` random bytes to echo.default, which sends them back: the
   * number of bytes that came back wrong or not at all (0 when intact).
   */
  async integrityLoss(bytes: number): Promise<number> {
    const script = `
      const http=require('http'),crypto=require('crypto');const body=crypto.randomBytes(${bytes});
      const req=http.request({host:'echo.default',port:80,method:'POST',path:'/',headers:{'content-length':body.length}},res=>{
        const parts=[];res.on('data',d=>parts.push(d));res.on('end',()=>{const got=Buffer.concat(parts);let same=0;
          while(same<Math.min(got.length,body.length)&&got[same]===body[same])same++;
          console.log(JSON.stringify({sent:body.length,got:got.length,intact:got.equals(body),firstDiff:same}));});});
      req.on('error',e=>{console.log(JSON.stringify({error:e.code||e.message}));});req.end(body);`;
    const r = await this.exec(process.execPath, ['-e', script], 60_000);
    const res = JSON.parse(r.stdout.trim().split('\n').pop() || '{}') as { sent?: number; intact?: boolean; firstDiff?: number; error?: string };
    if (res.error || res.sent === undefined) throw new Error(`the integrity transfer failed: ${res.error ?? r.stderr}`);
    return res.intact ? 0 : res.sent - (res.firstDiff ?? 0);
  }

  log(): string {
    try { return readFileSync(this.logFile, 'utf8'); } catch { return ''; }
  }

  logTail(lines: number): string {
    return this.log().trimEnd().split('\n').slice(-lines).join('\n') || '(no log)';
  }

  /** Stops the daemon and waits until its process is gone (it reverts its changes before exiting). */
  async quit(): Promise<void> {
    const pid = await this.tpvJson<DaemonStatus>('status').then((s) => s.pid, () => undefined);
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
}

/**
 * Polls `probe` every `everyMs` until it returns true; resolves with the ms
 * since `t0` (default: now), or undefined once `deadlineMs` have passed.
 */
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
