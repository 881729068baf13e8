import type { Logger } from 'pino';
import { whileTransient } from '../delivery/lock-wait';
import type { StoreEngine } from '../delivery/store-contract';
import type { BridgeMetrics } from '../observability/metrics';
import type { TriagePolicy } from './policy';
import { isAllowed, type Clicker } from './allow';
import type { TriageAction } from './state';

/** One click as the platform handlers hand it over, after the request's signature was verified. */
export interface TriageClick extends Clicker {
  deliveryId: number;
  action: TriageAction;
  /** Platform id of this interaction (Discord interaction id, Slack trigger/action ts): replays change nothing. */
  interactionId?: string;
}

export type TriageClickResult =
  | { kind: 'applied' }
  | { kind: 'duplicate' }
  | { kind: 'denied'; message: string }
  | { kind: 'unknown'; message: string };

/** Panther write-back settings (present when `panther.api` is configured). */
export interface WritebackSettings {
  statuses: { acknowledge: string; resolve: string };
}

export interface TriageServiceDeps {
  store: StoreEngine;
  policies(): ReadonlyMap<string, TriagePolicy>;
  writeback(): WritebackSettings | undefined;
  /** Called after a change was recorded: wakes the message editor and the write-back worker. */
  changed(): void;
  logger: Logger;
  metrics?: BridgeMetrics;
}

/**
 * How long a click waits for a write lock another process holds before it fails (and the clicker is told to try
 * again): Slack and Discord want an answer within 3 s.
 */
export const CLICK_LOCK_WAIT_MS = 2000;

const VERB: Record<TriageAction, string> = { acknowledge: 'acknowledge', resolve: 'resolve', assign: 'take' };

/**
 * Applies triage clicks from any platform: checks the route's allow-list, records the action durably (once per
 * interaction id), queues the Panther write-back, and wakes the editor that updates every copy of the message.
 * The chat acknowledgement never waits for Panther.
 */
export class TriageService {
  constructor(private readonly deps: TriageServiceDeps) {}

  async click(click: TriageClick, now = Date.now()): Promise<TriageClickResult> {
    const { store, logger, metrics } = this.deps;
    const delivery = await whileTransient(() => store.triage().delivery(click.deliveryId), (e) => store.isTransient(e), CLICK_LOCK_WAIT_MS);
    const base = { platform: click.actor.platform, action: click.action, deliveryId: click.deliveryId, actorId: click.actor.id };
    if (!delivery) {
      metrics?.interaction(click.actor.platform, click.action, 'unknown');
      logger.info({ ...base, outcome: 'unknown' }, 'triage click');
      return { kind: 'unknown', message: 'This alert is no longer tracked by chatops-bridge (it was purged), so nothing was changed.' };
    }
    const policy = this.deps.policies().get(delivery.route);
    if (!policy || !policy.buttons.includes(click.action) || !(await isAllowed(policy.allow, click))) {
      metrics?.interaction(click.actor.platform, click.action, 'denied');
      logger.info({ ...base, alertId: delivery.alertId, route: delivery.route, outcome: 'denied' }, 'triage click');
      return { kind: 'denied', message: `You are not allowed to ${VERB[click.action]} alerts of route "${delivery.route}"; nothing was changed.` };
    }
    // Only Panther alerts have a Panther alert to update; an Alertmanager fingerprint is not one.
    const writeback = delivery.source === 'panther' ? this.deps.writeback() : undefined;
    // The click and its write-back job are one transaction (a retry after a held lock never records half), waiting
    // for a lock another process holds with the event loop free, within the platforms' 3 s answer deadline.
    const recorded = await whileTransient(
      () =>
        store.transaction(
          async (tx) => {
            const triage = tx.triage();
            const result = await triage.record({ alertRow: delivery.alertRow, deliveryId: delivery.id, action: click.action, actor: click.actor, at: now, ...(click.interactionId ? { interactionId: click.interactionId } : {}) });
            if (result.recorded && writeback) {
              if (click.action === 'assign') await triage.enqueueSync(delivery.alertRow, 'assignee', { platform: click.actor.platform, userId: click.actor.id, name: click.actor.name }, now);
              else await triage.enqueueSync(delivery.alertRow, 'status', { status: writeback.statuses[click.action] }, now);
            }
            return result;
          },
          { durable: true },
        ),
      (error) => store.isTransient(error),
      CLICK_LOCK_WAIT_MS,
    );
    if (!recorded.recorded) {
      metrics?.interaction(click.actor.platform, click.action, 'duplicate');
      logger.info({ ...base, alertId: delivery.alertId, outcome: 'duplicate' }, 'triage click');
      return { kind: 'duplicate' };
    }
    metrics?.interaction(click.actor.platform, click.action, 'applied');
    logger.info({ ...base, alertId: delivery.alertId, route: delivery.route, outcome: 'applied' }, 'triage click');
    this.deps.changed();
    return { kind: 'applied' };
  }
}
