// The processes under one pid, read from /proc, and the VS Code extension
// hosts among them. code-server forks its server, which forks one extension
// host per window (`bootstrap-fork --type=extensionHost`) next to a pty host
// and a file watcher; the e2e suites pick the extension host by that flag
// within code-server's own process tree, never by a name machine-wide.
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcessEntry {
  pid: number;
  ppid: number;
  /** argv joined by spaces. */
  cmdline: string;
}

/** Every process this machine shows in /proc (ones that exit while it is read are left out). */
export function readProcessTable(): ProcessEntry[] {
  const out: ProcessEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name in (…) may hold spaces and parentheses: the fields after its last ')' are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      out.push({ pid: Number(name), ppid, cmdline });
    } catch { /* gone meanwhile */ }
  }
  return out;
}

/** The processes below `root` (children, their children, …), in breadth-first order; `root` itself is not included. */
export function descendantsOf(table: ProcessEntry[], root: number): ProcessEntry[] {
  const byParent = new Map<number, ProcessEntry[]>();
  for (const p of table) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), p]);
  const out: ProcessEntry[] = [];
  const queue = [root];
  const seen = new Set<number>([root]);
  while (queue.length) {
    for (const child of byParent.get(queue.shift()!) ?? []) {
      if (seen.has(child.pid)) continue;
      seen.add(child.pid);
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** Whether a command line is a VS Code extension host (as opposed to the pty host, file watcher or server). */
export function isExtensionHost(cmdline: string): boolean {
  return /(^|\s)--type=extensionHost(\s|$)/.test(cmdline);
}

/** The extension host processes under `root`. */
export function extensionHostsUnder(table: ProcessEntry[], root: number): ProcessEntry[] {
  return descendantsOf(table, root).filter((p) => isExtensionHost(p.cmdline));
}
