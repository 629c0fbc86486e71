// Network namespaces for tests: unique names, and removal that cannot be
// skipped (normal end, failed assertion, uncaught error, Ctrl-C, SIGTERM).
// Interfaces are created inside namespaces only, never in the host's own.
import { execFileSync, spawn, type SpawnOptions, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const live = new Set<string>();
const cleanups: Array<() => void> = [];
let hooked = false;

function hookProcessExit(): void {
  if (hooked) return;
  hooked = true;
  const removeAll = () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try { fn(); } catch { /* best effort during exit */ }
    }
    for (const name of [...live]) deleteNetns(name);
  };
  process.on('exit', removeAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => { removeAll(); process.exit(130); });
  }
}

/** Registers a synchronous cleanup that also runs on signals and exit. */
export function onTestProcessExit(fn: () => void): () => void {
  hookProcessExit();
  cleanups.push(fn);
  return () => { const i = cleanups.indexOf(fn); if (i >= 0) cleanups.splice(i, 1); };
}

/** A short unique prefix, e.g. `t4f2a`, safe inside 15-char interface names. */
export function uniquePrefix(tag: string): string {
  return `${tag}${(process.pid % 4096).toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
}

export function createNetns(name: string): string {
  hookProcessExit();
  execFileSync('ip', ['netns', 'add', name]);
  live.add(name);
  ip(name, 'link', 'set', 'lo', 'up');
  return name;
}

export function deleteNetns(name: string): void {
  // Kill whatever still runs inside, or the namespace outlives its name.
  try {
    const pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).split(/\s+/).filter(Boolean);
    for (const pid of pids) { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }
  } catch { /* namespace already gone */ }
  try { execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' }); } catch { /* already gone */ }
  rmSync(`/etc/netns/${name}`, { recursive: true, force: true });
  live.delete(name);
}

/** Runs `ip -n <ns> ...args` and returns stdout. */
export function ip(ns: string, ...args: string[]): string {
  return execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
}

/** Runs a command inside a namespace synchronously and returns stdout. */
export function nsExec(ns: string, cmd: string, args: string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', input });
}

/** Starts a long-running process inside a namespace; it is killed at exit. */
export function nsSpawn(ns: string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'pipe', ...opts });
  const forget = onTestProcessExit(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } });
  child.once('exit', forget);
  return child;
}

/**
 * A veth pair between two namespaces, created directly inside them so that
 * no interface ever appears in the host's namespace.
 */
export function vethBetween(nsA: string, ifA: string, nsB: string, ifB: string): void {
  ip(nsA, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB);
  ip(nsA, 'link', 'set', ifA, 'up');
  ip(nsB, 'link', 'set', ifB, 'up');
}
