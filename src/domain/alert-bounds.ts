import type { Alert, AlertGroup, AlertLink, JsonValue } from './alert';
import { storedId, wholeHead } from './stored-id';

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
 * - `labels` are kept as sent: they are the matchers of a silence, which must match the source's own alert.
 * - Ids (alert id, detection id, fingerprint) longer than the bound become their stored form ({@link storedId}: a
 *   head, `…#` and 16 hex digits of the whole id's SHA-256), so distinct ids stay distinct (a cut id would merge
 *   them) and a look-up by the id as the source sent it (the ledger's `--alert`) still finds the alert.
 * - A URL (`link`, an extra link, the group's `externalURL`) longer than the bound is dropped ('' / left out): a
 *   cut URL points elsewhere, and no platform accepts a button URL of that length anyway.
 * Returns the same object when nothing is over the bound (the usual case: one walk, no copy). Every part is walked
 * once whatever the nesting (copy-on-write), so the cost is linear in the alert's size.
 */
export function boundAlert(alert: Alert): Alert {
  let out: Alert | undefined;
  const put = <K extends keyof Alert>(key: K, value: Alert[K]): void => {
    if (value !== alert[key]) (out ??= { ...alert })[key] = value;
  };
  put('alertId', alert.alertId === null ? null : boundId(alert.alertId));
  put('detectionId', boundId(alert.detectionId));
  put('detectionName', boundNullable(alert.detectionName));
  put('type', boundText(alert.type));
  put('title', boundText(alert.title));
  put('description', boundNullable(alert.description));
  put('runbook', boundNullable(alert.runbook));
  put('link', boundUrl(alert.link));
  put('tags', boundJson(alert.tags) as string[]);
  put('createdAt', boundText(alert.createdAt));
  put('version', boundNullable(alert.version));
  put('context', boundJson(alert.context) as Alert['context']);
  if (alert.fingerprint !== undefined) put('fingerprint', boundId(alert.fingerprint));
  if (alert.endsAt !== undefined) put('endsAt', boundText(alert.endsAt));
  if (alert.annotations) put('annotations', boundJson(alert.annotations) as Alert['annotations']);
  if (alert.linkLabel !== undefined) put('linkLabel', boundText(alert.linkLabel));
  if (alert.links) put('links', boundLinks(alert.links));
  if (alert.values) put('values', boundJson(alert.values) as Alert['values']);
  if (alert.valueString !== undefined) put('valueString', boundText(alert.valueString));
  if (alert.group) put('group', boundGroup(alert.group));
  return out ?? alert;
}

/** `s` cut to the bound with a trailing `…`, never leaving half a surrogate pair. */
const boundText = (s: string): string => (s.length <= ALERT_STRING_MAX ? s : wholeHead(s, ALERT_STRING_MAX - MARKER.length) + MARKER);

const boundNullable = (s: string | null): string | null => (s === null ? null : boundText(s));

/**
 * An id over the bound: the form its store column keeps and look-ups use (stored-id.ts). Its own head and hash
 * made a different form, which the column then hashed again: `outbox list --alert <the id as sent>` found nothing.
 */
const boundId = (id: string): string => (id.length <= ALERT_STRING_MAX ? id : storedId(id));

/** A URL over the bound is dropped: cut, it would point elsewhere. */
const boundUrl = (url: string): string => (url.length <= ALERT_STRING_MAX ? url : '');

function boundLinks(links: AlertLink[]): AlertLink[] {
  if (links.every((l) => l.url.length <= ALERT_STRING_MAX && l.label.length <= ALERT_STRING_MAX)) return links;
  return links.filter((l) => l.url.length <= ALERT_STRING_MAX).map((l) => ({ ...l, label: boundText(l.label) }));
}

/**
 * Most text, in UTF-16 code units, the group's three label/annotation maps keep together (keys and values). The
 * group is copied into every alert of its POST, so its size is multiplied by the count of alerts: 18 annotations of
 * 50,000 characters beside 1,000 tiny alerts made one 1 MB POST 900 MB of stored alerts. Real groups are a few
 * hundred characters; at this bound a 1,000-alert POST stores at most ~32 MB of group text (UTF-16 code units).
 */
export const GROUP_TEXT_MAX = 32_000;

/** Bounded groups by their source object: every alert of a POST shares one, so it is bounded once per POST. */
const boundedGroups = new WeakMap<AlertGroup, AlertGroup>();

/**
 * The group's text cut like the alert's (only the alert's own `labels` are silence matchers), its URL dropped, and
 * its maps held to {@link GROUP_TEXT_MAX} together: entries are kept in order while they fit, the first that does
 * not is cut to what is left (`…`), and later ones are left out.
 */
function boundGroup(group: AlertGroup): AlertGroup {
  const known = boundedGroups.get(group);
  if (known) return known;
  let budget = GROUP_TEXT_MAX;
  const fit = (map: { [name: string]: string }): { [name: string]: string } => {
    const cut = boundJson(map) as { [name: string]: string };
    let out: { [name: string]: string } | undefined;
    const keys = Object.keys(cut);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const value = String(cut[key]);
      const room = budget - key.length;
      const kept = room >= value.length ? value : room > MARKER.length ? wholeHead(value, room - MARKER.length) + MARKER : undefined;
      budget = Math.max(0, budget - key.length - (kept?.length ?? 0));
      if (kept === value && !out) continue;
      if (!out) {
        out = {};
        for (let j = 0; j < i; j++) define(out, keys[j]!, cut[keys[j]!]!);
      }
      if (kept !== undefined) define(out, key, kept);
    }
    return out ?? cut;
  };
  const bounded: AlertGroup = {
    ...group,
    receiver: boundText(group.receiver),
    status: boundText(group.status),
    groupKey: boundText(group.groupKey),
    groupLabels: fit(group.groupLabels),
    commonLabels: fit(group.commonLabels),
    commonAnnotations: fit(group.commonAnnotations),
    externalURL: boundUrl(group.externalURL),
  };
  if (group.notificationReason !== undefined) bounded.notificationReason = boundText(group.notificationReason);
  const same = (Object.keys(bounded) as (keyof AlertGroup)[]).every((key) => bounded[key] === group[key]);
  const result = same ? group : bounded;
  boundedGroups.set(group, result);
  return result;
}

/** Sets `key` as an own data property, even `__proto__` (an assignment would set the prototype and lose it). */
function define(record: { [key: string]: JsonValue }, key: string, value: JsonValue): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * A JSON value with every string (keys too) over the bound cut. Copy-on-write: an array or object is copied only
 * when something in it changed, and each node is visited once (asking "is anything below long?" at every level
 * walked a deep value once per level: 3.7 s for an 860 KB alertContext nested 240 deep). Recursive: the webhooks
 * refuse JSON nested over 256 deep (ingest.ts), and a value too deep for this recursion is too deep for
 * JSON.stringify (the store, every render) as well.
 */
function boundJson(value: JsonValue): JsonValue {
  if (typeof value === 'string') return boundText(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: JsonValue[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = value[i]!;
      const bounded = boundJson(item);
      if (bounded !== item) (copy ??= value.slice())[i] = bounded;
    }
    return copy ?? value;
  }
  const keys = Object.keys(value);
  let copy: { [key: string]: JsonValue } | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const item = value[key]!;
    const boundedKey = boundText(key);
    const bounded = boundJson(item);
    if (!copy && (boundedKey !== key || bounded !== item)) {
      copy = {};
      for (let j = 0; j < i; j++) define(copy, keys[j]!, value[keys[j]!]!);
    }
    if (copy) define(copy, boundedKey, bounded);
  }
  return copy ?? value;
}
