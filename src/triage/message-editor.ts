import type { Logger } from 'pino';
import { backoffDelay, type BackoffPolicy } from '../delivery/backoff';
import { PollingLoop } from '../delivery/polling-loop';
import { deliveryKey } from '../domain/delivery';
import type { OutboxStore } from '../delivery/store';
import type { Destination, SendOutcome } from '../destinations/types';
import type { BridgeMetrics } from '../observability/metrics';
import { redactSecrets } from '../observability/redact';
import { triageContext, type TriagePolicy } from './policy';
import type { StaleMessage } from './triage-store';

/** What the editor reads from the live configuration on every pass (so a reload applies at once). */
export interface EditorDeps {
  store: OutboxStore;
  destinations(): ReadonlyMap<string, Destination>;
  policies(): ReadonlyMap<string, TriagePolicy>;
  backoff(): BackoffPolicy;
  secrets(): readonly string[];
  logger: Logger;
  metrics?: BridgeMetrics;
}

/** Failed edits of one message before it is left as it is (a later change tries again). */
const MAX_EDIT_ATTEMPTS = 10;
const BATCH = 8;

/**
 * Keeps every posted message in line with its alert's state: re-renders stale messages (triage clicks, thread
 * counters, Panther sync problems) through the same `format()` as the first post, without mentions, and edits
 * them in place. The state is durable and each edit renders the latest revision, so a crash or a burst of
 * clicks ends with every copy showing the last state exactly once more, never an older one.
 */
export class MessageEditor extends PollingLoop {
  constructor(private readonly deps: EditorDeps) {
    super('message-editor', deps.logger);
  }

  protected async tick(): Promise<number> {
    const triage = this.deps.store.triage();
    const now = Date.now();
    const stale = triage.staleMessages(now, BATCH);
    await Promise.all(stale.map((message) => this.editOne(message)));
    if (stale.length === BATCH) return 0;
    const next = triage.nextEditAt();
    return next === undefined ? Number.POSITIVE_INFINITY : next - Date.now();
  }

  private async editOne(message: StaleMessage): Promise<void> {
    const { store, logger, metrics } = this.deps;
    const triage = store.triage();
    const destination = this.deps.destinations().get(message.destination);
    const base = { deliveryId: message.id, alertId: message.alert.alertId, destination: message.destination, revision: message.revision };
    if (!destination?.edit) {
      triage.abandonEdit(message.id, message.revision, 'destination cannot edit messages');
      return;
    }
    let outcome: SendOutcome;
    try {
      const ctx = {
        route: message.route,
        deliveryKey: deliveryKey(message.alert.dedupKey, message.destination),
        ...(message.template ? { template: message.template } : {}),
        // No mentions on edits: a state change must never ping the channel again.
        ...triageContext(this.deps.policies().get(message.route), message.id, message.revision, () => triage.view(message.alertRow, message.id), message.alert),
      };
      outcome = await destination.edit(message.ref, destination.format(message.alert, ctx).body);
    } catch (error) {
      outcome = { kind: 'permanent', reason: `format_error: ${(error as Error).message}` };
    }
    if (outcome.kind === 'ok') {
      triage.markEdited(message.id, message.revision);
      metrics?.edit(message.destination, 'edited');
      logger.info({ ...base, outcome: 'edited' }, 'message edit');
      return;
    }
    const reason = redactSecrets(outcome.reason, this.deps.secrets());
    if (outcome.kind === 'permanent' || message.attempts + 1 >= MAX_EDIT_ATTEMPTS) {
      triage.abandonEdit(message.id, message.revision, reason);
      metrics?.edit(message.destination, 'failed');
      logger.warn({ ...base, outcome: 'failed', reason }, 'message edit');
      return;
    }
    const delay = outcome.retryAfterMs ?? backoffDelay(message.attempts + 1, this.deps.backoff());
    triage.rescheduleEdit(message.id, Date.now() + delay, reason);
    metrics?.edit(message.destination, 'retry');
    logger.warn({ ...base, outcome: 'retry', reason, retryInMs: delay }, 'message edit');
  }
}
