import type { Logger } from 'pino';

/**
 * A background loop that runs `tick` whenever it is woken or its sleep ends. `tick` returns how long to sleep
 * (its next due work); errors are logged and retried after `idleMs`, never thrown out of the loop.
 */
export abstract class PollingLoop {
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private done: Promise<void> | undefined;
  private pending = false;

  constructor(
    private readonly name: string,
    private readonly loopLogger: Logger,
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

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.done;
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.pending = false;
      let sleepMs = this.idleMs;
      try {
        sleepMs = Math.max(0, Math.min(this.idleMs, await this.tick()));
      } catch (error) {
        this.loopLogger.error({ loop: this.name, err: { message: (error as Error).message } }, 'background loop failed; retrying');
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
