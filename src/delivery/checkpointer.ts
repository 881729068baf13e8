import type { Logger } from 'pino';

/** How often a checkpoint is asked for (a tick is skipped while one runs). */
const CHECKPOINT_EVERY_MS = 100;
/**
 * Log pages (4 KiB) at which a commit on the store's own connection still checkpoints, as a backstop: the runner
 * has by then copied and synced nearly all of them, so what is left is short, and only a checkpoint on the writing
 * connection, right after its commit, lets the next write start the log over (a checkpoint that runs beside a
 * stream of writes never catches up with it, and the log grew to 1 GB in a burst).
 */
const BACKSTOP_AUTOCHECKPOINT_PAGES = 8192;
/** What the store's connection goes back to while no runner checkpoints (SQLite's default, in pages). */
export const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;
/**
 * Log frames below which the runner leaves the log alone, as SQLite's own autocheckpoint did. A log checkpointed to
 * its end is started over by the next commit, and SQLite syncs the new log's header on the committing thread, the
 * event loop: checkpointing every short log put that sync back into every accept (and every delivery's record)
 * that followed a quiet 100 ms (test/e2e/accept-durability.test.ts).
 */
const CHECKPOINT_FROM_FRAMES = DEFAULT_AUTOCHECKPOINT_PAGES;
/** After a failed checkpoint the next waits 1 s, doubling to at most this (a full disk stays full for a while). */
const FAILED_PAUSE_MAX_MS = 60_000;
/** While checkpoints keep failing, how often that is said again (with the count). */
const FAILING_REMINDER_MS = 10 * 60_000;

/** What one checkpoint came to: the log's frames and how many of them are in the database file, or the error. */
export type CheckpointOutcome = { ok: true; log: number; checkpointed: number } | { ok: false; message?: string; code?: string };

/**
 * Where the checkpoints run: a thread other than the event loop, with a connection of its own to the store file
 * (better-sqlite3 is synchronous, so a checkpoint blocks the thread that runs it for as long as it copies and syncs).
 */
export interface CheckpointRunner {
  /**
   * Reads the log's size (`wal_checkpoint(NOOP)`) and, once it holds `fromFrames` frames not all copied yet, copies
   * what it can into the database file (`wal_checkpoint(PASSIVE)`: it never waits for the write lock and never
   * holds it, so accepts and deliveries go on meanwhile). Resolves with the outcome, a failure included. Asked once
   * at a time. May never settle if the runner dies: whoever owns it then detaches it ({@link Checkpointer.detach}).
   */
  checkpoint(fromFrames: number): Promise<CheckpointOutcome>;
}

/** The store's side of checkpointing: its own connection's autocheckpoint, handed over and back. */
export interface CheckpointedStore {
  /** Sets how many log pages make a commit checkpoint on the store's own connection (0: never). */
  setAutoCheckpoint(pages: number): void;
  /**
   * A value that differs from the one read before whenever rows were written to the store in between, by any
   * connection (OutboxStore.writeMark has the exceptions, none of which `serve` makes while checkpoints run).
   */
  writeMark(): string;
}

/**
 * Keeps WAL checkpoints off the event loop, whoever runs them. SQLite checkpoints inside the commit that crosses
 * 1,000 log pages, on the committing connection: copying the log into the database file and syncing both took the
 * event loop for 40-100 ms at a time in a burst of 900 KB alerts (test/e2e/digest-memory.alone.ts). While a
 * {@link CheckpointRunner} is attached, the store's connection stops checkpointing (but for a backstop) and the
 * runner is asked every 100 ms while anything is written (not again while nothing was since it last had nothing to
 * do); failures pause it and are said sparingly. While none is (before the first, after
 * one died, or failed for good), the store's connection checkpoints on commit again, as SQLite does by default, so
 * the log never grows without bound.
 */
export class Checkpointer {
  private runner: CheckpointRunner | undefined;
  /** Counts attaches: an answer from a runner attached before the current one is ignored. */
  private attached = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private stopped = false;
  /** Checkpoints failed in a row, when the next may run, and when that was last said (monotonic ms). */
  private failures = 0;
  private pausedUntil = 0;
  private saidAt = 0;
  /**
   * The store's write mark when a checkpoint last found nothing to do (a short log, or one copied to its end), or
   * undefined. While the mark stays the same, nothing was written since, and asking again would find the same: the
   * tick is skipped. Each ask is a message to the runner's thread and its answer back, each waking a thread; asked
   * every 100 ms, that was most of an idle bridge's CPU (about 15 ms per second of it on a 2-vCPU machine, the
   * main thread's 9 of them mostly these messages and their timers).
   */
  private settledAt: string | undefined;

  constructor(
    private readonly store: CheckpointedStore,
    private readonly logger: Logger,
  ) {}

  /** Hands the checkpoints to `runner` (replacing any other); ignored once stopped. */
  attach(runner: CheckpointRunner): void {
    if (this.stopped) return;
    this.runner = runner;
    this.attached += 1;
    this.busy = false;
    this.settledAt = undefined;
    this.store.setAutoCheckpoint(BACKSTOP_AUTOCHECKPOINT_PAGES);
    // Every 100 ms whatever the store is doing: a burst after a quiet spell (900 KB alerts at ~40 MB/s) fills the
    // log to the backstop's 8,192 pages in under a second, and the backstop copies it inside a commit, on the event
    // loop. A tick that finds nothing written costs a timer's wake and the mark (~0.15 ms on a 2-vCPU VM), not a
    // message to the runner's thread.
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), CHECKPOINT_EVERY_MS);
    this.timer.unref();
  }

  /**
   * `runner` no longer checkpoints (it died, failed, or is stopping): a checkpoint it was asked for is forgotten,
   * and the store's connection checkpoints on commit at SQLite's default until another runner is attached.
   */
  detach(runner: CheckpointRunner): void {
    if (this.runner !== runner) return;
    this.runner = undefined;
    this.busy = false;
    clearInterval(this.timer);
    this.timer = undefined;
    try {
      this.store.setAutoCheckpoint(DEFAULT_AUTOCHECKPOINT_PAGES);
    } catch {
      // The store is already closed (the runner died during shutdown): nothing left to checkpoint.
    }
  }

  /**
   * Asks for no more checkpoints, and takes no runner any more; call before the store closes (its close then
   * checkpoints last, whatever its autocheckpoint). A checkpoint running now is not waited for.
   */
  stop(): void {
    this.stopped = true;
    this.runner = undefined;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const runner = this.runner;
    if (!runner || this.busy || performance.now() < this.pausedUntil) return;
    // Read before asking: a commit while the checkpoint runs changes it, so the next tick asks again.
    const mark = this.markOrUndefined();
    if (mark !== undefined && mark === this.settledAt) return;
    this.busy = true;
    const attached = this.attached;
    void runner.checkpoint(CHECKPOINT_FROM_FRAMES).then((outcome) => {
      // Detached meanwhile: busy was cleared then, and this runner's answer no longer counts.
      if (this.runner !== runner || this.attached !== attached) return;
      this.busy = false;
      // Frames left to copy in a long log (a reader held them back) are tried again on the next tick, as before.
      this.settledAt = outcome.ok && (outcome.log < CHECKPOINT_FROM_FRAMES || outcome.checkpointed >= outcome.log) ? mark : undefined;
      if (outcome.ok) this.succeeded();
      else this.failed(outcome);
    });
  }

  /** The store's write mark, or undefined when it cannot be read (the store closing): then the runner is asked. */
  private markOrUndefined(): string | undefined {
    try {
      return this.store.writeMark();
    } catch {
      return undefined;
    }
  }

  /**
   * A failed checkpoint leaves the log intact: it is tried again after a pause that doubles while they keep failing
   * (a full disk), said once and then every {@link FAILING_REMINDER_MS}, not on every tick.
   */
  private failed(result: { message?: string; code?: string }): void {
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
}
