import type { Severity } from '../domain/alert';

/** Display names of the sources (messages, link labels, "resolved in …"). */
export const SOURCE_LABELS: Record<string, string> = { panther: 'Panther', alertmanager: 'Alertmanager', grafana: 'Grafana' };

/** Panther's own UI colours per severity (outputs/slack.go), so the message matches what analysts know. */
export const SEVERITY_COLOR: Record<Severity, string> = {
  CRITICAL: '#425a70',
  HIGH: '#cb2e2e',
  MEDIUM: '#d9822b',
  LOW: '#f7d154',
  INFO: '#47b881',
};

export const SEVERITY_EMOJI: Record<Severity, string> = {
  CRITICAL: '🚨',
  HIGH: '🔴',
  MEDIUM: '🟠',
  LOW: '🟡',
  INFO: '🔵',
};

export const SEVERITY_WORD: Record<Severity, string> = {
  CRITICAL: 'Critical',
  HIGH: 'High',
  MEDIUM: 'Medium',
  LOW: 'Low',
  INFO: 'Info',
};

const TYPE_LABELS: Record<string, string> = {
  RULE: 'Rule match',
  RULE_ERROR: 'Rule error',
  POLICY: 'Policy failure',
  SCHEDULED_RULE: 'Scheduled rule match',
  SCHEDULED_RULE_ERROR: 'Scheduled rule error',
  CORRELATION_RULE: 'Correlation rule match',
  CORRELATION_RULE_ERROR: 'Correlation rule error',
  SYSTEM_ERROR: 'System error',
};

/** Human label for an alert type; unknown upper-snake types render generically ("NEW_TYPE" → "New type"). */
export function typeLabel(type: string): string {
  const known = TYPE_LABELS[type];
  if (known) return known;
  const words = type.toLowerCase().split('_').filter(Boolean).join(' ');
  return words === '' ? type : words[0]!.toUpperCase() + words.slice(1);
}

/**
 * Formats an epoch-ms instant as `2024-01-02 03:04:05 UTC` (or in `timeZone`). Deterministic: `render` must
 * print exactly what `serve` sends, so nothing here depends on the current time.
 */
export function formatInstant(epochMs: number, timeZone = 'UTC'): string {
  const date = new Date(epochMs);
  // UTC (every default template's zone) written from the date's own fields: formatToParts costs about 30 µs a call,
  // and a message formats one or two dates. Same text as Intl's for years 1000–9999 (test/templates.test.ts).
  const year = date.getUTCFullYear();
  if (timeZone === 'UTC' && year >= 1000 && year <= 9999) {
    return `${year}-${two(date.getUTCMonth() + 1)}-${two(date.getUTCDate())} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} UTC`;
  }
  const parts = dateFormatter(timeZone).formatToParts(date);
  const get = (type: string) => parts.find((part) => part.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')} ${get('timeZoneName')}`;
}

const two = (n: number) => (n < 10 ? `0${n}` : String(n));

/** Building an Intl.DateTimeFormat costs far more than using one: one per time zone, reused. */
const formatters = new Map<string, Intl.DateTimeFormat>();
function dateFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter) return formatter;
  formatter = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  });
  formatters.set(timeZone, formatter);
  return formatter;
}
