import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Destination, FormatContext, SendOutcome } from '../destinations/types';
import { deliveryKey } from '../domain/delivery';
import { redactSecrets } from '../observability/redact';
import { reportLoopError, type LoopErrorSink } from '../observability/loop-errors';
import { FailureBackoff, type BackoffPolicy } from './backoff';
import type { Pacer } from './pacer';
import type { DeliveryMetrics, LoopName } from '../observability/metrics';
import { settleAttempt, type AttemptRecord } from './attempt-outcome';
import { PacedSender } from './paced-sender';
import { persistOutcome } from './persist';
import { ShutdownGrace } from './shutdown-grace';
import { mentionsFor, type MentionConfig } from '../routing/mentions';
import { planDigest, type DigestPolicy } from './digest-planner';
import { runDigest } from './digest-runner';
import type { ClaimedDelivery } from './store';
import type { ChannelPace, StoreEngine, StoreOps } from './store-contract';
import type { ThreadParent } from '../triage/triage-store';
import { triageContext, triageViewNeeded, type TriagePolicy } from '../triage/policy';
import { OPEN_VIEW } from '../triage/state';
import { escalates } from '../escalation/policy';
import type { CpuBudget } from './cpu-budget';

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
  /** Routes with `defang: false`: URLs in their alerts' text stay live links. */
  defangOff?: ReadonlySet<string>;
  /** Triage buttons and thread policy per route name. */
  triage?: ReadonlyMap<string, TriagePolicy>;
  /** A posted message fell behind its state (a thread reply changed its parent's counter): wake the editor. */
  messagesStale?: () => void;
  metrics?: DeliveryMetrics;
}

/**
 * Drains the outbox: claims due deliveries (one in flight per destination), formats and sends each, and records
 * the outcome — delivered, rescheduled with backoff or Retry-After, or dead (permanent error, too many attempts,
 * too old). Every attempt is one log line.
 *
 * A failing or locked store never ends the process: every store call runs inside the loop's guard or a task's,
 * is logged and counted (`chatops_loop_errors_total`), and the loop backs off (250 ms doubling to 10 s, reset by a
 * good pass). Nothing is lost or posted twice on the way: a delivery whose pre-send reads failed is handed back
 * unsent (released before the next claim); the record of a send is retried until it is written, its destination
 * kept busy meanwhile so the expired lease is not claimed again.
 */
export class DeliveryWorker {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly busyDestinations = new Set<string>();
  /** Destinations whose digest the platform refused: their alerts go out one by one until this time. */
  private readonly digestCooldown = new Map<string, number>();
  /** Leased rows handed back unsent; released at the start of the next pass, before anything is claimed. */
  private readonly toRelease = new Set<number>();
  private readonly failures = new FailureBackoff();
  /** No claims before this time: the store failed and the loop backs off. */
  private pausedUntil = 0;
  /** No claims before this time either (`performance.now()`, so a clock step cannot stretch it): the process is over its share of a CPU limit ({@link CpuBudget}). */
  private budgetUntil = 0;
  /** That wait was served: the next pass runs whatever the share says. */
  private budgetWaited = false;
  private running = false;
  private readonly grace = new ShutdownGrace();
  private lastClaimAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  /** A notify() came while a pass ran: the pass may have looked before that work was there, so run another. */
  private woken = false;
  private loopDone: Promise<void> | undefined;
  /** The last render turn handed out (see {@link nextRenderTurn}). */
  private renderTurn: Promise<void> = Promise.resolve();
  private readonly sender: PacedSender;

  /**
   * `pacer` is the bridge's one per-channel pace, shared with the message editor (edits spend the same channel
   * budget as posts) and kept across reloads (it belongs to the channels, not to a config).
   */
  constructor(
    private readonly store: StoreEngine,
    private readonly pacer: Pacer,
    private destinations: ReadonlyMap<string, Destination>,
    private settings: WorkerSettings,
    private readonly logger: Logger,
    private secrets: readonly string[] = [],
    private readonly cpuBudget?: CpuBudget,
  ) {
    this.sender = new PacedSender(store, pacer, { running: () => this.running, failed: (error, context) => this.failed('delivery', error, context) });
  }

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
    this.woken = true;
    this.wake?.();
  }

  /**
   * Stops claiming new work and waits for in-flight sends to finish (their outcomes are recorded). A record the
   * store refuses is retried for up to `graceMs` more, then given up with an error naming the delivery.
   */
  async stop(graceMs = 0): Promise<void> {
    this.grace.begin(graceMs);
    this.running = false;
    this.notify();
    await this.loopDone;
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      this.woken = false;
      let sleepMs = this.settings.idlePollMs ?? 1000;
      // Over the share of a CPU limit: no new work for up to a period (sends in flight go on), then one pass whatever
      // the share says, so deliveries still move while webhooks keep the process at its limit.
      const overBudgetMs = performance.now() < this.budgetUntil || this.budgetWaited ? 0 : (this.cpuBudget?.waitMs() ?? 0);
      if (overBudgetMs > 0) this.budgetUntil = performance.now() + overBudgetMs;
      if (performance.now() < this.budgetUntil) {
        sleepMs = Math.ceil(this.budgetUntil - performance.now()); // woken early (an accept, a completion): the wait goes on
        this.budgetWaited = true;
      } else if (Date.now() >= this.pausedUntil) {
        this.budgetWaited = false;
        try {
          // Each store call waits only briefly for a lock held elsewhere: this pass then fails fast instead of freezing HTTP.
          await this.claimAndDispatch();
          sleepMs = await this.sleepMs();
          this.failures.succeeded();
        } catch (error) {
          this.failed('delivery', error);
          sleepMs = 0; // the backoff below
        }
      }
      await this.sleep(Math.max(sleepMs, this.pausedUntil - Date.now()));
    }
  }

  /** Reports a failure of the loop or of a task, and pauses claiming for the next backoff step. */
  private failed(loop: LoopName, error: unknown, context: Record<string, unknown> = {}): void {
    const waitMs = this.failures.failed();
    this.pausedUntil = Date.now() + waitMs;
    reportLoopError(this.sink, loop, error, waitMs, context);
  }

  private get sink(): LoopErrorSink {
    return { logger: this.logger, ...(this.settings.metrics ? { metrics: this.settings.metrics } : {}), secrets: () => this.secrets };
  }

  private async claimAndDispatch(): Promise<void> {
    // Rows handed back first: one of them is the head of its destination's queue, which must go out in order.
    for (const id of this.toRelease) {
      await this.store.release(id);
      this.toRelease.delete(id);
    }
    const free = this.settings.concurrency - this.inFlight.size;
    if (free <= 0) return;
    const now = Date.now();
    const blocked = this.blockedDestinations(now);
    const started = await this.startDigests(blocked, free, now);
    // Every destination busy or paced (the common case under load, woken by each accept): nothing to claim —
    // except, once per poll interval, rows of destinations no longer configured (they are claimed to be closed).
    const claimable = [...this.destinations.keys()].some((name) => !blocked.has(name)) || now - this.lastClaimAt >= (this.settings.idlePollMs ?? 1000);
    if (claimable) this.lastClaimAt = now;
    const pacedUntil = new Map<string, number>();
    const claimed = claimable ? await this.store.claim(free - started, blocked, this.settings.leaseMs, now, this.channelPaces(), pacedUntil) : [];
    // Channels whose pace, shared with other processes, had no slot: wait here for it (sleepMs and the next
    // claim read this process's pacer) rather than lease and hand back their rows on every pass until it frees.
    for (const [key, until] of pacedUntil) this.pacer.hold(key, until);
    const keysTaken = new Set<string>();
    const surplus: number[] = [];
    for (const delivery of claimed) {
      // Two destinations may post into one channel: only one send per channel at a time.
      const key = this.destinations.get(delivery.destination)?.pacingKey ?? delivery.destination;
      if (keysTaken.has(key)) {
        surplus.push(delivery.id);
        continue;
      }
      keysTaken.add(key);
      this.track(`delivery:${delivery.id}`, delivery.destination, 'delivery', () => this.deliver(delivery, now));
    }
    // Released after every claimed row is dispatched: if this write fails, nothing claimed is left stranded.
    for (const id of surplus) this.toRelease.add(id);
    for (const id of surplus) {
      await this.store.release(id);
      this.toRelease.delete(id);
    }
  }

  /**
   * Runs `work` as one in-flight task holding `destination` busy until it settles. A task that throws is reported
   * like a loop failure (it cannot take the process down as an unhandled rejection).
   */
  private track(id: string, destination: string, loop: LoopName, work: () => Promise<void>): void {
    this.busyDestinations.add(destination);
    const task = work().catch((error: unknown) => this.failed(loop, error, { destination }));
    void task.finally(() => {
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
  private async startDigests(blocked: Set<string>, free: number, now: number): Promise<number> {
    if (!this.settings.digests) return 0;
    let started = 0;
    for (const [name, destination] of this.destinations) {
      if (started >= free || blocked.has(name) || (this.digestCooldown.get(name) ?? 0) > now) continue;
      const policy = this.settings.digests.get(name);
      const job = await planDigest(destination, policy, this.store.digests(), this.settings.leaseMs, now);
      if (!job || !policy) continue;
      for (const [other, candidate] of this.destinations) if (candidate.pacingKey === destination.pacingKey) blocked.add(other);
      started++;
      this.track(`digest:${name}:${now}`, name, 'digest', () =>
        runDigest(destination, job, {
          send: (body, existing) => this.sender.send(destination, body, (b) => destination.sendDigest!(b, existing)),
          recordDigest: (digestId, ref, summary, ids) =>
            this.persist('digest', (tx) => tx.digests().record(digestId, name, ref, summary, ids, Date.now()), { destination: name, digest: true }),
          finalizeEach: (row, outcome) => this.record({ ...row, destination: name }, outcome, 0, ['sent as part of a digest that failed'], 'digest'),
          refused: (reason) => {
            // The digest body itself was refused: send these alerts singly for a while instead of looping. Nothing
            // was posted, so the rows are handed back (by the loop, which also copes with a busy store).
            this.digestCooldown.set(name, Date.now() + policy.maxWaitMs);
            for (const row of job.rows) this.toRelease.add(row.id);
            this.notify();
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
      if (busyKeys.has(destination.pacingKey) || this.pacer.readyAt(destination.pacingKey, destination.pacing, now, 'post') > now) blocked.add(name);
    }
    return blocked;
  }

  /**
   * How long to sleep: until the earliest moment a destination that is not in flight has a due delivery and
   * room in its pace. Destinations in flight are skipped (their completion wakes the loop), so a paced or
   * busy backlog never turns the loop into a spin.
   */
  private async sleepMs(): Promise<number> {
    const now = Date.now();
    const idle = this.settings.idlePollMs ?? 1000;
    if (this.inFlight.size >= this.settings.concurrency) return idle;
    const busy = this.busyKeys();
    // Every channel busy: a completion wakes the loop, so skip the scan of the pending rows (it is the loop's
    // most expensive query when thousands are queued).
    if ([...this.destinations.values()].every((d) => busy.has(d.pacingKey))) return idle;
    let wake = now + idle;
    for (const [name, dueAt] of await this.store.nextDueByDestination(now)) {
      const destination = this.destinations.get(name);
      if (!destination || busy.has(destination.pacingKey)) continue;
      const readyAt = this.pacer.readyAt(destination.pacingKey, destination.pacing, now, 'post');
      // Due posts held back by the pace: the editor yields the channel's next slot to them (and the reverse).
      if (dueAt <= now && readyAt > now) this.pacer.want(destination.pacingKey, 'post', now);
      wake = Math.min(wake, Math.max(dueAt, readyAt));
    }
    return Math.max(0, wake - now);
  }

  private busyKeys(): Set<string | undefined> {
    return new Set([...this.busyDestinations].map((name) => this.destinations.get(name)?.pacingKey));
  }

  private sleep(ms: number): Promise<void> {
    // Woken during the pass (another process's accept, announced over the store, can land at any moment): look again
    // now rather than after the idle poll. The failure backoff is kept: a store that fails is not asked again at once.
    if (!this.running || (this.woken && Date.now() >= this.pausedUntil && performance.now() >= this.budgetUntil)) return Promise.resolve();
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

  /** Formats and sends one claimed delivery; `claimedAt` is when the claim took its slot of the shared pace. */
  private async deliver(delivery: ClaimedDelivery, claimedAt: number): Promise<void> {
    await this.nextRenderTurn();
    const started = Date.now();
    const destination = this.destinations.get(delivery.destination);
    let outcome: SendOutcome;
    let warnings: string[] = [];
    const record: AttemptRecord = { ...delivery };
    if (!destination) {
      outcome = { kind: 'permanent', reason: `destination "${delivery.destination}" is no longer configured` };
    } else {
      let prepared: { ctx: FormatContext; parent: ThreadParent | null; escalateAfterMs?: number };
      try {
        prepared = await this.prepare(delivery, destination, started);
      } catch (error) {
        // The store could not answer the reads the message depends on: nothing was sent, so the delivery is handed
        // back as it was (no attempt counted) and the loop backs off.
        this.toRelease.add(delivery.id);
        this.failed('delivery', error, { deliveryId: delivery.id, destination: delivery.destination });
        await this.sender.endSlot(destination, claimedAt);
        return;
      }
      const { ctx, parent, escalateAfterMs } = prepared;
      // Read at claim, before formatting: a click landing while this send is in flight leaves the message stale
      // (the editor catches it up), never marked newer than it is.
      record.renderedRevision = delivery.revision;
      if (parent) record.parent = parent;
      if (escalateAfterMs !== undefined) record.escalateAfterMs = escalateAfterMs;
      const send = (body: unknown) => (parent && destination.sendReply ? destination.sendReply(body, parent.ref, parent.threadRef) : destination.send(body));
      let slotOpen = true;
      try {
        const formatted = destination.format(delivery.alert, ctx);
        warnings = formatted.warnings;
        if (warnings.some((w) => w.includes('used the built-in default'))) this.settings.metrics?.templateError(delivery.destination);
        slotOpen = false; // the sender ends it, whatever the send comes to
        outcome = await this.sender.send(destination, formatted.body, send, claimedAt);
        if (outcome.kind === 'permanent' && outcome.bodyRejected) {
          // The platform refused this content (a template or limit we did not foresee): the minimal message
          // (title, severity, link) still gets the alert seen; the refusal stays in the warnings.
          const minimal = destination.format(delivery.alert, { ...ctx, minimal: true });
          warnings = [...warnings, `full message rejected (${outcome.reason}); sent the minimal message`];
          outcome = await this.sender.send(destination, minimal.body, send);
        }
      } catch (error) {
        outcome = { kind: 'permanent', reason: `format_error: ${(error as Error).message}` };
      }
      // Nothing was sent (the template failed): the claim's slot of the shared pace is free again.
      if (slotOpen) await this.sender.endSlot(destination, claimedAt);
    }
    await this.record(record, outcome, Date.now() - started, warnings, 'delivery');
  }

  /**
   * What formatting needs from the store (thread parent, triage state): read before anything is sent. A message that
   * escalates shows when its first reminder is due (`escalate.after` from now, give or take the send) and has it
   * scheduled with its record (`escalateAfterMs` from then).
   */
  private async prepare(delivery: ClaimedDelivery, destination: Destination, now: number): Promise<{ ctx: FormatContext; parent: ThreadParent | null; escalateAfterMs?: number }> {
    const mentions = mentionsFor(delivery.alert, this.settings.mentions?.get(delivery.route));
    const policy = this.settings.triage?.get(delivery.route);
    const parent = await this.threadParentFor(delivery, destination, policy, now);
    const view = triageViewNeeded(policy, delivery.revision) ? await this.store.triage().view(delivery.alertRow, delivery.id) : OPEN_VIEW;
    // A repeat posted in a thread does not escalate on its own: the thread's first message does.
    const escalate = policy?.escalate;
    const escalateAfterMs = !parent && view.status === 'open' && destination.formatReminder && escalates(escalate, delivery.alert, destination.type) ? escalate.after : undefined;
    const ctx: FormatContext = {
      route: delivery.route,
      deliveryKey: deliveryKey(delivery.alert.dedupKey, delivery.destination),
      ...(delivery.template ? { template: delivery.template } : {}),
      ...(mentions ? { mentions } : {}),
      ...(this.settings.defangOff?.has(delivery.route) ? { defang: false } : {}),
      ...triageContext(policy, delivery.id, delivery.revision, () => view, delivery.alert, escalateAfterMs === undefined ? undefined : now + escalateAfterMs),
    };
    return { ctx, parent, ...(escalateAfterMs !== undefined ? { escalateAfterMs } : {}) };
  }

  /** The open message of the same detection this delivery should reply under, when the route threads repeats. */
  private async threadParentFor(delivery: ClaimedDelivery, destination: Destination, policy: TriagePolicy | undefined, now: number): Promise<ThreadParent | null> {
    if (!policy?.threads || !destination.sendReply) return null;
    const { alert } = delivery;
    // A resolution posted as a message replies under its own episode's firing message (in its thread or post).
    const episode = alert.status === 'resolved' && alert.episodeKey ? { source: alert.source, key: alert.episodeKey } : undefined;
    return this.store.triage().threadParent(delivery.destination, alert.detectionId, now - policy.threads.windowMs, delivery.alertRow, episode);
  }

  /** Each destination's channel pace, for a store shared by several processes to keep them to it together. */
  private channelPaces(): Map<string, ChannelPace> {
    return new Map([...this.destinations].map(([name, d]) => [name, { key: d.pacingKey, ...d.pacing }]));
  }

  /** Records one attempt's outcome (retried until written, see {@link persist}), then its metric and log line. */
  private async record(delivery: AttemptRecord, outcome: SendOutcome, durationMs: number, warnings: string[], loop: LoopName): Promise<void> {
    const now = Date.now();
    const settled = settleAttempt(
      { settings: this.settings, logger: this.logger, secrets: this.secrets, paceWindowMs: this.destinations.get(delivery.destination)?.pacing.windowMs ?? 1000 },
      delivery,
      outcome,
      durationMs,
      warnings,
      now,
    );
    if (await this.persist(loop, (store) => store.recordAttempt(settled.write, now), { deliveryId: delivery.id, destination: delivery.destination }, true)) settled.written();
  }

  /**
   * Writes the record of a send that happened, retrying until it is written: the task (and so its destination)
   * stays busy meanwhile, so the row is not claimed again after its lease expires, and a send is never repeated
   * because its record failed. Only a shutdown gives up, with an error naming what may be sent again.
   */
  private persist(loop: LoopName, write: (tx: StoreOps) => Promise<unknown>, context: Record<string, unknown>, oneOperation = false): Promise<boolean> {
    return persistOutcome(this.store, write, {
      oneOperation,
      failed: (error, retryInMs) => reportLoopError(this.sink, loop, error, retryInMs, context),
      giveUpAt: () => this.grace.giveUpAt,
      gaveUp: () => this.logger.error({ loop, ...context }, 'shutting down with an outcome not recorded: it may be sent again after a restart'),
    });
  }
}
