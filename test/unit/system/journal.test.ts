import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostChangeRecord, HostOperation } from '../../../daemon/system/hostOperation';
import { Journal, JournalInUseError, JOURNAL_FILE } from '../../../daemon/system/journal';
import { ROUTE_PROTOCOL } from '../../../daemon/system/routeOperation';
import { fakeRunner } from './fakeRunner';

function tempStateDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tpv-journal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'state');
}

const fileOf = (stateDir: string) => join(stateDir, 'journal', JOURNAL_FILE);
const recordsOnDisk = (stateDir: string): HostChangeRecord[] =>
  (JSON.parse(readFileSync(fileOf(stateDir), 'utf8')) as { entries: Array<{ record: HostChangeRecord }> }).entries.map((e) => e.record);

/** An operation that notes what happened, and checks the journal on disk while applying. */
function fakeOp(cidr: string, log: string[], opts: { failApply?: boolean; failRevert?: boolean; onApply?: () => void } = {}): HostOperation {
  return {
    record: { kind: 'route', cidr, device: 'tpv0', protocol: ROUTE_PROTOCOL },
    describe: () => cidr,
    apply: async () => { opts.onApply?.(); log.push(`apply ${cidr}`); if (opts.failApply) throw new Error(`cannot add ${cidr}`); },
    revert: async () => { log.push(`revert ${cidr}`); if (opts.failRevert) throw new Error(`cannot remove ${cidr}`); },
  };
}

test('the record is on disk before the change is applied, with private permissions', async (t) => {
  const stateDir = tempStateDir(t);
  const journal = await Journal.open(stateDir);
  const log: string[] = [];
  let seenDuringApply: HostChangeRecord[] = [];
  await journal.apply(fakeOp('10.130.0.0/16', log, { onApply: () => { seenDuringApply = recordsOnDisk(stateDir); } }));
  assert.deepEqual(seenDuringApply.map((r) => r.kind === 'route' && r.cidr), ['10.130.0.0/16']);
  assert.equal(statSync(fileOf(stateDir)).mode & 0o777, 0o600);
  assert.equal(statSync(join(stateDir, 'journal')).mode & 0o777, 0o700);
  assert.equal(statSync(stateDir).mode & 0o022, 0, 'the state dir is not writable by others');
  assert.deepEqual(journal.pendingFromCrash(), []);
});

test('revertAll: newest first, continues past failures, keeps what failed, idempotent', async (t) => {
  const stateDir = tempStateDir(t);
  const journal = await Journal.open(stateDir);
  const log: string[] = [];
  await journal.apply(fakeOp('a', log));
  await journal.apply(fakeOp('b', log, { failRevert: true }));
  await journal.apply(fakeOp('c', log));
  const report = await journal.revertAll();
  assert.deepEqual(log, ['apply a', 'apply b', 'apply c', 'revert c', 'revert b', 'revert a']);
  assert.deepEqual(report.reverted, ['route c dev tpv0 proto 116', 'route a dev tpv0 proto 116']);
  assert.deepEqual(report.failed, [{ change: 'route b dev tpv0 proto 116', error: 'cannot remove b' }]);
  assert.deepEqual(recordsOnDisk(stateDir).map((r) => r.kind === 'route' && r.cidr), ['b']);
  const again = await journal.revertAll();
  assert.deepEqual(again.reverted, []);
  assert.equal(again.failed.length, 1, 'the failed one is retried');
});

test('a failed apply is undone and forgotten; the error says what failed', async (t) => {
  const stateDir = tempStateDir(t);
  const journal = await Journal.open(stateDir);
  const log: string[] = [];
  await assert.rejects(journal.apply(fakeOp('x', log, { failApply: true })), /cannot add x/);
  assert.deepEqual(log, ['apply x', 'revert x']);
  assert.deepEqual(journal.records(), []);
  assert.deepEqual(recordsOnDisk(stateDir), []);
  await journal.close();
  assert.throws(() => statSync(fileOf(stateDir)), /ENOENT/, 'a clean close leaves no journal behind');
});

test('after kill -9, the next process finds the changes and reverts them from the records alone', async (t) => {
  const stateDir = tempStateDir(t);
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'journalWriter.ts'), stateDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('applied')) resolve(); });
    child.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
  });
  // While it runs, nobody else may take its journal over.
  await assert.rejects(Journal.open(stateDir), (err: Error) => err instanceof JournalInUseError && err.message.includes(String(child.pid)));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));

  const f = fakeRunner((line) => (line.includes('246.246.0.0/16') ? { code: 2, stderr: 'RTNETLINK answers: No such process' } : undefined));
  const journal = await Journal.open(stateDir, { run: f.run });
  assert.deepEqual(journal.pendingFromCrash(), [
    { kind: 'route', cidr: '10.130.0.0/16', device: 'tpv0', protocol: ROUTE_PROTOCOL },
    { kind: 'route', cidr: '246.246.0.0/16', device: 'tpv0', protocol: ROUTE_PROTOCOL },
  ]);
  const report = await journal.revertAll();
  assert.deepEqual(f.calls, [`ip route del 246.246.0.0/16 dev tpv0 proto ${ROUTE_PROTOCOL}`, `ip route del 10.130.0.0/16 dev tpv0 proto ${ROUTE_PROTOCOL}`]);
  assert.equal(report.failed.length, 0, 'a route that is already gone counts as reverted');
  assert.deepEqual(recordsOnDisk(stateDir), []);
});

test('a corrupt journal is set aside with a warning; a journal others could write is refused', async (t) => {
  const stateDir = tempStateDir(t);
  await (await Journal.open(stateDir)).close();
  writeFileSync(fileOf(stateDir), '{"version":1,"owner":{"pid":1},"entries":[{"id":1,"record":{"kind":"route","cidr":"$(reboot)"}}]}', { mode: 0o600 });
  const journal = await Journal.open(stateDir);
  assert.equal(journal.warnings.length, 1);
  assert.match(journal.warnings[0]!, /unreadable and was moved to .*corrupt/);
  assert.deepEqual(journal.pendingFromCrash(), []);
  chmodSync(fileOf(stateDir), 0o666);
  await assert.rejects(Journal.open(stateDir), /could have been written by another user/);
});
