import type { Logger } from 'pino';
import type { AcceptItem, OutboxStore } from './store';
import type { AcceptResult } from './status';
import type { AttemptWrite, DigestOps, EscalationOps, LedgerOps, SilenceOps, StoreEngine, StoreOps, TriageOps } from './store-contract';
import { GroupCommit } from './group-commit';
import { isStoreBusy } from './store-errors';
import { startLogHousekeeping, type LogHousekeeping } from './store-open';
import type { Checkpointer } from './checkpointer';
import { TransactionScope } from './transaction-scope';

/** Runs store work: directly inside a transaction, or queued behind the open one outside of it. */
type Runner = <T>(work: () => T) => Promise<T>;

/**
 * The store contract on SQLite: the synchronous {@link OutboxStore} behind promises. One connection serves the
 * process, so work is queued: a transaction runs alone from BEGIN to COMMIT (its awaits are only its own operations,
 * microtasks, so nothing else can slip into it), and an operation outside it waits for it to end. Background work
 * waits at most 100 ms for another process's write lock (OutboxStore.briefly), then fails transiently. Accepts go
 * through a group commit whose log sync runs off the event loop.
 */
export class SqliteEngine implements StoreEngine {
  readonly engine = 'sqlite' as const;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly scope = new TransactionScope();
  private readonly groupCommit: GroupCommit;
  private readonly outside: SqliteOps;

  constructor(
    readonly store: OutboxStore,
    private readonly housekeeping: LogHousekeeping = { stop: async () => {} },
  ) {
    this.groupCommit = new GroupCommit(store, housekeeping.walSync);
    this.outside = new SqliteOps(store, (work) => this.serial(() => store.briefly(work)));
  }

  /**
   * Opens the engine on a store `serve` owns: accepts synced and checkpoints run off the event loop, in a thread of
   * their own, or with `deliveryThread` in the delivery thread, attached to {@link checkpoints} (store-open.ts).
   */
  static forServe(store: OutboxStore, logger: Logger, deliveryThread = false): SqliteEngine {
    return new SqliteEngine(store, startLogHousekeeping(store, logger, deliveryThread ? 'delivery thread' : 'own thread'));
  }

  /** The WAL checkpoints' side on this connection, when `serve` checkpoints (a store file with a log on disk). */
  get checkpoints(): Checkpointer | undefined {
    return this.housekeeping.checkpoints;
  }

  /** The failed sync of the log that stops every accept until a restart (wal-sync.ts), if one happened. */
  get logFailure(): Error | undefined {
    return this.housekeeping.walSync?.failure;
  }

  /** Runs `work` after everything queued before it (refused from inside a transaction: it would wait for itself). */
  private serial<T>(work: () => T | Promise<T>): Promise<T> {
    const misuse = this.scope.misuse();
    if (misuse) return Promise.reject(misuse);
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  acceptGroup(items: readonly AcceptItem[], bytes: number): Promise<AcceptResult[]> {
    const misuse = this.scope.misuse();
    return misuse ? Promise.reject(misuse) : this.groupCommit.accept(items, bytes);
  }

  transaction<T>(work: (tx: StoreOps) => Promise<T>, options: { durable?: boolean } = {}): Promise<T> {
    return this.serial(async () => {
      this.store.begin(options.durable === true);
      try {
        const tx = new SqliteOps(this.store, async (w) => w());
        const result = await this.scope.run(() => work(tx));
        this.store.commit();
        return result;
      } catch (error) {
        this.store.rollback();
        throw error;
      }
    });
  }

  claim: StoreOps['claim'] = (...a) => this.outside.claim(...a);
  takeChannel: StoreOps['takeChannel'] = (...a) => this.outside.takeChannel(...a);
  endChannel: StoreOps['endChannel'] = (...a) => this.outside.endChannel(...a);
  holdChannel: StoreOps['holdChannel'] = (...a) => this.outside.holdChannel(...a);
  release: StoreOps['release'] = (id) => this.outside.release(id);
  // One transaction of the store's own (briefly, atomic), not one of the engine's: nothing but these writes runs in
  // it, so it needs neither a scope nor a BEGIN and a COMMIT each run through the queue and the lock wait apart.
  recordAttempt: StoreOps['recordAttempt'] = (write, now) => this.serial(() => this.store.briefly(() => recordAttempt(this.store, write, now), true));
  nextDueByDestination: StoreOps['nextDueByDestination'] = (now) => this.outside.nextDueByDestination(now);
  queueStats: StoreOps['queueStats'] = (now) => this.outside.queueStats(now);
  counts: StoreOps['counts'] = () => this.outside.counts();
  digests = (): DigestOps => this.outside.digests();
  triage = (): TriageOps => this.outside.triage();
  escalations = (): EscalationOps => this.outside.escalations();
  silences = (): SilenceOps => this.outside.silences();
  ledger = (): LedgerOps => this.outside.ledger();

  isWritable(): Promise<boolean> {
    return this.serial(() => this.store.isWritable());
  }

  /**
   * One checkpoint on this connection (OutboxStore.checkpointStep), after the work queued before it, so never inside
   * a transaction; undefined, without checkpointing, when `skip()` says so by its turn (the thread is stopping).
   */
  checkpoint(fromFrames: number, skip: () => boolean): Promise<{ log: number; checkpointed: number } | undefined> {
    return this.serial(() => (skip() ? undefined : this.store.checkpointStep(fromFrames)));
  }

  isTransient(error: unknown): boolean {
    return isStoreBusy(error);
  }

  async close(): Promise<void> {
    await this.queue;
    await this.housekeeping.stop();
    this.store.close();
  }
}

/** The operations on one connection, each run by `run` (queued outside a transaction, direct inside). */
class SqliteOps implements StoreOps {
  constructor(
    private readonly store: OutboxStore,
    private readonly run: Runner,
  ) {}

  // One process: its in-memory pacer (pacer.ts) paces every channel, so the shared pace is not needed here.
  claim: StoreOps['claim'] = (limit, busy, leaseMs, now) => this.run(() => this.store.claim(limit, busy, leaseMs, now));
  takeChannel: StoreOps['takeChannel'] = async () => 0;
  endChannel: StoreOps['endChannel'] = async () => {};
  holdChannel: StoreOps['holdChannel'] = async () => {};
  release: StoreOps['release'] = (id) => this.run(() => this.store.release(id));
  recordAttempt = (write: AttemptWrite, now: number): Promise<void> => this.run(() => recordAttempt(this.store, write, now));
  nextDueByDestination: StoreOps['nextDueByDestination'] = (now) => this.run(() => this.store.nextDueByDestination(now));
  queueStats: StoreOps['queueStats'] = (now) => this.run(() => this.store.queueStats(now));
  counts: StoreOps['counts'] = () => this.run(() => this.store.counts());

  digests(): DigestOps {
    const d = () => this.store.digests();
    return {
      backlog: (...a) => this.run(() => d().backlog(...a)),
      leaseWaiting: (...a) => this.run(() => d().leaseWaiting(...a)),
      open: (...a) => this.run(() => d().open(...a)),
      record: (...a) => this.run(() => d().record(...a)),
    };
  }

  triage(): TriageOps {
    const t = () => this.store.triage();
    return {
      delivery: (...a) => this.run(() => t().delivery(...a)),
      record: (...a) => this.run(() => t().record(...a)),
      touchAlert: (...a) => this.run(() => t().touchAlert(...a)),
      view: (...a) => this.run(() => t().view(...a)),
      // One process: nothing to lease against (the editor and write-back loops are one each).
      staleMessages: (now, limit) => this.run(() => t().staleMessages(now, limit)),
      nextEditAt: () => this.run(() => t().nextEditAt()),
      markEdited: (...a) => this.run(() => t().markEdited(...a)),
      deferEdit: (...a) => this.run(() => t().deferEdit(...a)),
      rescheduleEdit: (...a) => this.run(() => t().rescheduleEdit(...a)),
      abandonEdit: (...a) => this.run(() => t().abandonEdit(...a)),
      threadParent: (...a) => this.run(() => t().threadParent(...a)),
      recordReply: (...a) => this.run(() => t().recordReply(...a)),
      enqueueSync: (...a) => this.run(() => t().enqueueSync(...a)),
      dueSyncs: (now, limit) => this.run(() => t().dueSyncs(now, limit)),
      nextSyncAt: () => this.run(() => t().nextSyncAt()),
      finishSync: (...a) => this.run(() => t().finishSync(...a)),
    };
  }

  escalations(): EscalationOps {
    const x = () => this.store.escalations();
    return {
      // One process: nothing to lease against (one reminder loop).
      due: (now, limit) => this.run(() => x().due(now, limit)),
      nextDueAt: () => this.run(() => x().nextDueAt()),
      record: (...a) => this.run(() => x().record(...a)),
      state: (...a) => this.run(() => x().state(...a)),
    };
  }

  silences(): SilenceOps {
    const s = () => this.store.silences();
    return {
      request: (...a) => this.run(() => s().request(...a)),
      unsilence: (...a) => this.run(() => s().unsilence(...a)),
      // One process: nothing to lease against (the silence loop is one).
      due: (now, limit) => this.run(() => s().due(now, limit)),
      nextDueAt: () => this.run(() => s().nextDueAt()),
      finish: (...a) => this.run(() => s().finish(...a)),
    };
  }

  ledger(): LedgerOps {
    const l = () => this.store.ledger();
    return {
      list: (...a) => this.run(() => l().list(...a)),
      alert: (...a) => this.run(() => l().alert(...a)),
      requeue: (ids, now, options) => this.run(() => l().requeue(ids, now, options)),
      purge: (...a) => this.run(() => l().purge(...a)),
    };
  }
}

/** An attempt's outcome as the store's writes; atomic only when run in a transaction (the callers' concern). */
function recordAttempt(store: OutboxStore, write: AttemptWrite, now: number): void {
  if (write.kind === 'delivered') {
    store.markDelivered(write.id, write.ref, now, write.renderedRevision);
    if (write.reply) store.triage().recordReply(write.reply.parentId, write.id, write.reply.threadRef);
    if (write.escalateAt !== undefined) store.escalations().schedule(write.id, write.escalateAt, now);
  } else if (write.kind === 'rescheduled') store.reschedule(write.id, write.nextAttemptAt, write.reason, write.rateLimited, now);
  else store.markDead(write.id, write.reason, write.countAttempt, now);
}
