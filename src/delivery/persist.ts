import { FailureBackoff } from './backoff';
import type { StoreEngine, StoreOps } from './store-contract';

export interface PersistOptions {
  /** One failed try: report it (log, count); the next follows after `retryInMs`. */
  failed(error: unknown, retryInMs: number): void;
  /**
   * Epoch ms after which retrying stops (a shutdown's grace is over; Infinity while running): the record is then
   * left unwritten and false returned.
   */
  giveUpAt(): number;
  /** Called once when the record is given up, to say what may be sent again after a restart. */
  gaveUp?(): void;
  /**
   * `write` is one operation that the engine writes atomically by itself (StoreOps.recordAttempt): it is run on the
   * engine rather than in a transaction opened for it alone. On SQLite that is one transaction of the store's
   * instead of the engine's (a BEGIN and a COMMIT each queued and waiting for the lock apart, and a scope whose
   * async-context tracking, once on, costs every promise of the thread): a tenth of the store's CPU per delivery.
   */
  oneOperation?: boolean;
}

/**
 * Writes the record of something already done on a platform (a post, a digest, an edit, a Panther update) until
 * it sticks. Only the record is retried: doing the work again because its record failed would post twice, and
 * giving up would let the lease expire and post it again. Each try is one transaction, which waits only briefly for
 * a lock held elsewhere; failures back off from 250 ms to 10 s, never past `giveUpAt`. Resolves true once written.
 */
export async function persistOutcome(store: StoreEngine, write: (tx: StoreOps) => Promise<unknown>, options: PersistOptions): Promise<boolean> {
  const backoff = new FailureBackoff();
  for (;;) {
    try {
      await (options.oneOperation ? write(store) : store.transaction(write));
      return true;
    } catch (error) {
      const now = Date.now();
      const left = options.giveUpAt() - now;
      const wait = Math.min(backoff.failed(), Math.max(0, left));
      options.failed(error, wait);
      if (left <= 0) {
        options.gaveUp?.();
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
