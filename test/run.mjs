// Runs the test levels in order and prints one closing line for all of them.
//   node test/run.mjs               every level
//   node test/run.mjs unit          one level (unit | integration | e2e)
//   node test/run.mjs unit some/file.test.ts ...   just those files
// Levels: unit (pure, no privileges), integration (root + network namespaces,
// skips with a printed reason when they are missing), e2e (code-server in Chromium).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const allLevels = ['unit', 'integration', 'e2e'];
const [levelArg, ...fileArgs] = process.argv.slice(2);
const levels = levelArg ? [levelArg] : allLevels;

function findTests(dir) {
  let found = [];
  let names = [];
  try { names = readdirSync(dir); } catch { return found; }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) found = found.concat(findTests(p));
    else if (/\.test\.(ts|mjs|js)$/.test(name)) found.push(p);
  }
  return found.sort();
}

const totals = { pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };
const tapDir = mkdtempSync(join(tmpdir(), 'tpv-test-'));
let failedRun = false;
for (const level of levels) {
  if (!allLevels.includes(level)) { console.error(`unknown test level "${level}"; use one of ${allLevels.join(', ')}`); process.exit(2); }
  const files = fileArgs.length ? fileArgs : findTests(join(root, 'test', level));
  if (files.length === 0) { console.log(`\n== ${level}: no test files`); continue; }
  console.log(`\n== ${level}: ${files.length} file(s)`);
  const tap = join(tapDir, `${level}.tap`);
  const r = spawnSync(process.execPath, [
    '--import', 'tsx', '--test', '--test-concurrency=1',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`,
    ...files.map((f) => relative(root, f)),
  ], { cwd: root, stdio: 'inherit', env: { ...process.env, TPV_TEST_LEVEL: level } });
  let text = '';
  try { text = readFileSync(tap, 'utf8'); } catch { /* runner died before writing */ }
  const count = (k) => { const m = text.match(new RegExp(`^# ${k} (\\d+)$`, 'm')); return m ? Number(m[1]) : 0; };
  for (const k of Object.keys(totals)) totals[k] += count(k);
  if (r.status !== 0) failedRun = true;
  if (r.status !== 0 && count('fail') === 0) totals.fail += 1; // a crash is a failure even with no test counted
}
rmSync(tapDir, { recursive: true, force: true });
// A cancelled test (its suite's hook failed, or it outlived its parent) did not pass: count it as failed.
console.log(`\n${totals.pass} passed, ${totals.fail + totals.cancelled} failed, ${totals.skipped} skipped`);
process.exit(failedRun || totals.fail + totals.cancelled > 0 ? 1 : 0);
