import type { Alert } from '../domain/alert';
import type { Logger } from 'pino';
import type { SendOutcome } from '../destinations/types';
import type { DeliveryMetrics } from '../observability/metrics';
import { redactSecrets } from '../observability/redact';
import type { ThreadParent } from '../triage/triage-store';
import { backoffDelay, type BackoffPolicy } from './backoff';
import type { ClaimedDelivery } from './store';
import type { AttemptWrite } from './store-contract';

/** What finalising an attempt needs; digest rows have no alert row or thread. */
export type AttemptRecord = Omit<ClaimedDelivery, 'alertRow' | 'revision' | 'alert'> & {
  /** Only what the log line names: a digest row never reads the full alert. */
  alert: Pick<Alert, 'alertId' | 'source'>;
  renderedRevision?: number;
  parent?: ThreadParent;
  /** The message escalates: its first reminder is due this long after the post (scheduled with its record). */
  escalateAfterMs?: number;
};

export interface OutcomeSettings {
  maxAttempts?: number;
  maxAgeMs: number;
  backoff: BackoffPolicy;
  metrics?: DeliveryMetrics;
  /** A thread reply was recorded, so its parent's counter is stale: wake the editor. */
  messagesStale?: () => void;
}

export interface SettledAttempt {
  /** What the store records of this outcome (in one transaction, retried until written). */
  write: AttemptWrite;
  /** After the writes: the metric and the attempt's one log line. */
  written(): void;
}

/**
 * What one send attempt comes to — delivered (with its thread link), rescheduled with backoff or Retry-After (a
 * rate-limited attempt is not a failure), or dead (permanent error, too many attempts, too old) — split into the
 * store writes and what follows them, so the writes can be retried alone when the store is busy.
 */
export function settleAttempt(
  deps: { settings: OutcomeSettings; logger: Logger; secrets: readonly string[]; paceWindowMs: number },
  delivery: AttemptRecord,
  outcome: SendOutcome,
  durationMs: number,
  warnings: string[],
  now = Date.now(),
): SettledAttempt {
  const { settings, logger } = deps;
  const attempt = delivery.attempts + 1;
  const base = {
    deliveryId: delivery.id,
    alertId: delivery.alert.alertId,
    source: delivery.alert.source,
    route: delivery.route,
    destination: delivery.destination,
    attempt,
    durationMs,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
  if (outcome.kind === 'ok') {
    const threaded = delivery.parent && !outcome.notThreaded ? delivery.parent : undefined;
    return {
      write: {
        kind: 'delivered',
        id: delivery.id,
        ref: outcome.ref,
        renderedRevision: delivery.renderedRevision ?? 0,
        ...(threaded ? { reply: { parentId: threaded.id, threadRef: outcome.threadRef ?? null } } : {}),
        // Counted from the post's record, when the message is known to be in the channel.
        ...(delivery.escalateAfterMs !== undefined ? { escalateAt: now + delivery.escalateAfterMs } : {}),
      },
      written: () => {
        if (threaded) settings.messagesStale?.();
        settings.metrics?.delivery(delivery.destination, 'delivered', undefined, (now - delivery.createdAt) / 1000);
        const thread = delivery.parent ? (outcome.notThreaded ? { threadFailed: 'could not start a thread; posted in the channel' } : { threadParent: delivery.parent.id }) : {};
        logger.info({ ...base, outcome: 'delivered', latencyMs: now - delivery.createdAt, ...thread }, 'delivery attempt');
      },
    };
  }
  const reason = redactSecrets(outcome.reason, deps.secrets);
  if (outcome.kind === 'permanent') {
    return {
      write: { kind: 'dead', id: delivery.id, reason, countAttempt: true },
      written: () => {
        settings.metrics?.delivery(delivery.destination, 'dead', reason);
        logger.warn({ ...base, outcome: 'dead', reason }, 'delivery attempt');
      },
    };
  }
  const countsAsFailure = !outcome.rateLimited;
  const failures = countsAsFailure ? attempt : delivery.attempts;
  const tooOld = now - delivery.createdAt >= settings.maxAgeMs;
  if (tooOld || failures >= (settings.maxAttempts ?? Number.POSITIVE_INFINITY)) {
    const why = tooOld ? 'max age reached' : `${failures} attempts failed`;
    return {
      write: { kind: 'dead', id: delivery.id, reason: `${reason} (${why})`, countAttempt: countsAsFailure },
      written: () => {
        settings.metrics?.delivery(delivery.destination, 'dead', reason);
        logger.warn({ ...base, outcome: 'dead', reason, why }, 'delivery attempt');
      },
    };
  }
  const delay = outcome.retryAfterMs ?? (outcome.rateLimited ? deps.paceWindowMs : backoffDelay(Math.max(1, failures), settings.backoff));
  const kind = outcome.rateLimited ? 'rate_limited' : 'retry';
  return {
    write: { kind: 'rescheduled', id: delivery.id, nextAttemptAt: now + delay, reason, rateLimited: !countsAsFailure },
    written: () => {
      settings.metrics?.delivery(delivery.destination, kind, reason);
      logger.warn({ ...base, outcome: kind, reason, retryInMs: delay }, 'delivery attempt');
    },
  };
}
