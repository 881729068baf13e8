import { createHash } from 'node:crypto';
import type { Alert, JsonValue } from './alert';

/**
 * Longest string an accepted alert keeps whole, in UTF-16 code units. Above every platform limit (Slack's 40,000
 * characters of message text is the largest), so nothing a message could show is cut; and small enough that the
 * string is an ordinary heap object (a two-byte string of this length is under V8's 128 KiB large-object size).
 */
export const ALERT_STRING_MAX = 50_000;

const MARKER = '…';

/**
 * The alert as the bridge keeps it: every string over {@link ALERT_STRING_MAX} cut to it. Why at intake: each
 * 900 KB string an alert carried was copied as a large object at every step after it (the stored JSON, its bind
 * into the store, each read of it back, each render), and that garbage waits for a full GC in both threads; a
 * burst of such alerts took the bridge ~90 MB over idle (test:alone's bound is 100 MB), for text no channel shows.
 *
 * Run after the source's parser, so the de-duplication key, fingerprint and episode key are computed from the
 * payload as sent. What it leaves whole or treats apart:
 * - `labels` are kept as sent: they are the matchers of a silence, which must match the source's own alert; so is
 *   `group` (the notification's labels and external URL, shared by the alerts of one POST).
 * - Ids (alert id, detection id) longer than the bound keep their head and a hash of the whole (`…#` and 16 hex
 *   digits), so distinct ids stay distinct; a cut id would merge them.
 * - A `link` (or extra link) longer than the bound is dropped ('' / left out): a cut URL points elsewhere, and no
 *   platform accepts a button URL of that length anyway.
 * Returns the same object when nothing is over the bound (the usual case costs one walk, no copy).
 */
export function boundAlert(alert: Alert): Alert {
  if (!hasLongString(alert)) return alert;
  const bounded: Alert = {
    ...alert,
    alertId: alert.alertId === null ? null : boundId(alert.alertId),
    detectionId: boundId(alert.detectionId),
    detectionName: boundNullable(alert.detectionName),
    title: boundText(alert.title),
    description: boundNullable(alert.description),
    runbook: boundNullable(alert.runbook),
    link: alert.link.length > ALERT_STRING_MAX ? '' : alert.link,
    tags: alert.tags.map(boundText),
    createdAt: boundText(alert.createdAt),
    version: boundNullable(alert.version),
    context: boundJson(alert.context) as Alert['context'],
  };
  if (alert.annotations) bounded.annotations = boundRecord(alert.annotations);
  if (alert.linkLabel !== undefined) bounded.linkLabel = boundText(alert.linkLabel);
  if (alert.links) bounded.links = alert.links.filter((l) => l.url.length <= ALERT_STRING_MAX).map((l) => ({ ...l, label: boundText(l.label) }));
  if (alert.values) bounded.values = boundJson(alert.values) as NonNullable<Alert['values']>;
  if (alert.valueString !== undefined) bounded.valueString = boundText(alert.valueString);
  return bounded;
}

/** The first `n` code units of `s`, one fewer when the last would be half a surrogate pair. */
function head(s: string, n: number): string {
  const last = s.charCodeAt(n - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? n - 1 : n);
}

/** `s` cut to the bound with a trailing `…`. */
const boundText = (s: string): string => (s.length <= ALERT_STRING_MAX ? s : head(s, ALERT_STRING_MAX - MARKER.length) + MARKER);

const boundNullable = (s: string | null): string | null => (s === null ? null : boundText(s));

/** An id over the bound: its head, `…#` and 16 hex digits of the whole id's SHA-256 (see stored-id.ts). */
function boundId(id: string): string {
  if (id.length <= ALERT_STRING_MAX) return id;
  return `${head(id, ALERT_STRING_MAX - 18)}…#${createHash('sha256').update(id).digest('hex').slice(0, 16)}`;
}

function boundRecord(record: { [name: string]: string }): { [name: string]: string } {
  const out: { [name: string]: string } = {};
  for (const [name, value] of Object.entries(record)) out[boundText(name)] = boundText(value);
  return out;
}

/** A JSON value with every string (keys too) over the bound cut; untouched parts are shared, not copied. */
function boundJson(value: JsonValue): JsonValue {
  if (typeof value === 'string') return boundText(value);
  if (value === null || typeof value !== 'object') return value;
  if (!hasLongString(value)) return value;
  if (Array.isArray(value)) return value.map(boundJson);
  const out: { [key: string]: JsonValue } = {};
  for (const [key, inner] of Object.entries(value)) out[boundText(key)] = boundJson(inner);
  return out;
}

/** Whether any string in `value` (keys included) is over the bound. Iterative: context may nest 256 deep. */
function hasLongString(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const next = stack.pop();
    if (typeof next === 'string') {
      if (next.length > ALERT_STRING_MAX) return true;
    } else if (Array.isArray(next)) {
      for (const item of next) stack.push(item);
    } else if (next !== null && typeof next === 'object') {
      for (const [key, item] of Object.entries(next)) {
        if (key.length > ALERT_STRING_MAX) return true;
        stack.push(item);
      }
    }
  }
  return false;
}
