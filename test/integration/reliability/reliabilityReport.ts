// Records a reliability suite's checks while its tests run, then prints them
// and rewrites this suite's section of test/RELIABILITY.md (see
// reliabilityTable.ts). A check that throws is recorded as failed with the
// first line of its error, and the error still fails the test. Suites of the
// e2e level (the extension host fault) record here too, under their level.
import { readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { basename, join, relative } from 'node:path';
import { parseReliabilityData, renderChecks, renderReliability, withSuite, type CheckResult, type SuiteRun } from './reliabilityTable';
import { repoRoot } from './workstation';

export const RELIABILITY_MD = join(repoRoot, 'test', 'RELIABILITY.md');

export type CheckRow = Omit<CheckResult, 'result'>;

export class ReliabilityReport {
  private readonly checks: CheckResult[] = [];

  constructor(private readonly suite: string, private readonly file: string, private readonly level: 'integration' | 'e2e' = 'integration') {}

  /** Runs `fn` with a row it fills in (tried, survived, data lost, recovery, note) and records the outcome. */
  async check(base: Pick<CheckResult, 'area' | 'check'>, fn: (row: CheckRow) => Promise<void>): Promise<void> {
    const row: CheckRow = { ...base, tried: 0, survived: 0, dataLost: null };
    try {
      await fn(row);
      this.checks.push({ ...row, result: 'pass' });
    } catch (e) {
      const first = ((e as Error)?.message ?? String(e)).split('\n')[0]!.slice(0, 240);
      this.checks.push({ ...row, result: 'fail', note: [row.note, first].filter(Boolean).join('; ') });
      throw e;
    }
  }

  skipped(base: Pick<CheckResult, 'area' | 'check'>, reason: string): void {
    this.checks.push({ ...base, tried: 0, survived: 0, dataLost: null, result: 'skipped', note: reason });
  }

  /** Prints the table and rewrites this suite's section; nothing is written when nothing ran. */
  finish(): void {
    if (this.checks.length === 0) return;
    const rel = relative(repoRoot, this.file).replace(/\\/g, '/').replace(/^out\/test\/.*$/, `test/${this.level === 'e2e' ? 'e2e' : 'integration/reliability'}/${basename(this.file)}`);
    const run: SuiteRun = {
      suite: this.suite,
      file: rel,
      date: new Date().toISOString(),
      command: `node test/run.mjs ${this.level} ${rel}`,
      platform: `Linux ${release()}, Node ${process.version}`,
      checks: this.checks,
    };
    console.log(`\n# reliability: ${this.suite}\n${renderChecks(run).split('\n').map((l) => `# ${l}`).join('\n')}`);
    let current = '';
    try { current = readFileSync(RELIABILITY_MD, 'utf8'); } catch { /* first run */ }
    writeFileSync(RELIABILITY_MD, renderReliability(withSuite(parseReliabilityData(current), run)));
  }
}
