/**
 * When a stopping loop gives up writing the record of work it already did on a platform. Until `stop`, never;
 * after it, once `graceMs` have passed: the store may be refusing writes just then (an `outbox purge` holding the
 * lock during a deploy), and a record given up at the first failure is a message posted again after the restart.
 */
export class ShutdownGrace {
  private until = Number.POSITIVE_INFINITY;

  /** Starts the grace (idempotent: a second stop does not extend it). */
  begin(graceMs: number, now = Date.now()): void {
    if (this.until === Number.POSITIVE_INFINITY) this.until = now + Math.max(0, graceMs);
  }

  /** Epoch ms after which records are given up; Infinity while running. */
  get giveUpAt(): number {
    return this.until;
  }
}
