import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import { backoffDelay, type BackoffPolicy } from '../delivery/backoff';
import { PollingLoop } from '../delivery/polling-loop';
import { persistOutcome } from '../delivery/persist';
import type { StoreEngine, TriageOps } from '../delivery/store-contract';
import type { DeliveryMetrics } from '../observability/metrics';
import { redactSecrets } from '../observability/redact';
import type { SyncJob } from './triage-store';
import { networkFailure } from '../destinations/network-error';

/** `panther:` config as the write-back uses it. */
export interface PantherWritebackConfig {
  api: { url: string; token: string; timeoutMs: number };
  /** "slack:U…" / "discord:…" → Panther user id or email. */
  users?: Record<string, string>;
  maxAgeMs: number;
}

/** A failed GraphQL call: `retryable` for transport problems, 5xx, 429 and auth (an operator can fix a token). */
export class PantherApiError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
  }
}

const STATUS_MUTATION = `mutation UpdateAlertStatusById($input: UpdateAlertStatusByIdInput!) {
  updateAlertStatusById(input: $input) { alerts { id status } }
}`;
const ASSIGNEE_MUTATION = `mutation UpdateAlertsAssigneeById($input: UpdateAlertsAssigneeByIdInput!) {
  updateAlertsAssigneeById(input: $input) { alerts { id } }
}`;
const USERS_QUERY = `query ListUsers { users { id email } }`;
const ALERT_STATUS_QUERY = `query AlertStatus($id: ID!) { alert(id: $id) { id status } }`;

/** Minimal client for Panther's public GraphQL API (POST, `X-API-Key`). */
export class PantherApi {
  constructor(private readonly api: PantherWritebackConfig['api']) {}

  async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    let response: globalThis.Response;
    try {
      response = await fetch(this.api.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': this.api.token },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(this.api.timeoutMs),
      });
    } catch (error) {
      throw new PantherApiError(`Panther API unreachable (${(error as Error).name === 'TimeoutError' ? 'network: timeout' : networkFailure(error) ?? (error as Error).message})`, true);
    }
    const text = await response.text();
    if (!response.ok) {
      const retryable = response.status >= 500 || response.status === 429 || response.status === 408 || response.status === 401 || response.status === 403;
      throw new PantherApiError(`Panther API answered HTTP ${response.status}`, retryable);
    }
    let parsed: { data?: T; errors?: { message?: string }[] };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new PantherApiError('Panther API answered with something that is not JSON', true);
    }
    if (parsed.errors && parsed.errors.length > 0) {
      throw new PantherApiError(`Panther refused: ${parsed.errors.map((e) => e.message ?? 'error').join('; ').slice(0, 300)}`, false);
    }
    if (!parsed.data) throw new PantherApiError('Panther API answered without data', true);
    return parsed.data;
  }

  setStatus(alertId: string, status: string): Promise<unknown> {
    return this.request(STATUS_MUTATION, { input: { ids: [alertId], status } });
  }

  setAssignee(alertId: string, assigneeId: string): Promise<unknown> {
    return this.request(ASSIGNEE_MUTATION, { input: { ids: [alertId], assigneeId } });
  }

  /** The alert's status in Panther (OPEN, TRIAGED, RESOLVED, CLOSED), or undefined when Panther has no such alert. */
  async alertStatus(alertId: string): Promise<string | undefined> {
    return (await this.request<{ alert: { status?: string } | null }>(ALERT_STATUS_QUERY, { id: alertId })).alert?.status ?? undefined;
  }

  async users(): Promise<{ id: string; email: string }[]> {
    return (await this.request<{ users: { id: string; email: string }[] }>(USERS_QUERY)).users ?? [];
  }
}

export interface WritebackDeps {
  store: StoreEngine;
  config(): PantherWritebackConfig | undefined;
  /** Slack client for looking up a user's email (users:read.email), when Slack is configured. */
  slack(): WebClient | undefined;
  backoff(): BackoffPolicy;
  secrets(): readonly string[];
  /** A visible state changed (a failure appeared or cleared): wake the message editor. */
  changed(): void;
  logger: Logger;
  metrics?: DeliveryMetrics;
}

/**
 * How long a replica holds the write-back job it took (several replicas on PostgreSQL: each job is written back by
 * one): the job's Panther calls (up to three, each with its timeout) and its record fit; a replica that died leaves
 * it to another within two minutes.
 */
const WRITEBACK_LEASE_MS = 120_000;
/** Jobs written back per pass, one after the other. */
const JOBS_PER_TICK = 20;

/**
 * Pushes recorded triage actions to Panther, in order, retrying with backoff until `maxAgeMs`. Failures are
 * written to the store (and so shown in every message: "Not synced to Panther: …"); the chat action itself
 * never waits for this.
 */
export class PantherWriteback extends PollingLoop {
  private usersCache: { at: number; users: { id: string; email: string }[] } | undefined;

  constructor(private readonly deps: WritebackDeps) {
    super('panther_writeback', { logger: deps.logger, ...(deps.metrics ? { metrics: deps.metrics } : {}), secrets: deps.secrets });
  }

  protected async tick(): Promise<number> {
    const config = this.deps.config();
    if (!config) return Number.POSITIVE_INFINITY;
    const triage = this.deps.store.triage();
    // One at a time, oldest first: the order of actions on one alert is the order Panther must see. Each job is
    // leased only when its turn comes: leased as a batch, the last ones' leases ran out while a slow Panther held the
    // first ones, and another replica wrote them back too (and, for one alert, its next job could reach Panther
    // before this replica's late copy of the one before, leaving Panther in the older state).
    for (let n = 0; n < JOBS_PER_TICK; n++) {
      const [job] = await triage.dueSyncs(Date.now(), 1, WRITEBACK_LEASE_MS);
      // A record the store would not take (only when stopping): the job is not done, so the pass ends here.
      if (!job || !(await this.sync(job, config))) break;
    }
    const next = await triage.nextSyncAt();
    return next === undefined ? Number.POSITIVE_INFINITY : next - Date.now();
  }

  /** Writes one job back and records its outcome; false when the record was given up (the loop is stopping). */
  private async sync(job: SyncJob, config: PantherWritebackConfig): Promise<boolean> {
    const api = new PantherApi(config.api);
    const base = { alertId: job.alertId, operation: job.operation, attempt: job.attempts + 1 };
    let result: { outcome: Parameters<TriageOps['finishSync']>[1]; metric: 'synced' | 'retry' | 'failed'; log: Record<string, unknown> };
    try {
      if (!job.alertId) throw new PantherApiError('the alert has no Panther alert id', false);
      if (job.operation === 'status') await api.setStatus(job.alertId, job.argument.status!);
      else await api.setAssignee(job.alertId, await this.pantherUserId(api, config, job.argument));
      result = { outcome: { kind: 'done' }, metric: 'synced', log: { outcome: 'synced' } };
    } catch (error) {
      const retryable = error instanceof PantherApiError ? error.retryable : true;
      const reason = redactSecrets((error as Error).message, this.deps.secrets());
      if (!retryable || Date.now() - job.createdAt >= config.maxAgeMs) {
        result = { outcome: { kind: 'dead', reason }, metric: 'failed', log: { outcome: 'failed', reason } };
      } else {
        const delay = backoffDelay(job.attempts + 1, this.deps.backoff());
        result = { outcome: { kind: 'retry', at: Date.now() + delay, reason }, metric: 'retry', log: { outcome: 'retry', reason, retryInMs: delay } };
      }
    }
    // Retried until written: Panther was already told (or refused), and telling it twice is what a lost record costs.
    const written = await persistOutcome(this.deps.store, (tx) => tx.triage().finishSync(job, result.outcome, Date.now()), {
      failed: (error, retryInMs) => this.reportFailure(error, retryInMs, { alertId: job.alertId, operation: job.operation }),
      giveUpAt: () => this.grace.giveUpAt,
    });
    if (!written) return false;
    this.deps.metrics?.pantherWriteback(result.metric);
    const log = result.metric === 'synced' ? this.deps.logger.info.bind(this.deps.logger) : this.deps.logger.warn.bind(this.deps.logger);
    log({ ...base, ...result.log }, 'panther write-back');
    this.deps.changed();
    return true;
  }

  /** Chat user → Panther user id: explicit map (id or email), else the Slack profile email; emails via `users`. */
  private async pantherUserId(api: PantherApi, config: PantherWritebackConfig, who: Record<string, string>): Promise<string> {
    const key = `${who.platform}:${who.userId}`;
    let target = config.users?.[key];
    if (!target && who.platform === 'slack') target = await this.slackEmail(who.userId!);
    if (!target) throw new PantherApiError(`no Panther user is mapped for @${who.name} (add "${key}" under panther.users)`, false);
    if (!target.includes('@')) return target;
    const users = await this.pantherUsers(api);
    const match = users.find((u) => u.email.toLowerCase() === target!.toLowerCase());
    if (!match) throw new PantherApiError(`no Panther user has the email of @${who.name}`, false);
    return match.id;
  }

  private async slackEmail(userId: string): Promise<string | undefined> {
    const client = this.deps.slack();
    if (!client) return undefined;
    try {
      const info = await client.users.info({ user: userId });
      return info.user?.profile?.email ?? undefined;
    } catch (error) {
      throw new PantherApiError(`could not read the Slack user's email (${(error as { data?: { error?: string } }).data?.error ?? 'request failed'})`, true);
    }
  }

  private async pantherUsers(api: PantherApi): Promise<{ id: string; email: string }[]> {
    if (this.usersCache && Date.now() - this.usersCache.at < 300_000) return this.usersCache.users;
    const users = await api.users();
    this.usersCache = { at: Date.now(), users };
    return users;
  }
}
