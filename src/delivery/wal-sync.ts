import { open } from 'node:fs/promises';

/**
 * Makes commits durable off the event loop. A commit at synchronous=NORMAL is written to the write-ahead log but
 * not synced; `sync()` then fdatasyncs the log on libuv's thread pool, so the event loop is free while the disk
 * works. After `sync()` resolves, every commit made before the call is on disk: SQLite only rewrites log frames
 * after a checkpoint has copied them into the database file and synced it, so syncing the log file covers all of
 * them. Calls while a sync runs share the next one (which begins after the running one, so it covers their
 * commits): under load one sync serves many commits, as group commit does for transactions.
 */
export class WalSync {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  /** `walFile`: the store's `-wal` file (it exists while the store's connection is open in WAL mode). */
  constructor(private readonly walFile: string) {}

  /** Resolves once every commit made before this call is on disk; rejects when the disk refuses (EIO, ENOSPC). */
  sync(): Promise<void> {
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
    const handle = await open(this.walFile, 'r+');
    try {
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }
}
