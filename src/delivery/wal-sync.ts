import { open } from 'node:fs/promises';

/**
 * Makes commits durable off the event loop. A commit at synchronous=NORMAL is written to the write-ahead log but
 * not synced; `sync()` then fdatasyncs the log on libuv's thread pool, so the event loop is free while the disk
 * works. After `sync()` resolves, every commit made before the call is on disk: SQLite only rewrites log frames
 * after a checkpoint has copied them into the database file and synced it, so syncing the log file covers all of
 * them. Calls while a sync runs share the next one (which begins after the running one, so it covers their
 * commits): under load one sync serves many commits, as group commit does for transactions.
 *
 * One failed sync (fdatasync's own error) fails every later one, until the process restarts. The failed sync's frames may never reach the
 * disk (Linux marks pages whose write-back failed clean and reports the error once), and every later commit sits
 * after them in the log: SQLite's recovery stops at the first frame whose checksum does not follow, so a later
 * sync that succeeds makes no later commit durable, nor the failed one that a retry would be told is stored. (With
 * synchronous=FULL, a failed sync failed the commit itself and the next one overwrote its frames.)
 */
export class WalSync {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private failed: Error | undefined;

  /**
   * `walFile`: the store's `-wal` file (it exists while the store's connection is open in WAL mode). `onFailure`
   * hears the first failed sync, once.
   */
  constructor(
    private readonly walFile: string,
    private readonly onFailure?: (error: Error) => void,
  ) {}

  /** The sync that failed, after which no sync is trusted (undefined while none has). */
  get failure(): Error | undefined {
    return this.failed;
  }

  /** Resolves once every commit made before this call is on disk; rejects when the disk refuses (EIO, ENOSPC), now or before. */
  sync(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (!this.running) {
      this.running = this.syncOnce().finally(() => (this.running = undefined));
      return this.running;
    }
    // The running sync may have begun before the caller's commit: wait for it, then start one of our own.
    this.next ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        return this.sync();
      });
    return this.next;
  }

  private async syncOnce(): Promise<void> {
    // A log that cannot be opened (EMFILE while sockets pile up) was not synced, but nothing was lost either: this
    // sync fails alone, and the next one covers the same frames.
    const handle = await open(this.walFile, 'r+');
    try {
      await handle.datasync();
    } catch (error) {
      if (!this.failed) {
        this.failed = error as Error;
        this.onFailure?.(this.failed);
      }
      throw error;
    } finally {
      await handle.close();
    }
  }
}
