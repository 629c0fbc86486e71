// Snapshots of everything the daemon may change on a workstation, taken
// inside a network namespace, and a readable diff of two of them. Suites use
// it for "byte-identical after cleanup": `assert.equal(diffSnapshots(a, b), '')`.
import { execFileSync } from 'node:child_process';

/** Section title (the command that produced it) → its exact output. */
export type HostSnapshot = Record<string, string>;

const SECTIONS: Array<[title: string, args: (ns: string) => string[]]> = [
  ['ip route show table all', (ns) => ['ip', '-n', ns, 'route', 'show', 'table', 'all']],
  ['ip -6 route show table all', (ns) => ['ip', '-n', ns, '-6', 'route', 'show', 'table', 'all']],
  ['ip rule', (ns) => ['ip', '-n', ns, 'rule']],
  ['ip -6 rule', (ns) => ['ip', '-n', ns, '-6', 'rule']],
  ['nft list ruleset', (ns) => ['ip', 'netns', 'exec', ns, 'nft', 'list', 'ruleset']],
  // As processes in the namespace see it (ip netns exec binds /etc/netns/<ns>/resolv.conf).
  ['/etc/resolv.conf', (ns) => ['ip', 'netns', 'exec', ns, 'cat', '/etc/resolv.conf']],
  ['ip -o link', (ns) => ['ip', '-n', ns, '-o', 'link']],
];

export function snapshotNamespace(ns: string): HostSnapshot {
  const snapshot: HostSnapshot = {};
  for (const [title, args] of SECTIONS) {
    const [cmd, ...rest] = args(ns);
    try {
      snapshot[title] = execFileSync(cmd!, rest, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      // A failing command is part of the picture (e.g. no resolv.conf), not a test crash.
      const e = err as { status?: number; stderr?: string };
      snapshot[title] = `<exit ${e.status ?? '?'}: ${(e.stderr ?? '').trim()}>`;
    }
  }
  return snapshot;
}

/** '' when both snapshots are byte-identical; otherwise per section the lines removed (-) and added (+). */
export function diffSnapshots(before: HostSnapshot, after: HostSnapshot): string {
  const out: string[] = [];
  const titles = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  for (const title of titles) {
    const a = before[title] ?? '';
    const b = after[title] ?? '';
    if (a === b) continue;
    out.push(`--- ${title}`);
    const changes = lineDiff(a.split('\n'), b.split('\n'));
    // Same lines, different bytes (e.g. only a trailing newline): say so rather than print nothing.
    out.push(...(changes.length ? changes : ['~ same lines, different bytes (whitespace or line endings)']));
  }
  return out.join('\n');
}

/** Longest-common-subsequence line diff; sections are small. */
function lineDiff(a: string[], b: string[]): string[] {
  const n = a.length, m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const out: string[] = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { i++; j++; }
    else if (j < m && (i >= n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) out.push(`+ ${b[j++]}`);
    else out.push(`- ${a[i++]}`);
  }
  return out;
}
