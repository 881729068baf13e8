import type { Alert } from '../domain/alert';
import type { MessageRef } from '../domain/delivery';
import type { DigestSummary } from '../destinations/digest-format';
import type { TriageAction, TriageActor, TriageView } from '../triage/state';
import type { DeliveryInfo, EpisodeRef, StaleMessage, SyncJob, ThreadParent } from '../triage/triage-store';
import type { SilenceJob, SilenceOutcome, SilenceRecordResult, SilenceRequestInput, UnsilenceInput } from '../triage/silence-store';
import type { DueReminder, EscalationState, ReminderWrite } from '../escalation/state';
import type { DigestCandidate, OpenDigest } from './digest-store';
import type { LedgerEntry, LedgerFilter, RequeueResult } from './ledger';
import type { AcceptItem, ClaimedDelivery } from './store';
import type { AcceptResult, DeliveryStatus } from './status';

/**
 * The store contract (issue 16): what the worker, the receiver, the editor, the write-back, the console and the CLI
 * may ask of the store, on SQLite (one process) or PostgreSQL (several replicas). Every method is asynchronous, so
 * an engine may answer over the network; every time is epoch ms and every `now` is the caller's clock (the engines
 * never read one of their own for what the caller decides, so tests can inject time).
 *
 * Errors: an engine throws its driver's error. {@link StoreEngine.isTransient} says whether it means "try later"
 * (a lock held elsewhere, a serialization failure, a lost connection): loops back off and retry, the receiver
 * answers 503. Anything else is a defect or a full disk and is reported as such.
 */

/** Burst digests of one destination (digest-store.ts has the semantics of each). */
export interface DigestOps {
  /** Waiting (due, unleased) deliveries of `routes` for a destination: how many, and since when the oldest. */
  backlog(destination: string, routes: readonly string[], now: number): Promise<{ count: number; oldestCreatedAt: number | null }>;
  /** Leases up to `limit` waiting deliveries of `routes` for one digest revision, oldest first. */
  leaseWaiting(destination: string, routes: readonly string[], limit: number, leaseMs: number, now: number): Promise<DigestCandidate[]>;
  /** The destination's digest updated since `since`, which a new revision edits instead of posting anew. */
  open(destination: string, since: number): Promise<OpenDigest | null>;
  /** Records a posted or edited digest and marks its deliveries delivered by it; returns the digest's id. */
  record(digestId: number | null, destination: string, ref: MessageRef, summary: DigestSummary, deliveryIds: number[], now: number): Promise<number>;
}

/** Triage state, message edits, threads and Panther write-back jobs (triage-store.ts has the semantics). */
export interface TriageOps {
  delivery(id: number): Promise<DeliveryInfo | undefined>;
  /** Records a click once per interaction id; `recorded: false` for a repeat. */
  record(input: { alertRow: number; deliveryId: number; action: TriageAction; actor: TriageActor; interactionId?: string; at: number }): Promise<{ recorded: boolean; seq?: number }>;
  /** Every posted message of the alert is now behind its state (the editor catches them up). */
  touchAlert(alertRow: number): Promise<void>;
  view(alertRow: number, deliveryId?: number): Promise<TriageView>;
  /**
   * Posted messages behind their state and due for an edit, oldest first, leased to this process for `leaseMs`
   * (several replicas: each message is edited by one of them; the edit's outcome below ends the lease).
   */
  staleMessages(now: number, limit: number, leaseMs: number): Promise<StaleMessage[]>;
  /** When the next stale message becomes due (or its lease elsewhere runs out). */
  nextEditAt(): Promise<number | undefined>;
  /**
   * The outcomes of an edit of a stale message, each ending this process's lease on it. An edit made is recorded
   * whoever holds the lease now (`revision` is shown); the lease of another process that took the message over
   * (this one's ran out) is left to it, and a deferral, retry or abandonment from here does not touch the message.
   */
  markEdited(id: number, revision: number): Promise<void>;
  deferEdit(id: number, at: number): Promise<void>;
  rescheduleEdit(id: number, at: number, reason: string): Promise<void>;
  abandonEdit(id: number, revision: number, reason: string): Promise<void>;
  /**
   * The message a repeat replies under (TriageStore.threadParent). `episode`: the delivery is a resolution of that
   * episode (posted as a message of its own): the episode's firing message stays a parent for it.
   */
  threadParent(destination: string, detectionId: string, since: number, excludeAlertRow: number, episode?: EpisodeRef): Promise<ThreadParent | null>;
  recordReply(parentId: number, replyId: number, threadRef: MessageRef | null): Promise<void>;
  enqueueSync(alertRow: number, operation: SyncJob['operation'], argument: Record<string, string>, now: number): Promise<void>;
  /** Due write-back jobs, the oldest of each alert only, leased to this process for `leaseMs` ({@link finishSync} ends it). */
  dueSyncs(now: number, limit: number, leaseMs: number): Promise<SyncJob[]>;
  nextSyncAt(): Promise<number | undefined>;
  /**
   * Records a write-back job's outcome and ends its lease. Only the lease's holder writes it: once another process
   * took the job over (this one's lease ran out), that process's outcome stands and this one is dropped.
   */
  finishSync(job: SyncJob, outcome: { kind: 'done' } | { kind: 'retry'; at: number; reason: string } | { kind: 'dead'; reason: string }, now: number): Promise<void>;
}

/**
 * Escalation reminders of posted messages (escalation-store.ts has the semantics). A message's first reminder is
 * scheduled with its post ({@link AttemptWrite} `escalateAt`); an acknowledge or resolve click on any copy of the
 * alert stops every copy's reminders in the click's transaction, and a resolution from the source in the resolve's
 * accept. Each change the message shows (a reminder sent, stopped, failed) schedules an edit of that message.
 */
export interface EscalationOps {
  /**
   * Due reminders, oldest first, at most `limit`, leased to this process for `leaseMs` (several replicas: each
   * reminder is sent by one; {@link record} ends the lease). One whose alert was acknowledged or resolved meanwhile
   * is stopped instead (and its message scheduled for an edit), never returned.
   */
  due(now: number, limit: number, leaseMs: number): Promise<DueReminder[]>;
  /** When the next pending reminder may be tried (or another process's lease on it runs out), or undefined. */
  nextDueAt(): Promise<number | undefined>;
  /**
   * Records how the attempt at a claimed reminder ended, ending its lease. Nothing is written when the reminder is
   * no longer pending as claimed (stopped by a click meanwhile, or taken over by another process whose lease on it
   * runs now): that one's outcome stands.
   */
  record(reminder: DueReminder, write: ReminderWrite, now: number): Promise<void>;
  /** A posted message's escalation, or undefined when it has none. */
  state(deliveryId: number): Promise<EscalationState | undefined>;
}

/**
 * Silences from chat (silence-store.ts has the semantics). An alert has at most one current silence (being
 * created, active, or being expired), on every engine and across replicas; each change a message shows schedules
 * an edit of every copy of the alert; the silence's state is part of {@link TriageOps.view}.
 */
export interface SilenceOps {
  /** Records a Silence chosen in a message: `recorded`, `duplicate` (same interaction id), or `busy` (one holds). */
  request(input: SilenceRequestInput): Promise<Extract<SilenceRecordResult, 'recorded' | 'duplicate' | 'busy'>>;
  /** Records an Unsilence: `recorded`, `duplicate`, or `none` (no silence being created or active). */
  unsilence(input: UnsilenceInput): Promise<Extract<SilenceRecordResult, 'recorded' | 'duplicate' | 'none'>>;
  /** Silences with work due at `now`, soonest first, leased to this process for `leaseMs` ({@link finish} ends it). */
  due(now: number, limit: number, leaseMs: number): Promise<SilenceJob[]>;
  /** When the next silence's work is due (or its lease elsewhere runs out). */
  nextDueAt(): Promise<number | undefined>;
  /** Records a job's outcome and ends its lease; only the lease's holder writes it (as {@link TriageOps.finishSync}). */
  finish(job: SilenceJob, outcome: SilenceOutcome, now: number): Promise<void>;
}

/** What an operator reads and repairs (ledger.ts has the semantics). */
export interface LedgerOps {
  list(filter?: LedgerFilter): Promise<LedgerEntry[]>;
  alert(alertRow: number): Promise<Alert | undefined>;
  /** Dead deliveries back in the queue; delivered ones only with `resendDelivered`. */
  requeue(ids: number[] | 'all-dead', now: number, options?: { resendDelivered?: boolean }): Promise<RequeueResult>;
  /** Finished history older than `olderThanMs`, with everything that belongs to it; never pending or firing work. */
  purge(olderThanMs: number, now: number): Promise<{ alerts: number; deliveries: number; digests: number }>;
}

/** One send attempt's outcome as the store records it. */
export type AttemptWrite =
  | {
      kind: 'delivered';
      id: number;
      ref: MessageRef;
      renderedRevision: number;
      reply?: { parentId: number; threadRef: MessageRef | null };
      /** The message escalates: its first reminder is due then (unless its alert is acknowledged or resolved by now). */
      escalateAt?: number;
    }
  | { kind: 'rescheduled'; id: number; nextAttemptAt: number; reason: string; rateLimited: boolean }
  | { kind: 'dead'; id: number; reason: string; countAttempt: boolean };

/** A channel's pace as every process on the store shares it: at most `limit` requests per `windowMs`. */
export interface ChannelPace {
  /** The channel (destinations posting into one channel share it: Destination.pacingKey). */
  key: string;
  limit: number;
  windowMs: number;
}

/** Everything a transaction may do: the operations of the store, all committed together or none. */
export interface StoreOps {
  /**
   * Leases up to `limit` due deliveries for `leaseMs`: at most one per destination, none of a destination in `busy`
   * or with a lease of any process still running (one send in flight per destination, in queue order). With
   * `paces` (destination → its channel's pace), an engine shared by several processes also takes each row's
   * channel slot at `now` in the same transaction (ended by {@link endChannel} after its send) and leaves a
   * destination whose channel has none free; one process alone (SQLite) paces in memory and ignores it. When
   * `pacedUntil` is given, the engine sets in it, for each channel whose shared pace refused a row, the epoch ms
   * a slot may be free: the caller waits for that instead of claiming again at once (a claim refused by the pace
   * leases the row and hands it back, so claiming again in a loop is a spin on the database).
   */
  claim(limit: number, busy: ReadonlySet<string>, leaseMs: number, now: number, paces?: ReadonlyMap<string, ChannelPace>, pacedUntil?: Map<string, number>): Promise<ClaimedDelivery[]>;
  /**
   * Takes a request slot of a channel's pace shared by every process on the store (an edit, a digest, a second
   * send of one attempt): 0 when taken, else how many ms until one may be. One process alone (SQLite): always 0.
   * The request counts as happening now until {@link endChannel} says when it ended.
   */
  takeChannel(pace: ChannelPace, now: number): Promise<number>;
  /**
   * The request that took a slot of channel `key` at `takenAt` (the `now` of the claim or {@link takeChannel} that
   * took it) ended at `endedAt`: it counts from its end, as this process's pacer counts it (a platform counts a
   * request when it arrives, which may be well after it was sent). Without `endedAt` it was never made and its slot
   * is free again. Whoever took a slot must end it; one left open stops counting some seconds after it was taken.
   */
  endChannel(key: string, takenAt: number, endedAt?: number): Promise<void>;
  /** Holds a channel for every process until `until` (a 429's Retry-After), then spaces its requests evenly. */
  holdChannel(key: string, until: number, now: number): Promise<void>;
  /** Hands a leased delivery back unsent (no attempt counted). */
  release(id: number): Promise<void>;
  /** Records one attempt's outcome (and a thread reply's link to its parent). */
  recordAttempt(write: AttemptWrite, now: number): Promise<void>;
  /** Per destination, when its earliest unleased pending delivery is due. */
  nextDueByDestination(now: number): Promise<Map<string, number>>;
  queueStats(now: number): Promise<{ destination: string; depth: number; oldestAgeSeconds: number }[]>;
  counts(): Promise<Record<DeliveryStatus, number>>;
  digests(): DigestOps;
  triage(): TriageOps;
  escalations(): EscalationOps;
  silences(): SilenceOps;
  ledger(): LedgerOps;
}

/** A store engine: the operations, transactions, durable accepts, and what an operator needs to run it. */
export interface StoreEngine extends StoreOps {
  readonly engine: 'sqlite' | 'postgres';
  /**
   * Stores the alerts of one webhook POST and their deliveries, all or none, and resolves only once they are on
   * disk (what a 2xx promises). A repeat of a stored alert (same source and dedup key) is a duplicate, also when two
   * replicas receive it at the same moment. `bytes` is the request's size (engines may batch POSTs by it).
   */
  acceptGroup(items: readonly AcceptItem[], bytes: number): Promise<AcceptResult[]>;
  /**
   * Runs `work` as one transaction on `tx`: everything it does through `tx` commits together, or nothing when it
   * throws (the error is rethrown). `work` must await only `tx`'s operations (no network, no timers): on SQLite the
   * transaction holds the one connection. A call to the engine itself from inside `work` is rejected at once (on
   * SQLite it would wait for the transaction it is part of, for ever). Waits only briefly for a lock held elsewhere, then throws a transient error.
   * `durable`: on disk when this resolves, also after a power cut (a click that was acknowledged); without it a
   * commit survives a crash of the process but an OS crash may lose the newest ones (bookkeeping).
   */
  transaction<T>(work: (tx: StoreOps) => Promise<T>, options?: { durable?: boolean }): Promise<T>;
  /** Whether the store answers and takes writes now (the readiness probe: never waits for a lock). */
  isWritable(): Promise<boolean>;
  /** Whether `error` (thrown by this engine) means "try again later" rather than a defect. */
  isTransient(error: unknown): boolean;
  close(): Promise<void>;
}
