import { setTimeout as sleep } from 'node:timers/promises';
import { isStoreBusy } from './store-errors';

/** Pauses between tries while another process holds the write lock: short first (a commit elsewhere ends soon), then longer. */
export const LOCK_RETRY_FIRST_MS = 20;
export const LOCK_RETRY_MAX_MS = 250;

/**
 * Runs `attempt` (a store write that waits only briefly for the write lock, see `OutboxStore.briefly`) and, while
 * it fails with SQLITE_BUSY because another process holds the lock (`outbox purge`, a backup), tries again after a
 * pause with the event loop free, for up to `waitMs`; then the last busy error is thrown. Any other error is thrown
 * at once; `onFirstWait` hears the first time it has to wait. Why not the connection's busy timeout: better-sqlite3 waits for it synchronously, which froze HTTP,
 * deliveries and every timer of `serve` for seconds, so a click or a resend could stall every platform call in
 * flight long enough for their requests to time out and be sent again.
 */
export async function whenLockFree<T>(attempt: () => T, waitMs: number, onFirstWait?: () => void): Promise<T> {
  const giveUpAt = Date.now() + waitMs;
  let pause = LOCK_RETRY_FIRST_MS;
  for (;;) {
    try {
      return attempt();
    } catch (error) {
      if (!isStoreBusy(error) || Date.now() + pause > giveUpAt) throw error;
      if (pause === LOCK_RETRY_FIRST_MS) onFirstWait?.();
    }
    await sleep(pause);
    pause = Math.min(LOCK_RETRY_MAX_MS, pause * 2);
  }
}

/**
 * {@link whenLockFree} for the store contract: runs the asynchronous `attempt` and, while it fails with an error the
 * engine calls transient (a lock held elsewhere, a serialization failure, a lost connection), tries again after a
 * pause for up to `waitMs`; then the last error is thrown. Any other error is thrown at once.
 */
export async function whileTransient<T>(attempt: () => Promise<T>, isTransient: (error: unknown) => boolean, waitMs: number, onFirstWait?: () => void): Promise<T> {
  const giveUpAt = Date.now() + waitMs;
  let pause = LOCK_RETRY_FIRST_MS;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!isTransient(error) || Date.now() + pause > giveUpAt) throw error;
      if (pause === LOCK_RETRY_FIRST_MS) onFirstWait?.();
    }
    await sleep(pause);
    pause = Math.min(LOCK_RETRY_MAX_MS, pause * 2);
  }
}
