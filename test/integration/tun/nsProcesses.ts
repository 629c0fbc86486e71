// Starting the harness and clients inside a namespace and reading their JSON
// lines; shared by the TUN integration test and the packet-path benchmark.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { nsSpawn } from '../../support/netns';
import type { ClientTask } from './tunClient';
import type { HarnessConfig, HarnessEvent } from './stackHarness';

// Resolved from the repository root so it works from sources and from out/test/*.js bundles.
const here = __dirname;
const root = here.endsWith(join('test', 'integration', 'tun')) ? join(here, '..', '..', '..') : join(here, '..', '..');
const script = (name: string) => join(root, 'test', 'integration', 'tun', name);

export class Harness {
  private readonly waiters: Array<{ match: (e: HarnessEvent) => boolean; resolve: (e: HarnessEvent) => void }> = [];
  readonly events: HarnessEvent[] = [];
  ready: Extract<HarnessEvent, { event: 'ready' }> | undefined;
  stderr = '';

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let e: HarnessEvent;
      try { e = JSON.parse(line) as HarnessEvent; } catch { return; }
      this.events.push(e);
      for (const w of [...this.waiters]) if (w.match(e)) { this.waiters.splice(this.waiters.indexOf(w), 1); w.resolve(e); }
    });
    child.stderr!.on('data', (d) => { this.stderr += String(d); });
  }

  next<T extends HarnessEvent['event']>(event: T, timeoutMs = 15000): Promise<Extract<HarnessEvent, { event: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`harness sent no "${event}" within ${timeoutMs} ms; stderr: ${this.stderr}; events: ${JSON.stringify(this.events.slice(-5))}`)), timeoutMs);
      const failed = this.events.find((e) => e.event === 'error' && e.message.startsWith('harness failed'));
      if (failed) { clearTimeout(timer); reject(new Error(JSON.stringify(failed))); return; }
      this.waiters.push({ match: (e) => e.event === event || (e.event === 'error' && e.message.startsWith('harness failed')), resolve: (e) => {
        clearTimeout(timer);
        if (e.event !== event) reject(new Error(JSON.stringify(e))); else resolve(e as Extract<HarnessEvent, { event: T }>);
      } });
    });
  }

  send(line: 'mark' | 'stats' | 'close'): void { this.child.stdin!.write(`${line}\n`); }
}

export async function startHarness(ns: string, cfg: HarnessConfig): Promise<Harness> {
  const h = new Harness(nsSpawn(ns, process.execPath, ['--import', 'tsx', script('stackHarness.ts'), JSON.stringify(cfg)], { cwd: root }));
  h.ready = await h.next('ready', 30000);
  return h;
}

/** Runs one client task in the namespace and returns its JSON answer. */
export function runClient<R>(ns: string, task: ClientTask, timeoutMs = 60000): Promise<R> {
  const child = nsSpawn(ns, process.execPath, ['--import', 'tsx', script('tunClient.ts'), JSON.stringify(task)], { cwd: root });
  return firstJsonLine<R>(child, timeoutMs, JSON.stringify(task));
}

/** Starts a long-lived client (e.g. the sink server) and returns it with its first JSON line. */
export async function startClient<R>(ns: string, task: ClientTask): Promise<{ child: ChildProcess; first: R }> {
  const child = nsSpawn(ns, process.execPath, ['--import', 'tsx', script('tunClient.ts'), JSON.stringify(task)], { cwd: root });
  return { child, first: await firstJsonLine<R>(child, 30000, JSON.stringify(task)) };
}

function firstJsonLine<R>(child: ChildProcess, timeoutMs: number, what: string): Promise<R> {
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += String(d); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${what}: no answer within ${timeoutMs} ms; stderr: ${stderr}`)); }, timeoutMs);
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (line) => { clearTimeout(timer); rl.close(); try { resolve(JSON.parse(line) as R); } catch { reject(new Error(`${what}: bad answer ${line}`)); } });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${what}: exited with ${code} before answering; stderr: ${stderr}`)); });
  });
}
