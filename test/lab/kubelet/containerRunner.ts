// One container of a pod as a process: start (through containerLaunch.ts),
// probe, restart with back-off, exec into it, stop with a grace period. Its
// state is what the pod status reports for the container.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import type { V1Container } from '@kubernetes/client-node';
import type { ExecProcess } from '../contracts';
import { ContainerConfigError, expandCommand } from './containerEnv';
import { launchCommand, planMounts, type VolumeMount } from './containerLaunch';
import { containerArgv, resolveImage } from './images';
import type { ContainerReport, ContainerRuntimeState } from './podStatus';
import { runProbe } from './probes';
import type { EnvVar } from './serviceLinks';

export interface ContainerContext {
  netns: string;
  hostname: string;
  podIP: string;
  restartPolicy: string;
  logFile: string;
  overlayBase: string;
  /** How the `lab/echo` image is started (argv prefix). */
  echoServer: string[];
  /** Environment and mounts, computed when the container (re)starts; throws ContainerConfigError when something is missing. */
  prepare(container: V1Container): Promise<{ env: EnvVar[]; mounts: VolumeMount[] }>;
  /** Directories created on the host for mount targets (so the kubelet can remove them later). */
  hostDirsCreated(dirs: string[]): void;
  onChange(): void;
  log(msg: string): void;
}

const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MAX_BACKOFF_MS = 20_000;
const STABLE_RUN_MS = 10_000;

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ContainerRunner {
  private current: ContainerRuntimeState = { state: 'waiting', reason: 'ContainerCreating' };
  private last: ContainerRuntimeState | undefined;
  private restartCount = 0;
  private ready = false;
  private everStarted = false;
  private child: ChildProcess | undefined;
  private env: EnvVar[] = [];
  private stopping = false;
  private wake: (() => void) | undefined;
  private instance = 0;
  private loop: Promise<void> | undefined;

  constructor(readonly spec: V1Container, private readonly ctx: ContainerContext) {}

  report(): ContainerReport {
    return {
      name: this.spec.name,
      image: this.spec.image ?? '',
      ...(this.child?.pid ? { containerID: `lab://${this.ctx.netns}/${this.child.pid}` } : {}),
      current: this.current,
      ...(this.last ? { last: this.last } : {}),
      restartCount: this.restartCount,
      ready: this.ready,
      everStarted: this.everStarted,
    };
  }

  get pid(): number | undefined {
    return this.current.state === 'running' ? this.child?.pid : undefined;
  }

  get environment(): EnvVar[] {
    return this.env;
  }

  start(): void {
    this.loop ??= this.run().catch((err) => this.ctx.log(`container ${this.spec.name}: ${(err as Error).message}`));
  }

  private set(state: ContainerRuntimeState, ready = false): void {
    this.current = state;
    this.ready = ready;
    this.ctx.onChange();
  }

  private async pause(ms: number): Promise<void> {
    await new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      this.wake = () => { clearTimeout(t); r(); };
    });
    this.wake = undefined;
  }

  private async run(): Promise<void> {
    let backoff = 0;
    while (!this.stopping) {
      const image = resolveImage(this.spec.image);
      if (image.kind === 'unavailable') {
        this.set({ state: 'waiting', reason: this.current.state === 'waiting' && this.current.reason === 'ErrImagePull' ? 'ImagePullBackOff' : 'ErrImagePull', message: image.message });
        await this.pause(this.current.state === 'waiting' && this.current.reason === 'ErrImagePull' ? 2000 : 10_000);
        continue;
      }
      let prepared: { env: EnvVar[]; mounts: VolumeMount[] };
      try {
        prepared = await this.ctx.prepare(this.spec);
      } catch (err) {
        if (!(err instanceof ContainerConfigError)) throw err;
        this.set({ state: 'waiting', reason: 'CreateContainerConfigError', message: err.message });
        await this.pause(2000);
        continue;
      }
      if (this.stopping) break;
      const startedAtMs = Date.now();
      const exit = this.launch(image, prepared);
      const instance = ++this.instance;
      void this.probeLoop(instance);
      const { code, signal } = await exit;
      const finishedAt = now();
      const startedAt = this.current.state === 'running' ? this.current.startedAt : finishedAt;
      const terminated: ContainerRuntimeState = {
        state: 'terminated',
        exitCode: code ?? 128 + (signal ? osSignalNumber(signal) : 0),
        ...(signal ? { signal: osSignalNumber(signal) } : {}),
        reason: code === 0 ? 'Completed' : 'Error',
        startedAt, finishedAt,
      };
      this.child = undefined;
      if (this.stopping) { this.set(terminated); break; }
      const policy = this.ctx.restartPolicy || 'Always';
      const restart = policy === 'Always' || (policy === 'OnFailure' && code !== 0);
      if (!restart) { this.set(terminated); break; }
      this.ctx.log(`container ${this.spec.name} exited (${code ?? signal}); restarting`);
      this.last = terminated;
      backoff = Date.now() - startedAtMs >= STABLE_RUN_MS ? 0 : backoff === 0 ? 1000 : Math.min(backoff * 2, MAX_BACKOFF_MS);
      if (backoff > 0) {
        this.set({ state: 'waiting', reason: 'CrashLoopBackOff', message: `back-off ${Math.round(backoff / 1000)}s restarting failed container=${this.spec.name}` });
        await this.pause(backoff);
      }
      this.restartCount++;
    }
  }

  private launch(image: ReturnType<typeof resolveImage>, prepared: { env: EnvVar[]; mounts: VolumeMount[] }): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const plan = planMounts(prepared.mounts, existsSync, `${this.ctx.overlayBase}/${this.spec.name}`);
    rmSync(`${this.ctx.overlayBase}/${this.spec.name}`, { recursive: true, force: true });
    for (const d of plan.overlayDirs) mkdirSync(d, { recursive: true });
    const created = plan.hostDirs.filter((d) => !existsSync(d));
    for (const d of created) mkdirSync(d);
    if (created.length) this.ctx.hostDirsCreated(created);

    const argv = containerArgv(image, expandCommand(this.spec.command, prepared.env), expandCommand(this.spec.args, prepared.env), process.execPath, this.ctx.echoServer);
    const cmd = launchCommand({ netns: this.ctx.netns, hostname: this.ctx.hostname, ops: plan.ops, workingDir: this.spec.workingDir, argv });
    this.env = [
      { name: 'PATH', value: BASE_PATH },
      { name: 'HOSTNAME', value: this.ctx.hostname },
      { name: 'HOME', value: '/root' },
      ...prepared.env,
    ];
    const log = openSync(this.ctx.logFile, 'a');
    const child = spawn(cmd.file, cmd.args, { env: Object.fromEntries(this.env.map((e) => [e.name, e.value])), stdio: ['ignore', log, log], detached: true });
    closeSync(log);
    this.child = child;
    this.everStarted = true;
    this.set({ state: 'running', startedAt: now() }, !this.spec.readinessProbe);
    return new Promise((resolve) => {
      child.once('error', (err) => { this.ctx.log(`container ${this.spec.name}: ${err.message}`); resolve({ code: 128, signal: null }); });
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  private async probeLoop(instance: number): Promise<void> {
    const readiness = this.spec.readinessProbe;
    const liveness = this.spec.livenessProbe;
    if (!readiness && !liveness) return;
    const alive = () => !this.stopping && this.instance === instance && this.current.state === 'running';
    const delay = Math.min(readiness?.initialDelaySeconds ?? 0, liveness?.initialDelaySeconds ?? 0) * 1000;
    if (delay) await sleep(delay);
    let readyFailures = 0;
    let liveFailures = 0;
    while (alive()) {
      if (readiness) {
        const ok = await runProbe(readiness, this.spec, this.ctx.podIP, (cmd, t) => this.execProbe(cmd, t));
        if (!alive()) return;
        readyFailures = ok ? 0 : readyFailures + 1;
        if (ok && !this.ready) this.set(this.current, true);
        else if (!ok && this.ready && readyFailures >= (readiness.failureThreshold ?? 3)) this.set(this.current, false);
      }
      if (liveness) {
        const ok = await runProbe(liveness, this.spec, this.ctx.podIP, (cmd, t) => this.execProbe(cmd, t));
        if (!alive()) return;
        liveFailures = ok ? 0 : liveFailures + 1;
        if (liveFailures >= (liveness.failureThreshold ?? 3)) {
          this.ctx.log(`container ${this.spec.name} failed its liveness probe; killing it`);
          this.signal('SIGKILL');
          return;
        }
      }
      // Until first ready, probe fast (the lab's only speed-up over a kubelet); then at the probe's period.
      const period = (readiness?.periodSeconds ?? liveness?.periodSeconds ?? 10) * 1000;
      await sleep(this.ready || !readiness ? period : Math.min(period, 300));
    }
  }

  private async execProbe(command: string[], timeoutMs: number): Promise<number | null> {
    const p = this.exec(command);
    const timer = setTimeout(() => p.kill(), timeoutMs);
    p.stdout.resume();
    p.stderr?.resume();
    const r = await p.exited;
    clearTimeout(timer);
    return r.code;
  }

  private signal(sig: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (!pid) return;
    try { process.kill(-pid, sig); } catch { try { process.kill(pid, sig); } catch { /* gone */ } }
  }

  /** Runs a command inside the running container's namespaces with its environment. */
  exec(command: string[], opts: { stdin?: boolean; tty?: boolean } = {}): ExecProcess {
    const pid = this.pid;
    if (!pid) throw new Error(`container ${this.spec.name} is not running`);
    if (command.length === 0) throw new Error('exec needs a command');
    const inner = opts.tty ? ['script', '-qfec', command.map(shellQuote).join(' '), '/dev/null'] : command;
    const child = spawn('nsenter', ['--target', String(pid), '--mount', '--uts', '--net', '--wd', '--', ...inner], {
      env: Object.fromEntries(this.env.map((e) => [e.name, e.value])),
      stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      child.once('error', () => resolve({ code: 127, signal: null }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    return {
      stdin: child.stdin,
      stdout: child.stdout!,
      stderr: opts.tty ? null : child.stderr,
      exited,
      kill: () => { try { child.kill('SIGKILL'); } catch { /* gone */ } },
    };
  }

  /** Stops the container: SIGTERM, then SIGKILL after the grace period. No restart follows. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.wake?.();
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      this.signal('SIGTERM');
      const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      this.signal('SIGKILL'); // anything left in its process group
    }
    await this.loop;
  }
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function osSignalNumber(sig: NodeJS.Signals): number {
  return constants.signals[sig] ?? 0;
}
