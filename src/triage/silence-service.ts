import type { Logger } from 'pino';
import { whileTransient } from '../delivery/lock-wait';
import type { StoreEngine, StoreOps } from '../delivery/store-contract';
import type { BridgeMetrics } from '../observability/metrics';
import { isLegacyGrafanaAlert } from '../sources/grafana-legacy';
import { isAllowed, type Clicker } from './allow';
import { silenceAllowList, type TriagePolicy } from './policy';
import { durationLabel, isSilenceable, matchersUsable, silenceComment, silenceLines, silenceMatchers, type SilenceRequest } from './silence';
import { CLICK_LOCK_WAIT_MS, type TriageClickResult } from './triage-service';

/** A Silence-menu choice or an Unsilence click, after the request's signature was verified. */
export interface SilenceClick extends Clicker {
  request: SilenceRequest;
  /** Platform id of this interaction: a replay changes nothing. */
  interactionId?: string;
  /** A link to the clicked message (Slack permalink, Discord message URL) for the silence's comment. */
  messageUrl?: string;
}

export interface SilenceServiceDeps {
  store: StoreEngine;
  policies(): ReadonlyMap<string, TriagePolicy>;
  /** Called after a change was recorded: wakes the silence loop and the message editor. */
  changed(): void;
  logger: Logger;
  metrics?: BridgeMetrics;
}

/**
 * Applies Silence and Unsilence clicks from either platform: checks that the alert's source has silences on, that
 * the duration is one offered, and the allow list (the source's, else the route's triage one); then records the
 * request durably (once per interaction id, one current silence per alert). The API call is the silence loop's
 * (silence-worker.ts): the click is answered without waiting for Alertmanager or Grafana.
 */
export class SilenceService {
  constructor(private readonly deps: SilenceServiceDeps) {}

  async click(click: SilenceClick, now = Date.now()): Promise<TriageClickResult> {
    const { store, logger, metrics } = this.deps;
    const { request, actor } = click;
    const action = request.kind;
    const base = { platform: actor.platform, action, deliveryId: request.deliveryId, actorId: actor.id };
    const outcome = (result: TriageClickResult, extra: Record<string, unknown> = {}): TriageClickResult => {
      metrics?.interaction(actor.platform, action, result.kind);
      logger.info({ ...base, ...extra, outcome: result.kind }, 'silence click');
      return result;
    };
    const delivery = await whileTransient(() => store.triage().delivery(request.deliveryId), (e) => store.isTransient(e), CLICK_LOCK_WAIT_MS);
    if (!delivery) return outcome({ kind: 'unknown', message: 'This alert is no longer tracked by chatops-bridge (it was purged), so nothing was changed.' });
    const at = { alertId: delivery.alertId, route: delivery.route };
    const policy = this.deps.policies().get(delivery.route);
    const settings = policy?.silence && isSilenceable(delivery.source) ? policy.silence[delivery.source] : undefined;
    if (!policy || !settings || !settings.api) {
      return outcome({ kind: 'denied', message: `Silences from chat are not available for alerts of route "${delivery.route}"; nothing was changed.` }, at);
    }
    if (!(await isAllowed(silenceAllowList(policy, settings), click))) {
      return outcome({ kind: 'denied', message: `You are not allowed to ${action} alerts of route "${delivery.route}"; nothing was changed.` }, at);
    }
    if (request.kind === 'unsilence') {
      const result = await this.record((tx) => tx.silences().unsilence({ alertRow: delivery.alertRow, actor, at: now, ...(click.interactionId ? { interactionId: click.interactionId } : {}) }));
      if (result === 'none') return outcome({ kind: 'unknown', message: 'This alert is not silenced (any more), so nothing was changed.' }, at);
      return this.done(result, outcome, at);
    }
    if (!settings.durationsMs.includes(request.durationMs)) {
      return outcome({ kind: 'denied', message: `A silence of ${durationLabel(request.durationMs)} is not offered for these alerts; nothing was changed.` }, at);
    }
    const alert = await whileTransient(() => store.ledger().alert(delivery.alertRow), (e) => store.isTransient(e), CLICK_LOCK_WAIT_MS);
    const matchers = silenceMatchers(alert?.labels ?? {}, settings.matchers);
    if (!alert || !matchersUsable(matchers) || isLegacyGrafanaAlert(alert)) {
      return outcome({ kind: 'unknown', message: 'This alert cannot be silenced (none of the labels a silence matches on, or legacy Grafana alerting), so nothing was changed.' }, at);
    }
    const comment = silenceComment({ actor, durationMs: request.durationMs, alert, destination: delivery.destination, deliveryId: delivery.id, ...(click.messageUrl ? { messageUrl: click.messageUrl } : {}) });
    const result = await this.record((tx) =>
      tx.silences().request({
        alertRow: delivery.alertRow,
        deliveryId: delivery.id,
        source: delivery.source,
        actor,
        durationMs: request.durationMs,
        matchers,
        comment,
        at: now,
        ...(click.interactionId ? { interactionId: click.interactionId } : {}),
      }),
    );
    if (result === 'busy') {
      const current = (await store.triage().view(delivery.alertRow)).silence;
      const holds = current ? silenceLines(current)[0] : 'a silence holds';
      return outcome({ kind: 'unknown', message: `This alert is already silenced (${holds}); nothing was changed. Unsilence it first to choose another duration.` }, at);
    }
    return this.done(result, outcome, { ...at, durationMs: request.durationMs });
  }

  /** Records a click durably, waiting for a lock held elsewhere within the platforms' 3 s answer deadline. */
  private record<T>(write: (tx: StoreOps) => Promise<T>): Promise<T> {
    const { store } = this.deps;
    return whileTransient(() => store.transaction(write, { durable: true }), (error) => store.isTransient(error), CLICK_LOCK_WAIT_MS);
  }

  private done(result: 'recorded' | 'duplicate', outcome: (r: TriageClickResult, extra?: Record<string, unknown>) => TriageClickResult, extra: Record<string, unknown>): TriageClickResult {
    if (result === 'duplicate') return outcome({ kind: 'duplicate' }, extra);
    this.deps.changed();
    return outcome({ kind: 'applied' }, extra);
  }
}
