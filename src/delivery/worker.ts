import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Destination, SendOutcome } from '../destinations/types';
import { redactSecrets } from '../observability/redact';
import { backoffDelay, type BackoffPolicy } from './backoff';
import type { ClaimedDelivery, OutboxStore } from './store';

export interface WorkerSettings {
  concurrency: number;
  maxAttempts: number;
  maxAgeMs: number;
  leaseMs: number;
  backoff: BackoffPolicy;
  /** Longest idle sleep between polls; new accepts wake the worker at once via notify(). */
  idlePollMs?: number;
}

/**
 * Drains the outbox: claims due deliveries (one in flight per destination), formats and sends each, and records
 * the outcome — delivered, rescheduled with backoff or Retry-After, or dead (permanent error, too many attempts,
 * too old). Never throws out of its loop; every attempt is one log line.
 */
export class DeliveryWorker {
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly busyDestinations = new Set<string>();
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;

  constructor(
    private readonly store: OutboxStore,
    private readonly destinations: ReadonlyMap<string, Destination>,
    private readonly settings: WorkerSettings,
    private readonly logger: Logger,
    private readonly secrets: readonly string[] = [],
  ) {}

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
      try {
        this.claimAndDispatch();
      } catch (error) {
        this.logger.error({ err: { message: redactSecrets(String((error as Error).message), this.secrets) } }, 'outbox claim failed');
      }
      await this.sleep(this.sleepMs());
    }
  }

  private claimAndDispatch(): void {
    const free = this.settings.concurrency - this.inFlight.size;
    if (free <= 0) return;
    const claimed = this.store.claim(free, this.busyDestinations, this.settings.leaseMs);
    for (const delivery of claimed) {
      this.busyDestinations.add(delivery.destination);
      const task = this.deliver(delivery).finally(() => {
        this.inFlight.delete(delivery.id);
        this.busyDestinations.delete(delivery.destination);
        this.notify();
      });
      this.inFlight.set(delivery.id, task);
    }
  }

  private sleepMs(): number {
    const idle = this.settings.idlePollMs ?? 1000;
    const next = this.store.nextDueAt();
    if (next === null) return idle;
    return Math.max(0, Math.min(idle, next - Date.now()));
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

  private async deliver(delivery: ClaimedDelivery): Promise<void> {
    const started = Date.now();
    const destination = this.destinations.get(delivery.destination);
    let outcome: SendOutcome;
    let warnings: string[] = [];
    if (!destination) {
      outcome = { kind: 'permanent', reason: `destination "${delivery.destination}" is no longer configured` };
    } else {
      try {
        const formatted = destination.format(delivery.alert, {
          route: delivery.route,
          deliveryKey: deliveryKey(delivery.alert.dedupKey, delivery.destination),
          ...(delivery.template ? { template: delivery.template } : {}),
        });
        warnings = formatted.warnings;
        outcome = await destination.send(formatted.body);
      } catch (error) {
        outcome = { kind: 'permanent', reason: `format_error: ${(error as Error).message}` };
      }
    }
    this.record(delivery, outcome, Date.now() - started, warnings);
  }

  private record(delivery: ClaimedDelivery, outcome: SendOutcome, durationMs: number, warnings: string[]): void {
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
      this.store.markDelivered(delivery.id, outcome.ref, now);
      this.logger.info({ ...base, outcome: 'delivered', latencyMs: now - delivery.createdAt }, 'delivery attempt');
      return;
    }
    const reason = redactSecrets(outcome.reason, this.secrets);
    if (outcome.kind === 'permanent') {
      this.store.markDead(delivery.id, reason, true, now);
      this.logger.warn({ ...base, outcome: 'dead', reason }, 'delivery attempt');
      return;
    }
    const countsAsFailure = !outcome.rateLimited;
    const failures = countsAsFailure ? attempt : delivery.attempts;
    const tooOld = now - delivery.createdAt >= this.settings.maxAgeMs;
    if (tooOld || failures >= this.settings.maxAttempts) {
      const why = tooOld ? 'max age reached' : `${failures} attempts failed`;
      this.store.markDead(delivery.id, `${reason} (${why})`, countsAsFailure, now);
      this.logger.warn({ ...base, outcome: 'dead', reason, why }, 'delivery attempt');
      return;
    }
    const delay = outcome.retryAfterMs ?? backoffDelay(Math.max(1, failures), this.settings.backoff);
    this.store.reschedule(delivery.id, now + delay, reason, !countsAsFailure, now);
    this.logger.warn({ ...base, outcome: outcome.rateLimited ? 'rate_limited' : 'retry', reason, retryInMs: delay }, 'delivery attempt');
  }
}

/** Stable key of one (source event, destination) pair: the Discord nonce and any future idempotency key. */
export function deliveryKey(dedupKey: string, destination: string): string {
  // Discord nonces are at most 25 characters; 25 hex chars (100 bits) of SHA-256 are unique enough.
  return createHash('sha256').update(`${dedupKey}\u0000${destination}`).digest('hex').slice(0, 25);
}
