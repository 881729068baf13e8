import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Marks the work of an engine's transactions, so that a call to the engine itself from inside one (instead of
 * through its `tx`) is refused at once. On SQLite such a call is queued behind the transaction it comes from,
 * which waits for it: the transaction, and every store call after it, would hang for good (accepts included, as
 * the group commit waits for the open transaction to end). On PostgreSQL it would run on another connection,
 * outside the transaction, and could wait on the transaction's own locks.
 */
export class TransactionScope {
  private readonly inside = new AsyncLocalStorage<true>();

  /** Runs a transaction's `work`; everything it awaits is inside the transaction. */
  run<T>(work: () => Promise<T>): Promise<T> {
    return this.inside.run(true, work);
  }

  /** The error to reject a call to the engine with, when it comes from inside a transaction's work; else undefined. */
  misuse(): Error | undefined {
    if (!this.inside.getStore()) return undefined;
    return new Error('a store operation was called on the engine inside one of its own transactions: use the transaction\'s tx');
  }
}
