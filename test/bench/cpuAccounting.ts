// Where the CPU goes on a path: CPU seconds (user + system, every thread) of
// named processes over one measurement, read from /proc. It is the profile
// the benchmark keeps for each path, so a ratio that falls short says which
// process paid for it; `--profile DIR` adds V8 CPU profiles of the daemon.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: the unit of utime/stime in /proc/PID/stat (100 on every mainstream architecture). */
const CLOCK_TICKS = 100;

/** CPU seconds `pid` has used so far (all its threads), or 0 when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Every process inside a network namespace (e.g. a pod's). */
export function pidsInNetns(netns: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export type ProcessGroups = Record<string, () => number[]>;

/** CPU seconds per group between start() and the returned stop(). */
export function meterCpu(groups: ProcessGroups): () => Record<string, number> {
  const resolved = Object.entries(groups).map(([name, pids]) => ({ name, pids: pids() }));
  const before = resolved.map((g) => g.pids.map(cpuSeconds));
  return () => Object.fromEntries(resolved.map((g, i) => [g.name, g.pids.reduce((sum, pid, j) => sum + Math.max(0, cpuSeconds(pid) - before[i]![j]!), 0)]));
}

/** Adds `b` into `a` per key. */
export function addCpu(a: Record<string, number>, b: Record<string, number>): void {
  for (const [k, v] of Object.entries(b)) a[k] = (a[k] ?? 0) + v;
}
