import type { AcceptItem, OutboxStore } from './store';
import type { AcceptResult } from './status';

/** Upper bound of one batch of POSTs: a bigger one would hold the event loop for its whole transaction. */
const MAX_BATCH = 256;

interface Waiting {
  group: readonly AcceptItem[];
  resolve: (results: AcceptResult[]) => void;
  reject: (error: Error) => void;
}

/**
 * Group commit for webhook accepts. Every accept must be on disk (synchronous=FULL) before its 2xx, and that
 * sync, not the work, is what an accept costs: profiled at about half the bridge's CPU time with one commit per
 * alert. POSTs submitted in the same event-loop turn (requests whose bodies arrived together) are committed in
 * one transaction on the next `setImmediate`, each POST all-or-none in its own savepoint, then each promise
 * settles with its own outcome. Nothing is answered before the commit, so the durability promise is unchanged;
 * an idle bridge adds no delay (a batch of one is flushed in the same loop iteration).
 */
export class GroupCommit {
  private queue: Waiting[] = [];
  private scheduled = false;

  /** Needs only the store's one-transaction accept of several POSTs. */
  constructor(private readonly store: Pick<OutboxStore, 'acceptGroups'>) {}

  /**
   * Resolves, in the group's order, once every alert of one POST and its deliveries are committed durably;
   * rejects when they could not be (then none of them is stored).
   */
  accept(group: readonly AcceptItem[]): Promise<AcceptResult[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ group, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue.splice(0, MAX_BATCH);
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    let results;
    try {
      results = this.store.acceptGroups(batch.map((b) => b.group));
    } catch (error) {
      for (const b of batch) b.reject(error as Error);
      return;
    }
    results.forEach((result, i) => (result.ok ? batch[i]!.resolve(result.value) : batch[i]!.reject(result.error)));
  }
}
