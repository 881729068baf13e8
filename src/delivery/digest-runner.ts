import type { Logger } from 'pino';
import type { Destination, SendOutcome } from '../destinations/types';
import type { MessageRef } from '../domain/delivery';
import { addToDigest, digestTotal, type DigestSummary } from '../destinations/digest-format';
import type { DigestJob } from './digest-planner';
import type { DigestCandidate } from './digest-store';

export interface DigestRunDeps {
  logger: Logger;
  onDigest?(action: 'posted' | 'edited'): void;
  /** One paced send: a post when `existing` is null, else an edit of that message. */
  send(body: unknown, existing: MessageRef | null): Promise<SendOutcome>;
  /** Records the digest and marks its rows delivered-by-digest (retried on a busy database). */
  recordDigest(digestId: number | null, ref: MessageRef, summary: DigestSummary, deliveryIds: number[]): Promise<unknown>;
  /** Applies a failed outcome to one covered row exactly as for a single delivery (backoff, max age, dead). */
  finalizeEach(row: DigestCandidate, outcome: SendOutcome): Promise<void>;
  /** The platform refused the digest's content: the rows must go out one by one instead. */
  refused(reason: string): void;
}

/**
 * Posts (or edits in place) one digest revision covering `job.rows` and records the outcome: every row
 * delivered-by-digest with the digest's ref; on failure each row is finalised like a single delivery (so
 * backoff, max age and dead letters apply); a refused body sends the rows singly. A vanished open digest is
 * replaced by a new one.
 */
export async function runDigest(destination: Destination, job: DigestJob, deps: DigestRunDeps): Promise<void> {
  const started = Date.now();
  const summary = addToDigest(job.open?.summary ?? null, job.rows.map((row) => row.entry));
  let existing = job.open;
  let outcome: SendOutcome;
  try {
    const view = { ...summary, openedAt: existing?.openedAt ?? started, now: started };
    outcome = await deps.send(destination.formatDigest!(view).body, existing?.ref ?? null);
    if (outcome.kind === 'permanent' && existing && !outcome.bodyRejected) {
      // The open digest is gone (deleted, too old to edit): start a new one.
      existing = null;
      outcome = await deps.send(destination.formatDigest!({ ...summary, openedAt: started, now: started }).body, null);
    }
  } catch (error) {
    outcome = { kind: 'permanent', reason: `digest_error: ${(error as Error).message}`, bodyRejected: true };
  }
  const base = { destination: destination.name, digest: true, alerts: job.rows.length, total: digestTotal(summary), durationMs: Date.now() - started };
  if (outcome.kind === 'ok') {
    await deps.recordDigest(existing?.id ?? null, outcome.ref, summary, job.rows.map((row) => row.id));
    deps.logger.info({ ...base, outcome: existing ? 'digest_edited' : 'digest_posted' }, 'delivery attempt');
    deps.onDigest?.(existing ? 'edited' : 'posted');
  } else if (outcome.kind === 'permanent' && outcome.bodyRejected) {
    deps.refused(outcome.reason);
  } else {
    for (const row of job.rows) await deps.finalizeEach(row, outcome);
  }
}
