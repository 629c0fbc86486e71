// An e2e suite's rows in test/RELIABILITY.md. The reliability suites record
// through test/integration/reliability/reliabilityReport.ts, whose section
// names an integration command; an e2e suite runs under `test/run.mjs e2e`,
// so it renders its own section with the same pure table functions.
import { readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join, relative } from 'node:path';
import { parseReliabilityData, renderChecks, renderReliability, withSuite, type CheckResult, type SuiteRun } from '../../integration/reliability/reliabilityTable';

const repoRoot = join(__dirname, '..', '..', '..');
const RELIABILITY_MD = join(repoRoot, 'test', 'RELIABILITY.md');

export type E2eCheckRow = Omit<CheckResult, 'result'>;

export class E2eReliabilityRecord {
  private readonly checks: CheckResult[] = [];

  constructor(private readonly suite: string, private readonly file: string) {}

  /** Runs `fn` with a row it fills in and records pass or fail (with the error's first line); the error still fails the test. */
  async check(base: Pick<CheckResult, 'area' | 'check'>, fn: (row: E2eCheckRow) => Promise<void>): Promise<void> {
    const row: E2eCheckRow = { ...base, tried: 0, survived: 0, dataLost: null };
    try {
      await fn(row);
      this.checks.push({ ...row, result: 'pass' });
    } catch (e) {
      const first = ((e as Error)?.message ?? String(e)).split('\n')[0]!.slice(0, 240);
      this.checks.push({ ...row, result: 'fail', note: [row.note, first].filter(Boolean).join('; ') });
      throw e;
    }
  }

  /** Prints the suite's table and replaces its section of test/RELIABILITY.md; nothing when no check ran. */
  finish(): void {
    if (this.checks.length === 0) return;
    const rel = relative(repoRoot, this.file).replace(/\\/g, '/');
    const run: SuiteRun = {
      suite: this.suite,
      file: rel,
      date: new Date().toISOString(),
      command: `node test/run.mjs e2e ${rel}`,
      platform: `Linux ${release()}, Node ${process.version}`,
      checks: this.checks,
    };
    console.log(`\n# reliability: ${this.suite}\n${renderChecks(run).split('\n').map((l) => `# ${l}`).join('\n')}`);
    let current = '';
    try { current = readFileSync(RELIABILITY_MD, 'utf8'); } catch { /* first run */ }
    writeFileSync(RELIABILITY_MD, renderReliability(withSuite(parseReliabilityData(current), run)));
  }
}
