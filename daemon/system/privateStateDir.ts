// The directory holding the host-change journal: `<stateDir>/journal`, mode
// 0700, owned by the daemon's user (root). The state dir itself also holds the
// daemon's socket (which clients must reach), so it only has to be owned by us
// and not writable by anyone else.
import { chmodSync, lstatSync, mkdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';

export class UnsafeStateDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeStateDirError';
  }
}

function euid(): number {
  return process.geteuid?.() ?? 0;
}

function checkOwnedDir(path: string, st: Stats): void {
  if (st.isSymbolicLink() || !st.isDirectory()) throw new UnsafeStateDirError(`${path} is not a plain directory; remove it so the daemon can create it`);
  if (st.uid !== euid()) throw new UnsafeStateDirError(`${path} belongs to uid ${st.uid}, not to the daemon (uid ${euid()}); remove it so the daemon can create it`);
}

/** Creates (or checks) `<stateDir>/journal` and returns its path. */
export function ensureJournalDir(stateDir: string): string {
  mkdirSync(stateDir, { recursive: true, mode: 0o755 });
  const parent = lstatSync(stateDir);
  checkOwnedDir(stateDir, parent);
  if ((parent.mode & 0o022) !== 0) {
    // Ours, so tightening it is safe; others must not be able to swap the journal dir.
    chmodSync(stateDir, parent.mode & 0o755);
  }
  const dir = join(stateDir, 'journal');
  mkdirSync(dir, { mode: 0o700, recursive: true });
  const st = lstatSync(dir);
  checkOwnedDir(dir, st);
  if ((st.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
  return dir;
}
