/**
 * Freshness and replay checks shared by the Slack and Discord interaction endpoints. Both platforms sign
 * `timestamp + body`; a captured request therefore stays valid for as long as we accept its timestamp, so the
 * window is symmetric (a clock far in the future is as suspicious as an old one) and every signature that was
 * accepted once is remembered until it would be stale anyway.
 */
export const MAX_SKEW_SECONDS = 300;

/** True when a unix-seconds timestamp header is an integer within ±5 minutes of now. */
export function isFresh(header: string | undefined, nowMs = Date.now()): boolean {
  if (!header || !/^\d{1,12}$/.test(header)) return false;
  return Math.abs(Math.floor(nowMs / 1000) - Number(header)) <= MAX_SKEW_SECONDS;
}

/** Signatures seen in the last window (bounded: oldest evicted first). */
export class ReplayCache {
  private readonly seen = new Map<string, number>();

  constructor(private readonly maxEntries = 100_000) {}

  has(signature: string, nowMs = Date.now()): boolean {
    const until = this.seen.get(signature);
    return until !== undefined && until > nowMs;
  }

  remember(signature: string, nowMs = Date.now()): void {
    // Stale requests are refused by isFresh, so keeping a signature for twice the window is enough.
    this.seen.set(signature, nowMs + 2 * MAX_SKEW_SECONDS * 1000);
    for (const [key, until] of this.seen) {
      if (this.seen.size <= this.maxEntries && until > nowMs) break;
      this.seen.delete(key);
    }
  }
}
