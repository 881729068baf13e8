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
  /**
   * Absolute http(s) URL back to the alert in the source UI; '' when a label-based source sent none usable (a
   * relative generatorURL without an externalURL), and templates then show no button.
   */
  link: string;
  tags: string[];
  /** ISO-8601 timestamp exactly as sent (keeps the source's precision and offset). */
  createdAt: string;
  /** Epoch milliseconds of `createdAt`. */
  createdAtMs: number;
  version: string | null;
  /** Detection-specific facts (Panther `alertContext`; Alertmanager/Grafana labels and values); {} when absent. */
  context: { [key: string]: JsonValue };

  // ---- Label-based sources (Alertmanager, Grafana); absent for Panther ------------------------------------

  /** `firing` or `resolved` as the source said; absent for sources without a lifecycle (Panther). */
  status?: AlertStatus;
  /**
   * Identity of one firing episode (source fingerprint + startsAt): a resolved alert edits the messages of the
   * firing alert with the same key. Absent for sources without a lifecycle.
   */
  episodeKey?: string;
  /** The source's label fingerprint (Alertmanager `fingerprint`, or derived from the labels for old senders). */
  fingerprint?: string;
  /** When the episode ended (resolved alerts only): as sent, and as epoch ms. */
  endsAt?: string;
  endsAtMs?: number;
  labels?: { [name: string]: string };
  annotations?: { [name: string]: string };
  /** Label for the `link` button ("Generator", "Alertmanager"); templates default to "View in <source>". */
  linkLabel?: string;
  /** More link buttons after link and runbook (Grafana dashboard, panel, silence …); only absolute http(s) URLs. */
  links?: AlertLink[];
  /** Grafana: query results that fired the rule (`values`; null from older versions is {}), and `valueString`. */
  values?: { [refId: string]: JsonValue };
  valueString?: string;
  /** The notification the alert came in (receiver, group labels, external URL …), for templates. */
  group?: AlertGroup;
}

export type AlertStatus = 'firing' | 'resolved';

/** One extra link button of an alert. */
export interface AlertLink {
  label: string;
  url: string;
}

/** Group-level data of an Alertmanager/Grafana notification, shared by every alert it carried. */
export interface AlertGroup {
  receiver: string;
  status: string;
  groupKey: string;
  groupLabels: { [name: string]: string };
  commonLabels: { [name: string]: string };
  commonAnnotations: { [name: string]: string };
  externalURL: string;
  /** Grafana organisation id; absent for Alertmanager. */
  orgId?: number;
  /** Alertmanager ≥0.32 `notification_reason`, when sent. */
  notificationReason?: string;
  truncatedAlerts: number;
}

/** Every absolute URL an alert links to (link, runbook, extra links): the hosts templates may link to. */
export function alertUrls(alert: Pick<Alert, 'link' | 'runbook' | 'links'>): string[] {
  return [alert.link, alert.runbook ?? '', ...(alert.links ?? []).map((l) => l.url)].filter((u) => u !== '');
}
