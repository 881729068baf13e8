import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import { backoffDelay, type BackoffPolicy } from '../delivery/backoff';
import { PollingLoop } from '../delivery/polling-loop';
import { persistOutcome } from '../delivery/persist';
import type { StoreEngine } from '../delivery/store-contract';
import type { DeliveryMetrics } from '../observability/metrics';
import { redactSecrets } from '../observability/redact';
import { SOURCE_LABELS } from '../templates/presentation';
import { SilenceApi, SilenceApiError } from './silence-api';
import type { SilenceJob, SilenceOutcome } from './silence-store';

export interface SilenceWorkerDeps {
  store: StoreEngine;
  /** The live config's sources (their `api`): a reload applies at once. */
  sources(): Config['sources'];
  backoff(): BackoffPolicy;
  secrets(): readonly string[];
  /** A silence's state changed: wake the message editor. */
  changed(): void;
  logger: Logger;
  metrics?: DeliveryMetrics;
}

/**
 * How long a replica holds the silence it took (several replicas on PostgreSQL: each call is made by one): the
 * call's timeout and its record fit; a replica that died leaves it to another within two minutes.
 */
const SILENCE_LEASE_MS = 120_000;
const JOBS_PER_TICK = 20;

/**
 * Makes the API calls of silences chosen in chat: creates them (`POST /api/v2/silences`), expires them on Unsilence
 * (`DELETE /api/v2/silence/{id}`), and marks an active one ended when its time is up, so every message shows the
 * menu again. A failed call is retried with the delivery backoff until the silence would have ended anyway (a
 * silence created later than that, or expired, would change nothing); every failure shows in the messages
 * ("Silence failed: 401 from Alertmanager (retrying)"). The click itself never waits for this.
 */
export class SilenceWorker extends PollingLoop {
  constructor(private readonly deps: SilenceWorkerDeps) {
    super('silences', { logger: deps.logger, ...(deps.metrics ? { metrics: deps.metrics } : {}), secrets: deps.secrets });
  }

  protected async tick(): Promise<number> {
    const silences = this.deps.store.silences();
    // One at a time, each leased when its turn comes (as write-backs: a batch's last leases could run out meanwhile).
    for (let n = 0; n < JOBS_PER_TICK; n++) {
      const [job] = await silences.due(Date.now(), 1, SILENCE_LEASE_MS);
      if (!job || !(await this.perform(job))) break;
    }
    const next = await silences.nextDueAt();
    return next === undefined ? Number.POSITIVE_INFINITY : next - Date.now();
  }

  /** Does one job and records its outcome; false when the record was given up (the loop is stopping). */
  private async perform(job: SilenceJob): Promise<boolean> {
    const outcome = await this.outcomeOf(job);
    const written = await persistOutcome(this.deps.store, (tx) => tx.silences().finish(job, outcome, Date.now()), {
      failed: (error, retryInMs) => this.reportFailure(error, retryInMs, { silenceRow: job.id, source: job.source }),
      giveUpAt: () => this.grace.giveUpAt,
    });
    if (!written) return false;
    const operation = job.state === 'creating' ? 'create' : job.state === 'expiring' ? 'expire' : 'end';
    const failed = outcome.kind === 'retry' || outcome.kind === 'gaveUp';
    const shown = outcome.kind === 'gaveUp' ? 'failed' : outcome.kind;
    this.deps.metrics?.silence(job.source, operation, shown);
    const log = failed ? this.deps.logger.warn.bind(this.deps.logger) : this.deps.logger.info.bind(this.deps.logger);
    log(
      {
        silenceRow: job.id,
        alertRow: job.alertRow,
        source: job.source,
        operation,
        outcome: shown,
        attempt: job.attempts + 1,
        ...(outcome.kind === 'created' ? { silenceId: outcome.silenceId } : job.silenceId ? { silenceId: job.silenceId } : {}),
        ...('reason' in outcome ? { reason: outcome.reason } : {}),
        ...(outcome.kind === 'retry' ? { retryInMs: outcome.at - Date.now() } : {}),
      },
      'silence',
    );
    this.deps.changed();
    return true;
  }

  /** The call a job needs, made, and what it came to. */
  private async outcomeOf(job: SilenceJob): Promise<SilenceOutcome> {
    const now = Date.now();
    // The silence's time is up: an active one ended by itself; one still to be expired needs no call any more.
    if (job.state === 'active' || (job.state === 'expiring' && now >= job.endsAt && job.silenceId)) return { kind: 'ended' };
    // Unsilenced before a create was known to be made, and its time is up: whatever a create made has ended too.
    if (job.state === 'expiring' && !job.silenceId && now >= job.endsAt) return { kind: 'expired' };
    if (job.state === 'creating' && now >= job.endsAt) return { kind: 'gaveUp', reason: job.lastError ?? 'its time was up before it could be created' };
    const label = SOURCE_LABELS[job.source] ?? job.source;
    const api = this.deps.sources()[job.source as 'alertmanager' | 'grafana']?.api;
    // Without an API (a reload took it away) nothing can be looked up or expired any more.
    if (job.state === 'expiring' && !job.silenceId && !api) return { kind: 'expired' };
    try {
      if (!api) throw new SilenceApiError(`no API is configured for ${label} (sources.${job.source}.api)`, true);
      const client = new SilenceApi(job.source, api);
      const silence = { matchers: job.matchers, startsAt: job.startsAt, endsAt: job.endsAt, createdBy: job.createdBy, comment: job.comment };
      if (job.state === 'creating') {
        // A try may have made the silence though no outcome was recorded: its answer was lost (a failed try), or the
        // process died waiting for it (a crash leaves attempts at 0, and a PostgreSQL lease that ran out hands the
        // job to another replica). Every create looks first: adopt what is there, never make two.
        const made = await client.existing(silence);
        return { kind: 'created', silenceId: made ?? (await client.create(silence)) };
      }
      // Unsilenced while the create was retried or under way: a try whose answer was lost may have made the silence,
      // and it must not outlive the Unsilence the messages show. Found, it is expired; not found, nothing was made.
      const id = job.silenceId ?? (await client.existing(silence));
      if (id) await client.expire(id);
      return { kind: 'expired' };
    } catch (error) {
      const retryable = error instanceof SilenceApiError ? error.retryable : true;
      const reason = redactSecrets(error instanceof SilenceApiError ? error.message : `${label} call failed (${(error as Error).message})`, this.deps.secrets());
      const at = Date.now() + backoffDelay(job.attempts + 1, this.deps.backoff());
      if (!retryable) return { kind: 'gaveUp', reason };
      // Retried until the silence would have ended: a create after that changes nothing, and an expire is then
      // done by the source itself (the next pass at the end marks it ended).
      if (job.state === 'expiring') return { kind: 'retry', at: Math.min(at, job.endsAt), reason };
      return at >= job.endsAt ? { kind: 'gaveUp', reason } : { kind: 'retry', at, reason };
    }
  }
}
