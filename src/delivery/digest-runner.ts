import type { Logger } from 'pino';
import type { Destination, MessageRef, SendOutcome } from '../destinations/types';
import { redactSecrets } from '../observability/redact';
import { backoffDelay, type BackoffPolicy } from './backoff';
import type { DigestJob } from './digest-planner';
import { toDigestEntry } from './digest-store';
import type { OutboxStore } from './store';

export interface DigestRunDeps {
  store: OutboxStore;
  logger: Logger;
  secrets: readonly string[];
  backoff: BackoffPolicy;
  /** One paced send: a post when `existing` is null, else an edit of that message. */
  send(body: unknown, existing: MessageRef | null): Promise<SendOutcome>;
}

/**
 * Posts (or edits in place) one digest revision covering `job.rows` and records the outcome: all rows
 * delivered-by-digest with the digest's ref; rescheduled together on a retryable failure; released to go out one
 * by one if the platform refuses the digest itself. A vanished open digest is replaced by a new one.
 */
export async function runDigest(destination: Destination, job: DigestJob, deps: DigestRunDeps): Promise<void> {
  const started = Date.now();
  const entries = [...(job.open?.entries ?? []), ...job.rows.map((row) => toDigestEntry(row.alert))];
  let existing = job.open;
  let outcome: SendOutcome;
  try {
    const view = { entries, openedAt: existing?.openedAt ?? started, now: started };
    outcome = await deps.send(destination.formatDigest!(view).body, existing?.ref ?? null);
    if (outcome.kind === 'permanent' && existing) {
      // The open digest is gone (deleted, too old to edit): start a new one.
      existing = null;
      const fresh = { entries, openedAt: started, now: started };
      outcome = await deps.send(destination.formatDigest!(fresh).body, null);
    }
  } catch (error) {
    outcome = { kind: 'permanent', reason: `digest_error: ${(error as Error).message}` };
  }
  const ids = job.rows.map((row) => row.id);
  const base = { destination: destination.name, digest: true, alerts: ids.length, total: entries.length, durationMs: Date.now() - started };
  try {
    if (outcome.kind === 'ok') {
      deps.store.digests().record(existing?.id ?? null, destination.name, outcome.ref, entries, ids, Date.now());
      deps.logger.info({ ...base, outcome: existing ? 'digest_edited' : 'digest_posted' }, 'delivery attempt');
    } else if (outcome.kind === 'retryable') {
      const delay = outcome.retryAfterMs ?? backoffDelay(1, deps.backoff);
      for (const row of job.rows) deps.store.reschedule(row.id, Date.now() + delay, outcome.reason, outcome.rateLimited === true);
      deps.logger.warn({ ...base, outcome: 'retry', reason: outcome.reason }, 'delivery attempt');
    } else {
      // The digest itself was refused: let the alerts go out one by one, where each outcome is recorded.
      for (const row of job.rows) deps.store.release(row.id);
      deps.logger.warn({ ...base, outcome: 'digest_failed', reason: redactSecrets(outcome.reason, deps.secrets) }, 'delivery attempt');
    }
  } catch (error) {
    deps.logger.error({ ...base, err: { message: (error as Error).message } }, 'could not record digest outcome');
  }
}
