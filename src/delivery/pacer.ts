/** At most `limit` sends per `windowMs` to one channel. */
export interface PacingPolicy {
  limit: number;
  windowMs: number;
}

/**
 * Per-channel send pacing (sliding window) plus rate-limit holds from the platform's Retry-After. Keys are
 * channels, not destination names, so two destinations posting into one channel share its budget. Pure
 * bookkeeping: the worker asks when a key is ready and records each send; nothing here sleeps.
 */
export class Pacer {
  private readonly sends = new Map<string, number[]>();
  private readonly holds = new Map<string, number>();

  /** Earliest epoch ms at which one more send to `key` stays within `policy` and any hold. */
  readyAt(key: string, policy: PacingPolicy, now = Date.now()): number {
    const hold = this.holds.get(key) ?? 0;
    const recent = this.prune(key, policy, now);
    const windowFree = recent.length < policy.limit ? now : recent[recent.length - policy.limit]! + policy.windowMs;
    return Math.max(now, hold, windowFree);
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
