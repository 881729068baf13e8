import { whileTransient } from './lock-wait';
import { isStoreError } from './store-errors';
import type { LedgerEntry, LedgerFilter, RequeueResult } from './ledger';
import { REQUEUE_LOCK_WAIT_MS } from './ledger';
import type { Alert } from '../domain/alert';
import type { StoreEngine } from './store-contract';

/**
 * What the HTTP fronts of a running `serve` (admin API, console) read and repair: the ledger of the store contract,
 * with resends that wait for a lock held elsewhere (`outbox purge`, another replica's transaction) for up to
 * {@link REQUEUE_LOCK_WAIT_MS} with the event loop free, then throw the engine's transient error (answered 503).
 */
export interface OperatorLedger {
  list(filter?: LedgerFilter): Promise<LedgerEntry[]>;
  alert(alertRow: number): Promise<Alert | undefined>;
  requeue(ids: number[] | 'all-dead', options?: { resendDelivered?: boolean }): Promise<RequeueResult>;
  /**
   * Whether `error`, thrown by one of these calls, means the store cannot answer now (a lock held elsewhere past
   * the wait, a lost connection, a failing disk): the fronts answer `503 store_unavailable`, "try again", as they
   * do for a webhook, instead of a 500 that reads like a bug. Whatever the engine.
   */
  unavailable(error: unknown): boolean;
}

/** The operator's ledger on `engine`. */
export function operatorLedger(engine: StoreEngine): OperatorLedger {
  const ledger = engine.ledger();
  return {
    list: (filter) => ledger.list(filter),
    alert: (alertRow) => ledger.alert(alertRow),
    requeue: (ids, options = {}) => whileTransient(() => ledger.requeue(ids, Date.now(), options), (error) => engine.isTransient(error), REQUEUE_LOCK_WAIT_MS),
    // SQLite: any SQLITE_* error (busy, full, I/O); PostgreSQL: what the engine calls transient (locks, connections).
    unavailable: (error) => isStoreError(error) || engine.isTransient(error),
  };
}
