import type { Logger } from 'pino';
import { backoffDelay, type BackoffPolicy } from '../delivery/backoff';
import type { Pacer } from '../delivery/pacer';
import { persistOutcome } from '../delivery/persist';
import { PollingLoop } from '../delivery/polling-loop';
import type { StoreEngine } from '../delivery/store-contract';
import { deliveryKey } from '../domain/delivery';
import type { Destination, ReminderView, SendOutcome } from '../destinations/types';
import type { DeliveryMetrics } from '../observability/metrics';
import { redactSecrets } from '../observability/redact';
import type { TriagePolicy } from '../triage/policy';
import { escalates, type EscalatePolicy } from './policy';
import type { DueReminder, ReminderWrite } from './state';

/** What the loop reads from the live configuration on every pass (a reload applies at once). */
export interface ReminderDeps {
  store: StoreEngine;
  /** The bridge's per-channel pace: a reminder is a post and spends the channel's budget like one. */
  pacer: Pacer;
  destinations(): ReadonlyMap<string, Destination>;
  policies(): ReadonlyMap<string, TriagePolicy>;
  /** Routes with `defang: false`. */
  defangOff(): ReadonlySet<string>;
  backoff(): BackoffPolicy;
  /** A reminder still failing this long after it was due is given up (delivery.maxAgeMs). */
  maxAgeMs(): number;
  /** How long one request may take (delivery.requestTimeoutMs): the reminder's lease follows it. */
  requestTimeoutMs(): number;
  secrets(): readonly string[];
  /**
   * The alert's status in Panther, when the Panther API is configured (`panther.api`): an alert someone triaged or
   * resolved in Panther itself no longer escalates. Undefined when not configured; throws when Panther cannot say.
   */
  pantherStatus?(alertId: string): Promise<string | undefined> | undefined;
  /** A message's escalation line changed (a reminder sent, failed or stopped): wake the message editor. */
  changed(): void;
  logger: Logger;
  metrics?: DeliveryMetrics;
}

/** Reminders sent per pass, one after the other (each leased only when its turn comes). */
const PER_TICK = 20;

/** The longest Panther status look-up before a reminder (panther.api.timeoutMs is capped at 35 s in the config). */
const PANTHER_LOOKUP_MAX_MS = 35_000;

/**
 * How long a replica holds the reminder it took (several replicas on PostgreSQL: each is sent by one): the Panther
 * status look-up, its send (a thread start and a reply, each up to the request timeout) and record fit, so another
 * replica never takes it over mid-send; a replica that died leaves it to another within about 1.5 minutes.
 */
export function reminderLeaseMs(requestTimeoutMs: number): number {
  return PANTHER_LOOKUP_MAX_MS + Math.max(60_000, 3 * (requestTimeoutMs + 10_000));
}

/**
 * When the reminder after one posted at `now` is due: its place in the schedule (`dueAt + repeat`), unless the
 * reminder went out so late (the bridge was down) that the next would follow it within half a `repeat`: then a whole
 * `repeat` from now, so people are not paged twice in a row for one delay.
 */
export function nextReminderAt(dueAt: number, repeat: number, now: number): number {
  const scheduled = dueAt + repeat;
  return scheduled - now >= repeat / 2 ? scheduled : now + repeat;
}

/**
 * Sends the escalation reminders of alerts nobody acknowledged or resolved: each due reminder is a reply in its
 * message's thread (routes with `threads`), or a message in the channel that replies to it, mentioning the route's
 * escalation targets; then the next one is scheduled, until `times` went out. Reminders are paced like posts, in
 * the channel's budget (a channel without room defers the reminder, not counted as a failure). The store stops a
 * reminder whose alert was acknowledged or resolved before handing it out; a click also stops them in its own
 * transaction. Every change shows in the message's escalation line through the message editor.
 */
export class ReminderLoop extends PollingLoop {
  constructor(private readonly deps: ReminderDeps) {
    super('escalation', { logger: deps.logger, ...(deps.metrics ? { metrics: deps.metrics } : {}), secrets: deps.secrets });
  }

  protected async tick(): Promise<number> {
    const escalations = this.deps.store.escalations();
    const leaseMs = reminderLeaseMs(this.deps.requestTimeoutMs());
    for (let n = 0; n < PER_TICK; n++) {
      const [reminder] = await escalations.due(Date.now(), 1, leaseMs);
      if (!reminder || !(await this.remind(reminder))) break;
    }
    const next = await escalations.nextDueAt();
    return next === undefined ? Number.POSITIVE_INFINITY : next - Date.now();
  }

  /** One due reminder, sent (or deferred, retried, given up, stopped) and recorded; false when the record was given up. */
  private async remind(reminder: DueReminder): Promise<boolean> {
    const policy = this.deps.policies().get(reminder.route);
    const escalate = policy?.escalate;
    const destination = this.deps.destinations().get(reminder.destination);
    const base = { deliveryId: reminder.deliveryId, alertId: reminder.alert.alertId, route: reminder.route, destination: reminder.destination, step: reminder.sent + 1 };
    // The route no longer escalates this message (a reload changed it): stop, and its line goes away.
    if (!destination?.formatReminder || !escalates(escalate, reminder.alert, destination.type) || reminder.sent >= escalate.times) {
      return this.finish(reminder, { kind: 'stopped', reason: 'config' }, base, 'stopped', 'the route no longer escalates this message');
    }
    const inPanther = await this.pantherStatus(reminder, base);
    if (inPanther !== undefined && inPanther !== 'OPEN') {
      return this.finish(reminder, { kind: 'stopped', reason: `panther:${inPanther}` }, base, 'stopped', `the alert is ${inPanther} in Panther`);
    }
    const now = Date.now();
    const { pacer } = this.deps;
    const key = destination.pacingKey;
    const readyAt = pacer.readyAt(key, destination.pacing, now, 'post');
    if (readyAt > now) {
      // The channel's pace has no room now: like a post, the reminder waits for the channel's next slot.
      pacer.want(key, 'post', now);
      return this.finish(reminder, { kind: 'deferred', at: Math.ceil(readyAt) }, base);
    }
    const wait = await this.deps.store.takeChannel({ key, ...destination.pacing }, now);
    if (wait > 0) return this.finish(reminder, { kind: 'deferred', at: now + wait }, base);
    // Looked at again with nothing awaited before the request begins: another loop may have begun one meanwhile.
    const stillFree = pacer.readyAt(key, destination.pacing, Date.now(), 'post');
    if (stillFree > Date.now()) {
      await this.deps.store.endChannel(key, now).catch((error: unknown) => this.reportFailure(error, 0, base));
      return this.finish(reminder, { kind: 'deferred', at: Math.ceil(stillFree) }, base);
    }
    // Read again just before the send: a click (on any copy, on any replica) or the source's resolution may have
    // stopped it while this pass was asking Panther or waiting for the channel; it was recorded then, nothing to write.
    const current = await this.deps.store.escalations().state(reminder.deliveryId);
    if (current?.status !== 'pending' || current.sent !== reminder.sent) {
      await this.deps.store.endChannel(key, now).catch((error: unknown) => this.reportFailure(error, 0, base));
      return true;
    }
    // In the message's thread on a route with threads, and always in a forum post (it has no channel beside it).
    const ownThread = destination.inOwnThread?.(reminder.ref) === true;
    const threaded = typeof destination.sendReply === 'function' && ((policy?.threads !== null && policy?.threads !== undefined) || ownThread);
    let outcome: SendOutcome;
    let endedAt: number | undefined;
    try {
      const body = destination.formatReminder(this.view(reminder, escalate, threaded)).body;
      outcome = await pacer.request(key, destination.pacing, 'post', () =>
        threaded ? destination.sendReply!(body, reminder.ref, reminder.threadRef) : destination.send(body),
      );
      endedAt = Date.now();
    } catch (error) {
      outcome = { kind: 'permanent', reason: `format_error: ${(error as Error).message}` };
    }
    await this.deps.store.endChannel(key, now, endedAt).catch((error: unknown) => this.reportFailure(error, 0, base));
    return this.settle(reminder, escalate, destination, outcome, base);
  }

  /**
   * A Panther alert's status in Panther (someone may have triaged it there, not in chat). When Panther cannot say,
   * the reminder goes out: a reminder too many is better than an escalation missed.
   */
  private async pantherStatus(reminder: DueReminder, base: Record<string, unknown>): Promise<string | undefined> {
    if (reminder.alert.source !== 'panther' || !reminder.alert.alertId || !this.deps.pantherStatus) return undefined;
    try {
      return await this.deps.pantherStatus(reminder.alert.alertId);
    } catch (error) {
      const reason = redactSecrets((error as Error).message, this.deps.secrets());
      this.deps.logger.warn({ ...base, reason }, 'escalation reminder: could not read the alert\'s status in Panther; sending the reminder');
      return undefined;
    }
  }

  /** What the reminder says and to whom. */
  private view(reminder: DueReminder, escalate: EscalatePolicy, threaded: boolean): ReminderView {
    return {
      alert: reminder.alert,
      step: reminder.sent + 1,
      times: escalate.times,
      waitedMs: escalate.after + reminder.sent * escalate.repeat,
      mentions: escalate.mentions,
      // Stable per message and step: Discord's nonce returns the first post if this send is repeated.
      key: deliveryKey(`${reminder.alert.dedupKey}\u0000reminder:${reminder.sent + 1}`, reminder.destination),
      ...(threaded ? {} : { replyTo: reminder.ref }),
      ...(this.deps.defangOff().has(reminder.route) ? { defang: false } : {}),
    };
  }

  /** Turns a send's outcome into the store's record, its log line and metric. */
  private async settle(reminder: DueReminder, escalate: EscalatePolicy, destination: Destination, outcome: SendOutcome, base: Record<string, unknown>): Promise<boolean> {
    const now = Date.now();
    if (outcome.kind === 'ok') {
      const last = reminder.sent + 1 >= escalate.times;
      const nextAt = last ? null : nextReminderAt(reminder.dueAt, escalate.repeat, now);
      const extra = { ...(nextAt === null ? {} : { nextInMs: nextAt - now }), ...(outcome.notThreaded ? { threadFailed: 'could not start a thread; posted in the channel' } : {}) };
      return this.finish(reminder, { kind: 'sent', nextAt, threadRef: outcome.threadRef ?? null }, { ...base, ...extra }, 'sent');
    }
    const reason = redactSecrets(outcome.reason, this.deps.secrets());
    if (outcome.kind === 'retryable' && outcome.rateLimited) {
      // The channel is held for posts (this process's pacer did it; other processes learn it from the store).
      const until = now + (outcome.retryAfterMs ?? destination.pacing.windowMs);
      await this.deps.store.holdChannel(destination.pacingKey, until, now).catch((error: unknown) => this.reportFailure(error, 0, base));
      return this.finish(reminder, { kind: 'deferred', at: until }, { ...base, reason }, 'rate_limited');
    }
    if (outcome.kind === 'permanent' || now - reminder.dueAt >= this.deps.maxAgeMs()) {
      return this.finish(reminder, { kind: 'dead', reason }, { ...base, reason }, 'failed');
    }
    const delay = outcome.retryAfterMs ?? backoffDelay(reminder.attempts + 1, this.deps.backoff());
    return this.finish(reminder, { kind: 'retry', at: now + delay, reason }, { ...base, reason, retryInMs: delay }, 'retry');
  }

  /**
   * Records `write` (retried until written: a reminder posted must not be posted again because its record failed),
   * then its log line and metric. A deferral is not logged (it is the pace at work, not an event).
   */
  private async finish(reminder: DueReminder, write: ReminderWrite, log: Record<string, unknown>, outcome?: 'sent' | 'retry' | 'rate_limited' | 'failed' | 'stopped', why?: string): Promise<boolean> {
    const written = await persistOutcome(this.deps.store, (tx) => tx.escalations().record(reminder, write, Date.now()), {
      failed: (error, retryInMs) => this.reportFailure(error, retryInMs, { deliveryId: reminder.deliveryId }),
      giveUpAt: () => this.grace.giveUpAt,
    });
    if (!written) return false;
    if (outcome === undefined) return true;
    this.deps.metrics?.reminder(reminder.destination, outcome);
    const line = { ...log, outcome, ...(why ? { reason: why } : {}) };
    if (outcome === 'sent' || outcome === 'stopped') this.deps.logger.info(line, 'escalation reminder');
    else this.deps.logger.warn(line, 'escalation reminder');
    if (write.kind !== 'retry') this.deps.changed();
    return true;
  }
}
