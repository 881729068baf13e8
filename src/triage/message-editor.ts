import type { Logger } from 'pino';
import { backoffDelay, type BackoffPolicy } from '../delivery/backoff';
import type { Pacer } from '../delivery/pacer';
import { PollingLoop } from '../delivery/polling-loop';
import { persistOutcome } from '../delivery/persist';
import { deliveryKey } from '../domain/delivery';
import type { StoreEngine, StoreOps } from '../delivery/store-contract';
import type { Destination, SendOutcome } from '../destinations/types';
import type { DeliveryMetrics } from '../observability/metrics';
import { redactSecrets } from '../observability/redact';
import { EditPacing } from './edit-pacing';
import { triageContext, triageViewNeeded, type TriagePolicy } from './policy';
import { OPEN_VIEW, type TriageView } from './state';
import type { StaleMessage } from './triage-store';

/** What the editor reads from the live configuration on every pass (so a reload applies at once). */
export interface EditorDeps {
  store: StoreEngine;
  /** The bridge's per-channel pace, shared with the delivery worker: an edit spends the channel's budget too. */
  pacer: Pacer;
  destinations(): ReadonlyMap<string, Destination>;
  policies(): ReadonlyMap<string, TriagePolicy>;
  /** Routes with `defang: false` (an edit renders URLs as the first post did). */
  defangOff?(): ReadonlySet<string>;
  backoff(): BackoffPolicy;
  /** How long one edit request may take (delivery.requestTimeoutMs): the edit lease and its margin follow it. */
  requestTimeoutMs(): number;
  secrets(): readonly string[];
  logger: Logger;
  metrics?: DeliveryMetrics;
}

type EditableDestination = Destination & { edit: NonNullable<Destination['edit']> };
const canEdit = (destination: Destination): destination is EditableDestination => typeof destination.edit === 'function';

/** Failed edits of one message before it is left as it is (a later change tries again). */
const MAX_EDIT_ATTEMPTS = 10;
const BATCH = 8;
/**
 * How long a replica holds the stale messages it took (several replicas on PostgreSQL: each message is edited by
 * one): at least a minute, longer than a batch of edits takes, paced; short enough that a replica that died leaves
 * them to another within about a minute. No edit of a batch starts within {@link editLeaseMarginMs} of the lease's
 * end: past that point another replica may take the message over and edit it as well (and an older edit landing
 * last would show an older state). The rest of the batch is handed back to whichever replica takes it next.
 */
export function editLeaseMs(requestTimeoutMs: number): number {
  return Math.max(60_000, 3 * editLeaseMarginMs(requestTimeoutMs));
}

/** The last part of an edit lease in which no edit starts: one request's timeout and 10 s to record its outcome. */
export function editLeaseMarginMs(requestTimeoutMs: number): number {
  return requestTimeoutMs + 10_000;
}

/**
 * Keeps every posted message in line with its alert's state: re-renders stale messages (triage clicks, thread
 * counters, Panther sync problems, resolved alerts) through the same `format()` as the first post, without
 * mentions, and edits them in place. The state is durable and each edit renders the latest revision, so a crash or
 * a burst of clicks ends with every copy showing the last state exactly once more, never an older one.
 *
 * Edits are paced like posts, in the same per-channel budget: one channel's edits go one at a time, each only when
 * the channel's pace has room and it is the edits' turn; the others are rescheduled for the channel's next slots
 * (not counted as failed attempts), and a 429 on an edit holds the channel for posts too.
 */
export class MessageEditor extends PollingLoop {
  private readonly pacing: EditPacing;

  constructor(private readonly deps: EditorDeps) {
    super('message_editor', { logger: deps.logger, ...(deps.metrics ? { metrics: deps.metrics } : {}), secrets: deps.secrets });
    this.pacing = new EditPacing(deps.pacer);
  }

  protected async tick(): Promise<number> {
    const triage = this.deps.store.triage();
    const leasedAt = Date.now();
    const timeoutMs = this.deps.requestTimeoutMs();
    const leaseMs = editLeaseMs(timeoutMs);
    const stale = await triage.staleMessages(leasedAt, BATCH, leaseMs);
    const byChannel = new Map<string, StaleMessage[]>();
    for (const message of stale) {
      const key = this.deps.destinations().get(message.destination)?.pacingKey ?? `destination:${message.destination}`;
      byChannel.set(key, [...(byChannel.get(key) ?? []), message]);
    }
    const startBefore = leasedAt + leaseMs - editLeaseMarginMs(timeoutMs);
    await Promise.all([...byChannel.values()].map((messages) => this.editChannel(messages, startBefore)));
    if (stale.length === BATCH) return 0;
    const next = await triage.nextEditAt();
    return next === undefined ? Number.POSITIVE_INFINITY : next - Date.now();
  }

  /**
   * One channel's due edits, oldest first, one request at a time, each asking the channel's pace; none started
   * after `startBefore` (their lease is ending).
   */
  private async editChannel(messages: StaleMessage[], startBefore: number): Promise<void> {
    const { store } = this.deps;
    const triage = store.triage();
    for (const [i, message] of messages.entries()) {
      if (Date.now() >= startBefore) {
        const handBack = Date.now();
        await store.transaction(async (tx) => {
          for (const m of messages.slice(i)) await tx.triage().deferEdit(m.id, handBack);
        });
        return;
      }
      const destination = this.deps.destinations().get(message.destination);
      if (!destination || !canEdit(destination)) {
        await triage.abandonEdit(message.id, message.revision, 'destination cannot edit messages');
        continue;
      }
      const now = Date.now();
      if (!this.pacing.ready(destination.pacingKey, destination.pacing, now)) {
        const rest = messages.slice(i);
        const times = this.pacing.defer(destination.pacingKey, destination.pacing, rest.length, now);
        await store.transaction(async (tx) => {
          for (const [k, m] of rest.entries()) await tx.triage().deferEdit(m.id, times[k]!);
        });
        return;
      }
      // The channel's pace shared with other replicas (0 at once on a store of one process).
      const wait = await store.takeChannel({ key: destination.pacingKey, ...destination.pacing }, now);
      if (wait > 0) {
        const rest = messages.slice(i);
        await store.transaction(async (tx) => {
          for (const m of rest) await tx.triage().deferEdit(m.id, now + wait);
        });
        return;
      }
      await this.editOne(message, destination, now);
    }
  }

  /** One edit, whose slot of the channel's shared pace was taken at `takenAt`. */
  private async editOne(message: StaleMessage, destination: EditableDestination, takenAt: number): Promise<void> {
    const { store, logger, metrics, pacer } = this.deps;
    const base = { deliveryId: message.id, alertId: message.alert.alertId, destination: message.destination, revision: message.revision };
    // Read before the edit and outside its error handling: a store that cannot answer fails this tick (the loop
    // backs off and the edit stays due), instead of passing for a broken template and abandoning the edit.
    const policy = this.deps.policies().get(message.route);
    let view: TriageView;
    try {
      view = triageViewNeeded(policy, message.revision) ? await store.triage().view(message.alertRow, message.id) : OPEN_VIEW;
    } catch (error) {
      await this.endSlot(destination, takenAt);
      throw error;
    }
    const ctx = {
      route: message.route,
      deliveryKey: deliveryKey(message.alert.dedupKey, message.destination),
      ...(message.template ? { template: message.template } : {}),
      // No mentions on edits: a state change must never ping the channel again.
      ...(this.deps.defangOff?.().has(message.route) ? { defang: false } : {}),
      // The posted message decides what cannot change on it (a Discord Components V2 message stays V2).
      editing: message.ref,
      ...triageContext(policy, message.id, message.revision, () => view, message.alert),
    };
    let outcome: SendOutcome;
    let endedAt: number | undefined;
    try {
      const body = destination.format(message.alert, ctx).body;
      outcome = await pacer.request(destination.pacingKey, destination.pacing, 'edit', () => destination.edit(message.ref, body));
      endedAt = Date.now();
    } catch (error) {
      outcome = { kind: 'permanent', reason: `format_error: ${(error as Error).message}` };
    }
    // The edit counts in the shared pace from its end (or not at all: the template failed before it was sent).
    await this.endSlot(destination, takenAt, endedAt);
    if (outcome.kind === 'ok') {
      if (!(await this.persist((tx) => tx.triage().markEdited(message.id, message.revision), base))) return;
      metrics?.edit(message.destination, 'edited');
      logger.info({ ...base, outcome: 'edited' }, 'message edit');
      return;
    }
    const reason = redactSecrets(outcome.reason, this.deps.secrets());
    if (outcome.kind === 'retryable' && outcome.rateLimited) {
      // The channel is held (for posts too) until the Retry-After; the edit comes back then, not counted as failed.
      // Held for every process on the store too, as a post's 429 holds it (PacedSender): another replica posting
      // into the channel meanwhile would only be refused.
      const now = Date.now();
      const until = now + (outcome.retryAfterMs ?? destination.pacing.windowMs);
      await store.holdChannel(destination.pacingKey, until, now).catch((error: unknown) => this.reportFailure(error, 0, base));
      const at = pacer.readyAt(destination.pacingKey, destination.pacing, Date.now(), 'edit');
      if (!(await this.persist((tx) => tx.triage().deferEdit(message.id, at), base))) return;
      metrics?.edit(message.destination, 'rate_limited');
      logger.warn({ ...base, outcome: 'rate_limited', reason, retryInMs: at - Date.now() }, 'message edit');
      return;
    }
    if (outcome.kind === 'permanent' || message.attempts + 1 >= MAX_EDIT_ATTEMPTS) {
      if (!(await this.persist((tx) => tx.triage().abandonEdit(message.id, message.revision, reason), base))) return;
      metrics?.edit(message.destination, 'failed');
      logger.warn({ ...base, outcome: 'failed', reason }, 'message edit');
      return;
    }
    const delay = outcome.retryAfterMs ?? backoffDelay(message.attempts + 1, this.deps.backoff());
    if (!(await this.persist((tx) => tx.triage().rescheduleEdit(message.id, Date.now() + delay, reason), base))) return;
    metrics?.edit(message.destination, 'retry');
    logger.warn({ ...base, outcome: 'retry', reason, retryInMs: delay }, 'message edit');
  }

  /** Ends (or frees) the edit's slot of the channel's shared pace; best effort, a slot left open lapses on its own. */
  private async endSlot(destination: Destination, takenAt: number, endedAt?: number): Promise<void> {
    await this.deps.store.endChannel(destination.pacingKey, takenAt, endedAt).catch((error: unknown) => this.reportFailure(error, 0, { destination: destination.name }));
  }

  /**
   * Records what an edit request came to, retrying until written (the edit is not repeated because its record
   * failed); false only when the editor stops first (the message is then edited once more after a restart).
   */
  private persist(write: (tx: StoreOps) => Promise<unknown>, context: Record<string, unknown>): Promise<boolean> {
    return persistOutcome(this.deps.store, write, {
      failed: (error, retryInMs) => this.reportFailure(error, retryInMs, context),
      giveUpAt: () => this.grace.giveUpAt,
    });
  }
}
