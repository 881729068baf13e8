import type { Logger } from 'pino';
import type { Destination, SendOutcome } from '../destinations/types';
import { deliveryKey } from '../domain/delivery';
import { redactSecrets } from '../observability/redact';
import { backoffDelay, type BackoffPolicy } from './backoff';
import { Pacer } from './pacer';
import type { BridgeMetrics } from '../observability/metrics';
import { mentionsFor, type MentionConfig } from '../routing/mentions';
import { planDigest, type DigestPolicy } from './digest-planner';
import { runDigest } from './digest-runner';
import type { ClaimedDelivery, OutboxStore } from './store';
import type { ThreadParent } from '../triage/triage-store';
import { triageContext, type TriagePolicy } from '../triage/policy';

/** What finalising an attempt needs; digest rows have no alert row or thread. */
type AttemptRecord = Omit<ClaimedDelivery, 'alertRow' | 'revision'> & { renderedRevision?: number; parent?: ThreadParent };

export interface WorkerSettings {
  concurrency: number;
  /** Failed attempts before a delivery is dead; undefined = bounded by maxAgeMs only. */
  maxAttempts?: number;
  maxAgeMs: number;
  leaseMs: number;
  backoff: BackoffPolicy;
  /** Longest idle sleep between polls; new accepts wake the worker at once via notify(). */
  idlePollMs?: number;
  /** Burst-digest policy per destination (absent: never digest). */
  digests?: ReadonlyMap<string, DigestPolicy>;
  /** Configured mentions per route name. */
  mentions?: ReadonlyMap<string, MentionConfig | undefined>;
  /** Triage buttons and thread policy per route name. */
  triage?: ReadonlyMap<string, TriagePolicy>;
  /** A posted message fell behind its state (a thread reply changed its parent's counter): wake the editor. */
  messagesStale?: () => void;
  metrics?: BridgeMetrics;
}

/**
 * Drains the outbox: claims due deliveries (one in flight per destination), formats and sends each, and records
 * the outcome — delivered, rescheduled with backoff or Retry-After, or dead (permanent error, too many attempts,
 * too old). Never throws out of its loop; every attempt is one log line.
 */
export class DeliveryWorker {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly busyDestinations = new Set<string>();
  private readonly pacer = new Pacer();
  /** Destinations whose digest the platform refused: their alerts go out one by one until this time. */
  private readonly digestCooldown = new Map<string, number>();
  private running = false;
  private lastClaimAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  /** The last render turn handed out (see {@link nextRenderTurn}). */
  private renderTurn: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: OutboxStore,
    private destinations: ReadonlyMap<string, Destination>,
    private settings: WorkerSettings,
    private readonly logger: Logger,
    private secrets: readonly string[] = [],
  ) {}

  /**
   * Swaps in a reloaded configuration: new claims use the new destinations and settings; sends already in flight
   * finish with the objects they started with. Channel pacing state is kept (it belongs to the channels).
   * Settles when those in-flight sends have finished: then the old destinations' clients may be closed.
   */
  reconfigure(destinations: ReadonlyMap<string, Destination>, settings: WorkerSettings, secrets: readonly string[]): Promise<void> {
    const started = [...this.inFlight.values()];
    this.destinations = destinations;
    this.settings = settings;
    this.secrets = secrets;
    this.notify();
    return Promise.allSettled(started).then(() => undefined);
  }

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Wakes the loop now (called after an accept, so a new alert does not wait for the next poll). */
  notify(): void {
    this.wake?.();
  }

  /** Stops claiming new work and waits for in-flight sends to finish (their outcomes are recorded). */
  async stop(): Promise<void> {
    this.running = false;
    this.notify();
    await this.loopDone;
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let sleepMs = this.settings.idlePollMs ?? 1000;
      try {
        this.claimAndDispatch();
        sleepMs = this.sleepMs();
      } catch (error) {
        // A locked or failing database must not kill the process: log, back off, try again.
        this.logger.error({ err: { message: redactSecrets(String((error as Error).message), this.secrets) } }, 'outbox unavailable');
      }
      await this.sleep(sleepMs);
    }
  }

  private claimAndDispatch(): void {
    const free = this.settings.concurrency - this.inFlight.size;
    if (free <= 0) return;
    const now = Date.now();
    const blocked = this.blockedDestinations(now);
    const started = this.startDigests(blocked, free, now);
    // Every destination busy or paced (the common case under load, woken by each accept): nothing to claim —
    // except, once per poll interval, rows of destinations no longer configured (they are claimed to be closed).
    const claimable = [...this.destinations.keys()].some((name) => !blocked.has(name)) || now - this.lastClaimAt >= (this.settings.idlePollMs ?? 1000);
    if (claimable) this.lastClaimAt = now;
    const claimed = claimable ? this.store.claim(free - started, blocked, this.settings.leaseMs, now) : [];
    const keysTaken = new Set<string>();
    for (const delivery of claimed) {
      // Two destinations may post into one channel: only one send per channel at a time.
      const key = this.destinations.get(delivery.destination)?.pacingKey ?? delivery.destination;
      if (keysTaken.has(key)) {
        this.store.release(delivery.id);
        continue;
      }
      keysTaken.add(key);
      this.track(`delivery:${delivery.id}`, delivery.destination, () => this.deliver(delivery));
    }
  }

  /** Runs `work` as one in-flight task holding `destination` busy until it settles. */
  private track(id: string, destination: string, work: () => Promise<void>): void {
    this.busyDestinations.add(destination);
    const task = work().finally(() => {
      this.inFlight.delete(id);
      this.busyDestinations.delete(destination);
      this.notify();
    });
    this.inFlight.set(id, task);
  }

  /**
   * Starts a digest for each ready destination whose backlog calls for one; returns how many started. Every
   * destination sharing the digest's channel is blocked for this tick, so the channel sees one send at a time.
   */
  private startDigests(blocked: Set<string>, free: number, now: number): number {
    if (!this.settings.digests) return 0;
    let started = 0;
    for (const [name, destination] of this.destinations) {
      if (started >= free || blocked.has(name) || (this.digestCooldown.get(name) ?? 0) > now) continue;
      const policy = this.settings.digests.get(name);
      const job = planDigest(destination, policy, this.store.digests(), this.settings.leaseMs, now);
      if (!job || !policy) continue;
      for (const [other, candidate] of this.destinations) if (candidate.pacingKey === destination.pacingKey) blocked.add(other);
      started++;
      this.track(`digest:${name}:${now}`, name, () =>
        runDigest(destination, job, {
          send: (body, existing) => this.sendPaced(destination, body, (b) => destination.sendDigest!(b, existing)),
          recordDigest: (digestId, ref, entries, ids) =>
            this.withRetries(() => this.store.digests().record(digestId, name, ref, entries, ids, Date.now()), 'digest'),
          finalizeEach: (row, outcome) =>
            this.recordWithRetry({ ...row, destination: name }, outcome, 0, ['sent as part of a digest that failed']),
          refused: (reason) => {
            // The digest body itself was refused: send these alerts singly for a while instead of looping.
            this.digestCooldown.set(name, Date.now() + policy.maxWaitMs);
            for (const row of job.rows) this.store.release(row.id);
            this.logger.warn({ destination: name, digest: true, outcome: 'digest_refused', reason: redactSecrets(reason, this.secrets) }, 'delivery attempt');
          },
          logger: this.logger,
          onDigest: (action) => this.settings.metrics?.digest(name, action),
        }),
      );
    }
    return started;
  }

  /** Destinations that must not be claimed now: in flight, sharing a channel with one in flight, or paced out. */
  private blockedDestinations(now: number): Set<string> {
    const blocked = new Set(this.busyDestinations);
    const busyKeys = this.busyKeys();
    for (const [name, destination] of this.destinations) {
      if (busyKeys.has(destination.pacingKey) || this.pacer.readyAt(destination.pacingKey, destination.pacing, now) > now) blocked.add(name);
    }
    return blocked;
  }

  /**
   * How long to sleep: until the earliest moment a destination that is not in flight has a due delivery and
   * room in its pace. Destinations in flight are skipped (their completion wakes the loop), so a paced or
   * busy backlog never turns the loop into a spin.
   */
  private sleepMs(): number {
    const now = Date.now();
    const idle = this.settings.idlePollMs ?? 1000;
    if (this.inFlight.size >= this.settings.concurrency) return idle;
    const busy = this.busyKeys();
    // Every channel busy: a completion wakes the loop, so skip the scan of the pending rows (it is the loop's
    // most expensive query when thousands are queued).
    if ([...this.destinations.values()].every((d) => busy.has(d.pacingKey))) return idle;
    let wake = now + idle;
    for (const [name, dueAt] of this.store.nextDueByDestination()) {
      const destination = this.destinations.get(name);
      if (!destination || busy.has(destination.pacingKey)) continue;
      wake = Math.min(wake, Math.max(dueAt, this.pacer.readyAt(destination.pacingKey, destination.pacing, now)));
    }
    return Math.max(0, wake - now);
  }

  private busyKeys(): Set<string | undefined> {
    return new Set([...this.busyDestinations].map((name) => this.destinations.get(name)?.pacingKey));
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = () => {
        clearTimeout(this.timer);
        this.wake = undefined;
        resolve();
      };
      this.timer = setTimeout(() => this.wake?.(), ms);
    });
  }

  /**
   * Settles on a later event-loop turn than every render handed out before it. Rendering is CPU work (tens of ms
   * per platform for an alert near the 1 MiB limit); run back to back in the turn that accepted the alert, one
   * claim's renders stalled HTTP for 150–290 ms (test/hostile.test.ts). Each render now gets its own turn, so
   * requests are served in between. (An immediate queued while immediates run waits for the next turn.)
   */
  private nextRenderTurn(): Promise<void> {
    this.renderTurn = this.renderTurn.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
    return this.renderTurn;
  }

  private async deliver(delivery: ClaimedDelivery): Promise<void> {
    await this.nextRenderTurn();
    const started = Date.now();
    const destination = this.destinations.get(delivery.destination);
    let outcome: SendOutcome;
    let warnings: string[] = [];
    const record: AttemptRecord = { ...delivery };
    if (!destination) {
      outcome = { kind: 'permanent', reason: `destination "${delivery.destination}" is no longer configured` };
    } else {
      const mentions = mentionsFor(delivery.alert, this.settings.mentions?.get(delivery.route));
      const policy = this.settings.triage?.get(delivery.route);
      const triage = this.store.triage();
      // Read at claim, before formatting: a click landing while this send is in flight leaves the message stale
      // (the editor catches it up), never marked newer than it is.
      record.renderedRevision = delivery.revision;
      const parent = this.threadParentFor(delivery, destination, policy, started);
      if (parent) record.parent = parent;
      const ctx = {
        route: delivery.route,
        deliveryKey: deliveryKey(delivery.alert.dedupKey, delivery.destination),
        ...(delivery.template ? { template: delivery.template } : {}),
        ...(mentions ? { mentions } : {}),
        ...triageContext(policy, delivery.id, record.renderedRevision, () => triage.view(delivery.alertRow, delivery.id), delivery.alert),
      };
      const send = (body: unknown) => (parent && destination.sendReply ? destination.sendReply(body, parent.ref, parent.threadRef) : destination.send(body));
      try {
        const formatted = destination.format(delivery.alert, ctx);
        warnings = formatted.warnings;
        if (warnings.some((w) => w.includes('used the built-in default'))) this.settings.metrics?.templateError(delivery.destination);
        outcome = await this.sendPaced(destination, formatted.body, send);
        if (outcome.kind === 'permanent' && outcome.bodyRejected) {
          // The platform refused this content (a template or limit we did not foresee): the minimal message
          // (title, severity, link) still gets the alert seen; the refusal stays in the warnings.
          const minimal = destination.format(delivery.alert, { ...ctx, minimal: true });
          warnings = [...warnings, `full message rejected (${outcome.reason}); sent the minimal message`];
          outcome = await this.sendPaced(destination, minimal.body, send);
        }
      } catch (error) {
        outcome = { kind: 'permanent', reason: `format_error: ${(error as Error).message}` };
      }
    }
    await this.recordWithRetry(record, outcome, Date.now() - started, warnings);
  }

  /** The open message of the same detection this delivery should reply under, when the route threads repeats. */
  private threadParentFor(delivery: ClaimedDelivery, destination: Destination, policy: TriagePolicy | undefined, now: number): ThreadParent | null {
    if (!policy?.threads || !destination.sendReply) return null;
    return this.store.triage().threadParent(delivery.destination, delivery.alert.detectionId, now - policy.threads.windowMs, delivery.alertRow);
  }

  /** One send, recorded in the channel's pace; a 429's Retry-After holds the whole channel. */
  private async sendPaced(
    destination: Destination,
    body: unknown,
    send: (body: unknown) => Promise<SendOutcome> = (b) => destination.send(b),
  ): Promise<SendOutcome> {
    // Claims are paced already; this wait matters for a second send in one attempt (the minimal fallback).
    const wait = this.pacer.readyAt(destination.pacingKey, destination.pacing) - Date.now();
    if (wait > 0 && (!this.running || wait > destination.pacing.windowMs)) {
      // A long hold (Retry-After) or a shutdown: hand the delivery back instead of blocking the drain.
      return { kind: 'retryable', reason: 'channel on hold', rateLimited: true, retryAfterMs: wait };
    }
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const outcome = await send(body);
    // Recorded when the request is over, so the platform sees the next one at least one window later.
    this.pacer.record(destination.pacingKey);
    if (outcome.kind === 'retryable' && outcome.rateLimited) {
      // No stated wait (Slack ok:false ratelimited): hold the channel for one pace window at least.
      const until = Date.now() + (outcome.retryAfterMs ?? destination.pacing.windowMs);
      // A global limit (Discord's 50 requests/s per bot) holds the send but teaches nothing about this channel.
      if (outcome.globalLimit) this.pacer.hold(destination.pacingKey, until);
      else this.pacer.rateLimited(destination.pacingKey, until, destination.pacing);
    }
    return outcome;
  }

  /**
   * Finalising must not be lost to a momentary SQLITE_BUSY: a delivered message left "pending" would be posted
   * again after its lease expires. Retries for a few seconds, then logs (the lease makes it safe, if noisy).
   */
  private async recordWithRetry(delivery: AttemptRecord, outcome: SendOutcome, durationMs: number, warnings: string[]): Promise<void> {
    await this.withRetries(() => this.record(delivery, outcome, durationMs, warnings), `delivery ${delivery.id}`);
  }

  private async withRetries<T>(write: () => T, what: string): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return write();
      } catch (error) {
        if (attempt >= 10) {
          this.logger.error({ what, err: { message: (error as Error).message } }, 'could not record outcome');
          return undefined;
        }
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }

  private record(delivery: AttemptRecord, outcome: SendOutcome, durationMs: number, warnings: string[]): void {
    const now = Date.now();
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
      this.store.markDelivered(delivery.id, outcome.ref, now, delivery.renderedRevision);
      if (delivery.parent && !outcome.notThreaded) {
        this.store.triage().recordReply(delivery.parent.id, delivery.id, outcome.threadRef ?? null);
        this.settings.messagesStale?.();
      }
      this.settings.metrics?.delivery(delivery.destination, 'delivered', undefined, (now - delivery.createdAt) / 1000);
      const thread = delivery.parent ? (outcome.notThreaded ? { threadFailed: 'could not start a thread; posted in the channel' } : { threadParent: delivery.parent.id }) : {};
      this.logger.info({ ...base, outcome: 'delivered', latencyMs: now - delivery.createdAt, ...thread }, 'delivery attempt');
      return;
    }
    const reason = redactSecrets(outcome.reason, this.secrets);
    if (outcome.kind === 'permanent') {
      this.store.markDead(delivery.id, reason, true, now);
      this.settings.metrics?.delivery(delivery.destination, 'dead', reason);
      this.logger.warn({ ...base, outcome: 'dead', reason }, 'delivery attempt');
      return;
    }
    const countsAsFailure = !outcome.rateLimited;
    const failures = countsAsFailure ? attempt : delivery.attempts;
    const tooOld = now - delivery.createdAt >= this.settings.maxAgeMs;
    if (tooOld || failures >= (this.settings.maxAttempts ?? Number.POSITIVE_INFINITY)) {
      const why = tooOld ? 'max age reached' : `${failures} attempts failed`;
      this.store.markDead(delivery.id, `${reason} (${why})`, countsAsFailure, now);
      this.settings.metrics?.delivery(delivery.destination, 'dead', reason);
      this.logger.warn({ ...base, outcome: 'dead', reason, why }, 'delivery attempt');
      return;
    }
    const delay = outcome.retryAfterMs ?? (outcome.rateLimited ? this.destinations.get(delivery.destination)?.pacing.windowMs ?? 1000 : backoffDelay(Math.max(1, failures), this.settings.backoff));
    this.store.reschedule(delivery.id, now + delay, reason, !countsAsFailure, now);
    this.settings.metrics?.delivery(delivery.destination, outcome.rateLimited ? 'rate_limited' : 'retry', reason);
    this.logger.warn({ ...base, outcome: outcome.rateLimited ? 'rate_limited' : 'retry', reason, retryInMs: delay }, 'delivery attempt');
  }
}
