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
