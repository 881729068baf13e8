import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';

/** How often the thread copies the write-ahead log into the database file (a tick is skipped while one runs). */
const CHECKPOINT_EVERY_MS = 100;
/**
 * Log pages (4 KiB) at which a commit on the store's own connection still checkpoints, as a backstop: the thread
 * has by then copied and synced nearly all of them, so what is left is short, and only a checkpoint on the writing
 * connection, right after its commit, lets the next write start the log over (a checkpoint that runs beside a
 * stream of writes never catches up with it, and the log grew to 1 GB in a burst).
 */
const BACKSTOP_AUTOCHECKPOINT_PAGES = 8192;
/** What the store's connection goes back to when the thread is gone (SQLite's default, in pages). */
export const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;
/**
 * Log frames below which the thread leaves the log alone, as SQLite's own autocheckpoint did. A log checkpointed to
 * its end is started over by the next commit, and SQLite syncs the new log's header on the committing thread, the
 * event loop: checkpointing every short log put that sync back into every accept (and every delivery's record)
 * that followed a quiet 100 ms (test/e2e/accept-durability.test.ts).
 */
const CHECKPOINT_FROM_FRAMES = DEFAULT_AUTOCHECKPOINT_PAGES;
/** After a failed checkpoint the next waits 1 s, doubling to at most this (a full disk stays full for a while). */
const FAILED_PAUSE_MAX_MS = 60_000;
/** While checkpoints keep failing, how often that is said again (with the count). */
const FAILING_REMINDER_MS = 10 * 60_000;

/**
 * The thread's code, evaluated rather than loaded from a file so that it runs the same from `dist/` and from the
 * TypeScript sources: it opens its own connection (better-sqlite3 is synchronous, so a checkpoint blocks the
 * thread that runs it) and on each message, once the log holds {@link CHECKPOINT_FROM_FRAMES} frames (NOOP only
 * reads the log's size), runs a PASSIVE checkpoint. PASSIVE never waits for the write lock and never holds it, so
 * accepts and deliveries go on while it copies and syncs.
 */
const THREAD_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
parentPort.on('message', (message) => {
  if (message === 'close') { db.close(); parentPort.close(); return; }
  try {
    let [result] = db.pragma('wal_checkpoint(NOOP)');
    if (result.log >= workerData.fromFrames && result.checkpointed < result.log) [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, log: result.log, checkpointed: result.checkpointed });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: String(error && error.message), code: error && error.code });
  }
});
`;

/** The store's side of checkpointing: what the thread needs to take it over, and to hand it back. */
export interface CheckpointedStore {
  /** The store's file (the thread opens its own connection to it). */
  readonly file: string;
  /** Sets how many log pages make a commit checkpoint on the store's own connection (0: never). */
  setAutoCheckpoint(pages: number): void;
}

/**
 * Moves WAL checkpoints off the event loop. SQLite checkpoints inside the commit that crosses 1,000 log pages, on
 * the committing connection: copying the log into the database file and syncing both took the event loop for
 * 40-100 ms at a time in a burst of 900 KB alerts (test/e2e/digest-memory.alone.ts). The store's connection stops
 * checkpointing (but for a backstop) and this thread does it, looking every 100 ms, on a connection of its own. If
 * the thread fails, the store's connection checkpoints on commit again (logged), so the log never grows without
 * bound.
 */
export class CheckpointThread {
  private readonly worker: Worker;
  private readonly timer: NodeJS.Timeout;
  private busy = false;
  private failed = false;
  private exited = false;
  /** Checkpoints failed in a row, when the next may run, and when that was last said (monotonic ms). */
  private failures = 0;
  private pausedUntil = 0;
  private saidAt = 0;

  constructor(
    private readonly store: CheckpointedStore,
    private readonly logger: Logger,
  ) {
    this.worker = new Worker(THREAD_CODE, { eval: true, workerData: { driver: require.resolve('better-sqlite3'), file: store.file, fromFrames: CHECKPOINT_FROM_FRAMES } });
    this.worker.unref();
    this.worker.on('message', (result: { ok: boolean; message?: string; code?: string }) => {
      this.busy = false;
      if (result.ok) this.succeeded();
      else this.checkpointFailed(result);
    });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => {
      this.exited = true;
      if (code !== 0) this.fail(new Error(`checkpoint thread exited with code ${code}`));
    });
    store.setAutoCheckpoint(BACKSTOP_AUTOCHECKPOINT_PAGES);
    this.timer = setInterval(() => this.tick(), CHECKPOINT_EVERY_MS);
    this.timer.unref();
  }

  /**
   * A failed checkpoint leaves the log intact: it is tried again after a pause that doubles while they keep failing
   * (a full disk), said once and then every {@link FAILING_REMINDER_MS}, not on every tick.
   */
  private checkpointFailed(result: { message?: string; code?: string }): void {
    this.failures += 1;
    const pauseMs = Math.min(FAILED_PAUSE_MAX_MS, 1000 * 2 ** Math.min(this.failures - 1, 16));
    const now = performance.now();
    this.pausedUntil = now + pauseMs;
    if (this.failures > 1 && now - this.saidAt < FAILING_REMINDER_MS) return;
    this.saidAt = now;
    this.logger.warn({ err: { message: result.message, code: result.code }, failures: this.failures, retryInMs: pauseMs }, 'WAL checkpoint failed; trying again later');
  }

  private succeeded(): void {
    if (this.failures > 0) this.logger.info({ failures: this.failures }, 'WAL checkpoints work again');
    this.failures = 0;
    this.pausedUntil = 0;
  }

  private tick(): void {
    if (this.busy || this.failed || performance.now() < this.pausedUntil) return;
    this.busy = true;
    this.worker.postMessage('checkpoint');
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    clearInterval(this.timer);
    this.logger.warn({ err: { message: error.message } }, 'the WAL checkpoint thread stopped; the store checkpoints on commit again');
    try {
      this.store.setAutoCheckpoint(DEFAULT_AUTOCHECKPOINT_PAGES);
    } catch {
      // The store is already closed (the thread died during shutdown): nothing left to checkpoint.
    }
  }

  /** Stops the thread and closes its connection; call before the store closes (its close then checkpoints last). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.failed = true;
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage('close');
    const timeout = setTimeout(() => void this.worker.terminate(), 2000);
    await exited;
    clearTimeout(timeout);
  }
}
