import { open, type FileHandle } from 'node:fs/promises';

/**
 * Makes commits durable off the event loop. A commit at synchronous=NORMAL is written to the write-ahead log but
 * not synced; `sync()` then fdatasyncs the log on libuv's thread pool, so the event loop is free while the disk
 * works. After `sync()` resolves, every commit made before the call is on disk: SQLite only rewrites log frames
 * after a checkpoint has copied them into the database file and synced it, so syncing the log file covers all of
 * them. Calls while a sync runs share the next one (which begins after the running one, so it covers their
 * commits): under load one sync serves many commits, as group commit does for transactions.
 *
 * The log file is opened once and kept open: SQLite deletes it only when the last connection to the store closes,
 * and the store's own connection outlives this object (see {@link close}), so the handle always names the live log.
 * Opening and closing it per sync was about a twentieth of the receiving thread's CPU under load.
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
  private handle: Promise<FileHandle> | undefined;
  private closed = false;

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

  /** Closes the log file after the last sync; call before the store's connection closes. Later syncs reject. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([this.running, this.next]);
    const handle = this.handle;
    this.handle = undefined;
    await (await handle?.catch(() => undefined))?.close();
  }

  private async syncOnce(): Promise<void> {
    if (this.closed) throw new Error(`the write-ahead log ${this.walFile} is no longer synced: the store is closing`);
    // A log that cannot be opened (EMFILE while sockets pile up) was not synced, but nothing was lost either: this
    // sync fails alone, and the next one opens it again and covers the same frames.
    this.handle ??= open(this.walFile, 'r+');
    let handle: FileHandle;
    try {
      handle = await this.handle;
    } catch (error) {
      this.handle = undefined;
      throw error;
    }
    try {
      await handle.datasync();
    } catch (error) {
      if (!this.failed) {
        this.failed = error as Error;
        this.onFailure?.(this.failed);
      }
      throw error;
    }
  }
}
