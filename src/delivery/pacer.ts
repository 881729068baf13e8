import type { PacingPolicy } from '../domain/delivery';

/** How long a channel stays smoothed after its last 429: long enough to cover a burst, short enough to recover. */
const SMOOTHING_MS = 10 * 60_000;

/**
 * Per-channel send pacing (sliding window) plus rate-limit holds from the platform's Retry-After. Keys are
 * channels, not destination names, so two destinations posting into one channel share its budget. Pure
 * bookkeeping: the worker asks when a key is ready and records each send; nothing here sleeps.
 *
 * A 429 means the channel cannot take the policy's bursts (another poster shares it, or the platform holds it to
 * an even rate, and without X-RateLimit headers nothing says so beforehand). After one, the channel is *smoothed*
 * for {@link SMOOTHING_MS}: sends are spaced evenly, `windowMs / limit` apart, instead of in bursts — the same
 * average rate, so a one-off 429 costs no throughput, and a platform that allows 5 per 5 s, or 1 per second, is not
 * refused again. (Learning a slower rate from the Retry-After was tried: a random 429 then slowed a healthy channel
 * below its traffic, and the soak's queue never drained.)
 */
export class Pacer {
  private readonly sends = new Map<string, number[]>();
  private readonly holds = new Map<string, number>();
  private readonly smoothing = new Map<string, { gapMs: number; until: number }>();

  /** Earliest epoch ms at which one more send to `key` stays within `policy` and any hold. */
  readyAt(key: string, policy: PacingPolicy, now = Date.now()): number {
    const hold = this.holds.get(key) ?? 0;
    const recent = this.prune(key, policy, now);
    const windowFree = recent.length < policy.limit ? now : recent[recent.length - policy.limit]! + policy.windowMs;
    const smooth = this.smoothing.get(key);
    let evenFree = now;
    if (smooth && smooth.until <= now) this.smoothing.delete(key);
    else if (smooth && recent.length > 0) evenFree = recent[recent.length - 1]! + smooth.gapMs;
    return Math.max(now, hold, windowFree, evenFree);
  }

  /** Records a send (a request that reached, or may have reached, the platform). */
  record(key: string, now = Date.now()): void {
    const list = this.sends.get(key) ?? [];
    list.push(now);
    this.sends.set(key, list);
  }

  /** Holds every send to `key` until `until` (a 429's Retry-After applies to the channel, not one message). */
  hold(key: string, until: number): void {
    if (until > (this.holds.get(key) ?? 0)) this.holds.set(key, until);
  }

  /**
   * A send to `key` was refused by the channel's rate limit, to be retried no earlier than `until`: holds the
   * channel and smooths it. Call right after {@link record} of the refused send.
   */
  rateLimited(key: string, until: number, policy: PacingPolicy, now = Date.now()): void {
    this.hold(key, until);
    // The refused request used none of the channel's budget: forget it, so only sends that went through pace.
    this.sends.get(key)?.pop();
    this.smoothing.set(key, { gapMs: policy.windowMs / policy.limit, until: now + SMOOTHING_MS });
  }

  private prune(key: string, policy: PacingPolicy, now: number): number[] {
    const list = this.sends.get(key);
    if (!list) return [];
    const keepFrom = list.findIndex((at) => at > now - policy.windowMs);
    const kept = keepFrom === -1 ? [] : list.slice(Math.max(keepFrom, list.length - policy.limit));
    if (kept.length === 0) this.sends.delete(key);
    else this.sends.set(key, kept);
    const hold = this.holds.get(key);
    if (hold !== undefined && hold <= now) this.holds.delete(key);
    return kept;
  }
}
