import type { AcceptItem, OutboxStore } from './store';
import type { AcceptResult } from './status';
import { LOCK_RETRY_FIRST_MS, LOCK_RETRY_MAX_MS } from './lock-wait';
import { isStoreBusy } from './store-errors';
import type { WalSync } from './wal-sync';

/**
 * Upper bounds of one batch of POSTs, in count and in request bytes: a bigger batch would hold the event loop for
 * its whole transaction, and writing and syncing a few MB of large alerts in one commit took 150-300 ms
 * (test/e2e/digest-memory.alone.ts). A single POST over the byte bound is a batch of its own.
 */
const MAX_BATCH = 256;
export const MAX_BATCH_BYTES = 1024 * 1024;
/**
 * How long a POST waits for a write lock another process holds (`outbox purge`, a backup) before it is answered
 * 503: the store's busy timeout used to give it the same 5 s, but spent them blocking the event loop.
 */
export const ACCEPT_LOCK_WAIT_MS = 5000;

interface Waiting {
  group: readonly AcceptItem[];
  /** Size of the request that carried the group (its share of the batch's byte bound). */
  bytes: number;
  resolve: (results: AcceptResult[]) => void;
  reject: (error: Error) => void;
  /** Epoch ms after which a held lock answers this POST 503 instead of another try. */
  giveUpAt: number;
}

/**
 * Group commit for webhook accepts. Every accept must be on disk before its 2xx, and that
 * sync, not the work, is what an accept costs: profiled at about half the bridge's CPU time with one commit per
 * alert. POSTs submitted in the same event-loop turn (requests whose bodies arrived together) are committed in
 * one transaction on the next `setImmediate`, each POST all-or-none in its own savepoint, then each promise
 * settles with its own outcome. Nothing is answered before the commit, so the durability promise is unchanged;
 * an idle bridge adds no delay (a batch of one is flushed in the same loop iteration).
 *
 * When another process holds the write lock, a try waits only briefly (better-sqlite3 waits synchronously, which
 * froze HTTP, deliveries and every timer for the whole busy timeout, long enough for a platform's answer to lose
 * the race with its request timeout and a delivered message to be sent again). The batch is tried again after a
 * pause, with the event loop free, until {@link ACCEPT_LOCK_WAIT_MS} after each POST arrived; then it is 503.
 */
export class GroupCommit {
  private queue: Waiting[] = [];
  private scheduled = false;
  private retryMs = 0;

  /**
   * Needs only the store's one-transaction accept of several POSTs and its short lock wait. With `log`, commits
   * are synced by it off the event loop (a 1 MB alert's synchronous commit held the loop for 40-80 ms) and each
   * POST settles only once that sync is done; without, each commit is synced in place (synchronous=FULL).
   */
  constructor(
    private readonly store: Pick<OutboxStore, 'acceptGroups' | 'briefly' | 'inTransaction'>,
    private readonly log?: Pick<WalSync, 'sync'>,
  ) {}

  /**
   * Resolves, in the group's order, once every alert of one POST and its deliveries are committed durably;
   * rejects when they could not be (then none of them is stored). `bytes` is the size of the request that carried
   * them (0 when unknown), which bounds how many POSTs share one transaction.
   */
  accept(group: readonly AcceptItem[], bytes = 0): Promise<AcceptResult[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ group, bytes, resolve, reject, giveUpAt: Date.now() + ACCEPT_LOCK_WAIT_MS });
      this.schedule(0);
    });
  }

  /** Flushes after `delayMs` (0: on the next immediate), unless a flush is already due. */
  private schedule(delayMs: number): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (delayMs === 0) setImmediate(() => this.flush());
    else setTimeout(() => this.flush(), delayMs);
  }

  private flush(): void {
    this.scheduled = false;
    // A transaction of the async engine is open on the connection (sqlite-engine.ts): it ends within its turn.
    if (this.store.inTransaction) return this.schedule(0);
    const batch = this.queue.splice(0, this.batchSize());
    let results;
    try {
      results = this.store.briefly(() => this.store.acceptGroups(batch.map((b) => b.group), Date.now(), this.log ? 'caller-syncs' : 'synced'));
    } catch (error) {
      if (isStoreBusy(error)) this.lockHeld(batch, error);
      else for (const b of batch) b.reject(error as Error);
      if (this.queue.length > 0) this.schedule(this.retryMs);
      return;
    }
    this.retryMs = 0;
    const settle = () => results.forEach((result, i) => (result.ok ? batch[i]!.resolve(result.value) : batch[i]!.reject(result.error)));
    if (this.log) {
      // The next batch may commit while this one syncs: its POSTs then share the following sync.
      // A failed sync is answered 503, and so is every POST after it (WalSync fails every later sync): the sender
      // retries, and after a restart the retry finds the stored copy, or stores it again if it never reached the disk.
      this.log.sync().then(settle, (error: Error) => {
        for (const b of batch) b.reject(error);
      });
    } else settle();
    if (this.queue.length > 0) this.schedule(0);
  }

  /** How many POSTs from the head of the queue fit one batch (at least one). */
  private batchSize(): number {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && n < MAX_BATCH) {
      bytes += this.queue[n]!.bytes;
      if (n > 0 && bytes > MAX_BATCH_BYTES) break;
      n++;
    }
    return n;
  }

  /** Another process holds the write lock: POSTs still within their wait go back first in line, the rest fail. */
  private lockHeld(batch: Waiting[], error: unknown): void {
    const now = Date.now();
    const waiting = batch.filter((b) => b.giveUpAt > now);
    for (const b of batch) if (b.giveUpAt <= now) b.reject(error as Error);
    this.queue.unshift(...waiting);
    this.retryMs = Math.min(LOCK_RETRY_MAX_MS, Math.max(LOCK_RETRY_FIRST_MS, this.retryMs * 2));
  }
}
