import { reportLoopError, type LoopErrorSink } from '../observability/loop-errors';
import type { LoopName } from '../observability/metrics';
import { FailureBackoff } from './backoff';
import { ShutdownGrace } from './shutdown-grace';

/**
 * A background loop that runs `tick` whenever it is woken or its sleep ends. `tick` returns how long to sleep
 * (its next due work). A tick that throws (a locked or failing store) never ends the loop: it is reported
 * (logged with secrets redacted, counted in `chatops_loop_errors_total{loop}`) and retried after a backoff that
 * doubles from 250 ms to 10 s and resets after a good tick.
 */
export abstract class PollingLoop {
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private done: Promise<void> | undefined;
  private pending = false;
  private readonly failures = new FailureBackoff();
  /** Until when records of work already done are still retried after `stop` (see {@link ShutdownGrace}). */
  protected readonly grace = new ShutdownGrace();

  constructor(
    private readonly name: LoopName,
    private readonly sink: LoopErrorSink,
    private readonly idleMs = 1000,
  ) {}

  /** One pass over the due work; returns how long until more is due (Infinity: nothing scheduled). */
  protected abstract tick(): Promise<number>;

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.done = this.run();
  }

  /** Runs the tick again as soon as possible (new work was recorded). */
  notify(): void {
    this.pending = true;
    this.wake?.();
  }

  /**
   * Stops ticking and waits for the tick in progress. A record of work already done that the store refuses is
   * retried for up to `graceMs` more before it is given up.
   */
  async stop(graceMs = 0): Promise<void> {
    this.grace.begin(graceMs);
    this.running = false;
    this.wake?.();
    await this.done;
  }

  /** Reports a failure inside a tick that the tick itself survived (e.g. one retried write). */
  protected reportFailure(error: unknown, retryInMs: number, context: Record<string, unknown> = {}): void {
    reportLoopError(this.sink, this.name, error, retryInMs, context);
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.pending = false;
      let sleepMs = this.idleMs;
      try {
        sleepMs = Math.max(0, Math.min(this.idleMs, await this.tick()));
        this.failures.succeeded();
      } catch (error) {
        sleepMs = this.failures.failed();
        this.reportFailure(error, sleepMs);
        // Work noticed during the failed tick does not skip the backoff; a notification during the wait (someone
        // just wrote to the store, so it works again) ends it early.
        this.pending = false;
      }
      if (this.pending || !this.running) continue;
      await new Promise<void>((resolve) => {
        this.wake = () => {
          clearTimeout(this.timer);
          this.wake = undefined;
          resolve();
        };
        this.timer = setTimeout(() => this.wake?.(), sleepMs);
      });
    }
  }
}
