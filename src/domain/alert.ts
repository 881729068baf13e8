/**
 * The one alert type every source adapter produces and everything downstream consumes.
 * Nothing after the source adapter knows vendor field names.
 */

/** Severities in ascending order; the array index is the rank. */
export const SEVERITIES = ['INFO', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Rank of a severity: INFO 0 … CRITICAL 4. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** True when `severity` is at least `min` in the INFO < LOW < MEDIUM < HIGH < CRITICAL order. */
export function severityAtLeast(severity: Severity, min: Severity): boolean {
  return severityRank(severity) >= severityRank(min);
}

export function isSeverity(value: unknown): value is Severity {
  return typeof value === 'string' && (SEVERITIES as readonly string[]).includes(value);
}

/** A JSON value as it arrives in a payload (alertContext values, raw payloads). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface Alert {
  /** Which adapter produced it, e.g. "panther". */
  source: string;
  /**
   * Key identifying one delivery of one source event: retries of the same event share it, a re-send or a new
   * test alert does not. Used for de-duplication across restarts.
   */
  dedupKey: string;
  /** The source's alert id (Panther `alertId`), or null when the source sent none. */
  alertId: string | null;
  /** Detection id (Panther `id`, e.g. "AWS.CloudTrail.RootLogin"). */
  detectionId: string;
  /** Human detection name (Panther `name`), or null. */
  detectionName: string | null;
  severity: Severity;
  /** Upper-snake alert type, e.g. RULE, POLICY, RULE_ERROR; unknown types are kept as sent. */
  type: string;
  title: string;
  description: string | null;
  /** Runbook text or URL, or null when empty. */
  runbook: string | null;
  /** Absolute http(s) URL back to the alert in the source UI. */
  link: string;
  tags: string[];
  /** ISO-8601 timestamp exactly as sent (keeps the source's precision and offset). */
  createdAt: string;
  /** Epoch milliseconds of `createdAt`. */
  createdAtMs: number;
  version: string | null;
  /** Detection-specific facts (Panther `alertContext`); {} when absent. */
  context: { [key: string]: JsonValue };
}
