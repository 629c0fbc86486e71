// test/RELIABILITY.md as data and text. Pure: each reliability suite records
// its checks as `SuiteRun`; the markdown is rendered from every suite's last
// run, and carries that data in a trailing comment so that one suite's run
// can replace its own section without the others having to run again.

export type Area = 'fault' | 'bad input' | 'security';

export interface CheckResult {
  area: Area;
  check: string;
  /** Faults injected, inputs sent or attempts made. */
  tried: number;
  /** Of those, how many the daemon (or relay) came through still serving. */
  survived: number;
  /** Bytes lost (or transfers silently cut short) in flows that reported success; null where no data moves. */
  dataLost: number | null;
  /** e.g. "new flows 0.9 s; status connected 1.2 s". */
  recovery?: string;
  result: 'pass' | 'fail' | 'skipped';
  note?: string;
}

export interface SuiteRun {
  suite: string;
  file: string;
  /** ISO time the suite finished. */
  date: string;
  command: string;
  platform: string;
  checks: CheckResult[];
}

export interface ReliabilityData {
  suites: Record<string, SuiteRun>;
}

const DATA_START = '<!-- reliability-data';
const DATA_END = '-->';
const SUITE_ORDER = ['faults', 'badInput', 'security'];

/** The data a previous rendering carries, or an empty set. */
export function parseReliabilityData(markdown: string): ReliabilityData {
  const start = markdown.lastIndexOf(DATA_START);
  if (start < 0) return { suites: {} };
  const end = markdown.indexOf(DATA_END, start);
  if (end < 0) return { suites: {} };
  try {
    const parsed = JSON.parse(markdown.slice(start + DATA_START.length, end)) as ReliabilityData;
    return parsed && typeof parsed.suites === 'object' ? parsed : { suites: {} };
  } catch {
    return { suites: {} };
  }
}

export function withSuite(data: ReliabilityData, run: SuiteRun): ReliabilityData {
  return { suites: { ...data.suites, [run.suite]: run } };
}

function cell(v: string): string {
  return v.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function count(n: number | null): string {
  return n === null ? '—' : n.toLocaleString('en-US');
}

export function suiteTotals(run: SuiteRun): { passed: number; failed: number; skipped: number; faultsTried: number; faultsSurvived: number; inputsTried: number; dataLost: number } {
  const ran = run.checks;
  const faults = ran.filter((c) => c.area === 'fault' && c.result !== 'skipped');
  return {
    passed: ran.filter((c) => c.result === 'pass').length,
    failed: ran.filter((c) => c.result === 'fail').length,
    skipped: ran.filter((c) => c.result === 'skipped').length,
    faultsTried: faults.reduce((s, c) => s + c.tried, 0),
    faultsSurvived: faults.reduce((s, c) => s + c.survived, 0),
    inputsTried: ran.filter((c) => c.area === 'bad input').reduce((s, c) => s + c.tried, 0),
    dataLost: ran.reduce((s, c) => s + (c.dataLost ?? 0), 0),
  };
}

/** The check table of one suite (also what the suite prints at its end). */
export function renderChecks(run: SuiteRun): string {
  const lines = [
    '| area | check | tried | survived | data lost | recovery | result | notes |',
    '|---|---|---:|---:|---:|---|---|---|',
  ];
  for (const c of run.checks) {
    lines.push(`| ${c.area} | ${cell(c.check)} | ${count(c.tried)} | ${count(c.survived)} | ${count(c.dataLost)} | ${cell(c.recovery ?? '')} | ${c.result} | ${cell(c.note ?? '')} |`);
  }
  return lines.join('\n');
}

export function renderReliability(data: ReliabilityData): string {
  const suites = Object.values(data.suites).sort((a, b) => {
    const ia = SUITE_ORDER.indexOf(a.suite), ib = SUITE_ORDER.indexOf(b.suite);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.suite.localeCompare(b.suite);
  });
  const out: string[] = [
    '# Reliability and security',
    '',
    'Written by the reliability suites in `test/integration/reliability/` (issue 7). Each suite',
    'replaces its own section when it runs, in the lab, as root: `node test/run.mjs integration',
    'test/integration/reliability/<suite>.test.ts`, or all of them through `npm test`.',
    '"Data lost" counts bytes missing or wrong, and transfers cut short without an error, in flows',
    'that the client saw succeed.',
    '',
    '## Summary',
    '',
    '| suite | run (UTC) | checks passed | faults survived | inputs tried | data lost |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const s of suites) {
    const t = suiteTotals(s);
    const ran = t.passed + t.failed;
    out.push(`| ${s.suite} | ${s.date.replace('T', ' ').replace(/\.\d+Z$/, '')} | ${t.passed}/${ran}${t.skipped ? ` (${t.skipped} skipped)` : ''} | ${t.faultsTried ? `${t.faultsSurvived}/${t.faultsTried}` : '—'} | ${t.inputsTried ? t.inputsTried.toLocaleString('en-US') : '—'} | ${t.dataLost} |`);
  }
  for (const s of suites) {
    out.push('', `## ${s.suite}`, '', `Run ${s.date} on ${s.platform}: \`${s.command}\``, '', renderChecks(s));
  }
  out.push(
    '',
    '## Covered by other suites',
    '',
    '- A second Unix user cannot use the daemon\'s socket: `test/integration/daemon/socketAccess.test.ts`.',
    '- The daemon never runs a kube credential plugin as root: `test/integration/daemon/credentialPlugins.test.ts`.',
    '- Daemon SIGTERM and `kill -9` (state repaired, routing table identical): `test/integration/daemon/connect.test.ts`.',
    '- Extension host killed while connected (the daemon keeps the connection, a new window re-attaches): `test/e2e/extensionHostKilled.test.ts`, its section above once the e2e level ran.',
    '',
    `${DATA_START}\n${JSON.stringify({ suites: Object.fromEntries(suites.map((s) => [s.suite, s])) }, null, 1)}\n${DATA_END}`,
    '',
  );
  return out.join('\n');
}
