export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
}

/**
 * Delay before retry number `attempt` (1-based): exponential with "equal jitter" (half fixed, half random),
 * capped at maxMs, so retries of many alerts after one outage spread out instead of stampeding.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponential = policy.initialMs * Math.pow(policy.factor, Math.max(0, attempt - 1));
  const capped = Math.min(policy.maxMs, exponential);
  return Math.round(capped / 2 + (capped / 2) * random());
}

/**
 * How long a background loop waits after consecutive failures (a locked or failing store): doubling from
 * `initialMs` up to `maxMs`, so an outage is retried often at first and then without flooding the log; one success
 * resets it. No jitter: there is one loop of each kind per process.
 */
export class FailureBackoff {
  private failures = 0;

  constructor(
    private readonly initialMs = 250,
    private readonly maxMs = 10_000,
  ) {}

  /** Records a failure; returns how long to wait before the next try. */
  failed(): number {
    this.failures++;
    return Math.min(this.maxMs, this.initialMs * 2 ** (this.failures - 1));
  }

  succeeded(): void {
    this.failures = 0;
  }

  /** Failures since the last success. */
  get consecutive(): number {
    return this.failures;
  }
}
