// The write-ahead journal of every change the daemon makes to the
// workstation. A change's record reaches the disk (fsync'd file, fsync'd
// directory) before the change is applied, so whatever kills the daemon —
// disconnect, quit, SIGTERM, a crash, `kill -9` — the next start (or
// `tpv quit --cleanup`) finds what is left and reverts it, newest first.
//
// File: <stateDir>/journal/host-changes.json (0600 in a 0700 directory),
// rewritten atomically (temp file + rename) on every change.
import { closeSync, constants, fsyncSync, lstatSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand, type CommandRunner } from './commandRunner';
import { describeRecord, parseRecord, type HostChangeRecord, type HostOperation } from './hostOperation';
import { operationFromRecord } from './operationFromRecord';
import { ensureJournalDir } from './privateStateDir';

export const JOURNAL_FILE = 'host-changes.json';
const FORMAT_VERSION = 1;

interface ProcessIdentity {
  pid: number;
  /** /proc/<pid>/stat start time (clock ticks since boot): tells a live owner from a reused pid. */
  startTime?: string;
  bootId?: string;
}

interface JournalFileContents {
  version: number;
  owner: ProcessIdentity;
  entries: Array<{ id: number; recordedAt: string; record: HostChangeRecord }>;
}

interface Entry {
  id: number;
  recordedAt: string;
  record: HostChangeRecord;
  /** The live operation when this process applied it; rebuilt from the record otherwise. */
  op: HostOperation;
}

export interface RevertReport {
  reverted: string[];
  failed: Array<{ change: string; error: string }>;
}

export class JournalInUseError extends Error {
  constructor(readonly pid: number) {
    super(`another daemon (pid ${pid}) is running and owns the workstation's network changes; stop it with \`tpv quit\` first`);
    this.name = 'JournalInUseError';
  }
}

export interface JournalOptions {
  /** Runs ip/nft/resolvectl for operations rebuilt from the file. */
  run?: CommandRunner;
}

export class Journal {
  private readonly entries = new Map<number, Entry>();
  private readonly crashRecords: HostChangeRecord[];
  private nextId = 1;
  private owner: ProcessIdentity = { pid: process.pid };
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly dir: string,
    run: CommandRunner,
    crashEntries: JournalFileContents['entries'],
    /** Problems found while reading the file (e.g. a corrupt journal set aside). */
    readonly warnings: string[],
  ) {
    for (const e of crashEntries) {
      this.entries.set(e.id, { ...e, op: operationFromRecord(e.record, run) });
      this.nextId = Math.max(this.nextId, e.id + 1);
    }
    this.crashRecords = crashEntries.map((e) => e.record);
  }

  /**
   * Opens (creating if needed) the journal under `stateDir`. Changes left by
   * a previous process that is no longer running become `pendingFromCrash()`;
   * a journal whose owner still runs is refused (JournalInUseError).
   */
  static async open(stateDir: string, opts: JournalOptions = {}): Promise<Journal> {
    const dir = ensureJournalDir(stateDir);
    const path = join(dir, JOURNAL_FILE);
    const warnings: string[] = [];
    let previous: JournalFileContents | undefined;
    let text: string | undefined;
    try {
      const st = lstatSync(path);
      if (!st.isFile()) throw new Error(`${path} is not a regular file; remove it`);
      if (st.uid !== (process.geteuid?.() ?? 0) || (st.mode & 0o022) !== 0) {
        throw new Error(`${path} could have been written by another user (uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}); inspect and remove it, then start again`);
      }
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      previous = parseJournal(text);
      if (!previous) {
        const aside = `${path}.corrupt-${Date.now()}`;
        renameSync(path, aside);
        warnings.push(`the journal was unreadable and was moved to ${aside}; changes it recorded cannot be reverted automatically`);
      }
    }
    const self = identity(process.pid);
    if (previous && previous.entries.length > 0 && previous.owner.pid !== process.pid && isAlive(previous.owner)) {
      throw new JournalInUseError(previous.owner.pid);
    }
    const journal = new Journal(path, dir, opts.run ?? runCommand, previous?.entries ?? [], warnings);
    journal.owner = self;
    await journal.persist();
    return journal;
  }

  /** Records left by a process that died without reverting them (oldest first). */
  pendingFromCrash(): HostChangeRecord[] {
    return [...this.crashRecords];
  }

  /** Everything currently recorded (oldest first). */
  records(): HostChangeRecord[] {
    return [...this.entries.values()].sort((a, b) => a.id - b.id).map((e) => e.record);
  }

  /** Writes `op`'s record durably. Call before applying it (or use `apply`). */
  async record(op: HostOperation): Promise<void> {
    const id = this.nextId++;
    this.entries.set(id, { id, recordedAt: new Date().toISOString(), record: op.record, op });
    await this.persist();
  }

  /**
   * Records, then applies. When applying fails, whatever part got applied is
   * reverted and the record dropped; the apply error is rethrown.
   */
  async apply(op: HostOperation): Promise<void> {
    await this.record(op);
    try {
      await op.apply();
    } catch (err) {
      try {
        await this.revert(op);
      } catch (revertErr) {
        (err as Error).message += ` (undoing it also failed, it stays in the journal: ${(revertErr as Error).message})`;
      }
      throw err;
    }
  }

  /** Reverts one operation this journal holds and drops its record. */
  async revert(op: HostOperation): Promise<void> {
    const entry = [...this.entries.values()].find((e) => e.op === op);
    await op.revert();
    if (entry) {
      this.entries.delete(entry.id);
      await this.persist();
    }
  }

  /**
   * Reverts everything recorded, newest first. Continues past failures; what
   * failed stays recorded (a later call retries it). Idempotent.
   */
  async revertAll(): Promise<RevertReport> {
    const report: RevertReport = { reverted: [], failed: [] };
    const newestFirst = [...this.entries.values()].sort((a, b) => b.id - a.id);
    for (const entry of newestFirst) {
      const change = describeRecord(entry.record);
      try {
        await entry.op.revert();
        this.entries.delete(entry.id);
        await this.persist();
        report.reverted.push(change);
      } catch (err) {
        report.failed.push({ change, error: (err as Error).message });
      }
    }
    return report;
  }

  /** Removes the file when nothing is recorded (a clean shutdown leaves no journal). */
  async close(): Promise<void> {
    await this.writing;
    if (this.entries.size === 0) {
      try { unlinkSync(this.path); } catch { /* already gone */ }
      fsyncDir(this.dir);
    }
  }

  private persist(): Promise<void> {
    const contents: JournalFileContents = {
      version: FORMAT_VERSION,
      owner: this.owner,
      entries: [...this.entries.values()].sort((a, b) => a.id - b.id).map(({ id, recordedAt, record }) => ({ id, recordedAt, record })),
    };
    const text = `${JSON.stringify(contents, null, 2)}\n`;
    // Writes are serialized; each one is complete and durable before the next starts.
    this.writing = this.writing.catch(() => undefined).then(() => writeDurably(this.path, this.dir, text));
    return this.writing;
  }
}

function parseJournal(text: string): JournalFileContents | undefined {
  try {
    const raw = JSON.parse(text) as Partial<JournalFileContents>;
    if (raw.version !== FORMAT_VERSION || typeof raw.owner?.pid !== 'number' || !Array.isArray(raw.entries)) return undefined;
    const entries: JournalFileContents['entries'] = [];
    for (const e of raw.entries) {
      const record = parseRecord((e as { record?: unknown }).record);
      const id = (e as { id?: unknown }).id;
      if (!record || typeof id !== 'number') return undefined;
      entries.push({ id, recordedAt: String((e as { recordedAt?: unknown }).recordedAt ?? ''), record });
    }
    return { version: FORMAT_VERSION, owner: raw.owner as ProcessIdentity, entries };
  } catch {
    return undefined;
  }
}

function writeDurably(path: string, dir: string, text: string): void {
  const tmp = `${path}.tmp`;
  try { unlinkSync(tmp); } catch { /* no leftover */ }
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dir);
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    fsyncSync(fd);
  } catch {
    /* some filesystems refuse fsync on directories; the rename is still atomic */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function readOrUndefined(path: string): string | undefined {
  try { return readFileSync(path, 'utf8').trim(); } catch { return undefined; }
}

function identity(pid: number): ProcessIdentity {
  const stat = readOrUndefined(`/proc/${pid}/stat`);
  // Field 22 (starttime) comes after the parenthesized command name, which may contain spaces.
  const startTime = stat ? stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] : undefined;
  return { pid, startTime, bootId: readOrUndefined('/proc/sys/kernel/random/boot_id') };
}

function isAlive(owner: ProcessIdentity): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const now = identity(owner.pid);
  if (owner.bootId && now.bootId && owner.bootId !== now.bootId) return false;
  if (owner.startTime && now.startTime && owner.startTime !== now.startTime) return false;
  if (owner.startTime && !now.startTime && process.platform === 'linux') return false;
  return true;
}
