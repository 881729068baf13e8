import { mkdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/**
 * The file `serve` holds locked: `<store>-owner` beside the store's real file (symbolic links resolved: SQLite
 * follows them to one database, so the lock must not depend on the path it was reached by), next to SQLite's own
 * `-wal` and `-shm` (leave it, like them).
 */
export const lockFileOf = (storePath: string): string => `${realStorePath(storePath)}-owner`;

/** The store's path with every symbolic link resolved (the directory's alone while the file does not exist yet). */
export function realStorePath(storePath: string): string {
  const absolute = path.resolve(storePath);
  try {
    return realpathSync(absolute);
  } catch {
    try {
      return path.join(realpathSync(path.dirname(absolute)), path.basename(absolute));
    } catch {
      return absolute;
    }
  }
}

/** A held store lock; `release` (idempotent) gives it back. */
export interface StoreLock {
  release(): void;
}

/**
 * Takes the one-`serve`-per-store lock, or returns null at once when another process holds it.
 *
 * The lock is SQLite's own file locking on a small sidecar database, held for the life of the connection
 * (`locking_mode=EXCLUSIVE` keeps the exclusive lock of its first write transaction). Those are POSIX advisory
 * locks: the kernel keeps them per process — not per PID number, so two containers that are both PID 1 still
 * exclude each other — and drops them when the process dies, however it dies. The previous pid file trusted
 * PIDs and let a second PID 1 take over (issue 14). Only one process on one host can hold it; SQLite in WAL mode
 * cannot be shared across hosts anyway. Nothing else in the process may open the sidecar: closing any other
 * descriptor of it would drop the lock (SQLite guards its own connections against that).
 */
export function tryLockStore(storePath: string): StoreLock | null {
  mkdirSync(path.dirname(path.resolve(storePath)), { recursive: true });
  refuseHardLinks(storePath);
  const db = new Database(lockFileOf(storePath));
  try {
    // 0: a held lock is reported at once, not waited for.
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    // No journal file beside it: the transaction below changes nothing but the lock.
    db.pragma('journal_mode = MEMORY');
    db.exec('BEGIN EXCLUSIVE; COMMIT;');
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') return null;
    throw error;
  }
  removeLegacyPidLock(storePath);
  return {
    release: () => {
      if (db.open) db.close();
    },
  };
}

/** Releases of the bridge before this lock wrote `<store>.lock` with a PID; it means nothing now. */
function removeLegacyPidLock(storePath: string): void {
  rmSync(`${storePath}.lock`, { force: true });
}

/**
 * A store file with more than one name (a hard link) is refused: SQLite keeps its `-wal` and `-shm` beside the name
 * it was opened by, so two names are two stores over one file, and two processes writing it that way lose rows.
 * (A bind mount of the single file has the same effect and cannot be seen from here: mount the directory.)
 */
function refuseHardLinks(storePath: string): void {
  let links: number;
  try {
    links = statSync(storePath).nlink;
  } catch {
    return; // not created yet
  }
  if (links > 1) {
    throw new Error(
      `store ${storePath} has ${links} names (hard links): SQLite keeps its -wal and -shm files beside the name it opens, ` +
        'so each name would be a separate store over one file. Give the store file a single name.',
    );
  }
}
