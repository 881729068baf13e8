import { createHash } from 'node:crypto';
import { isSeverity, type Alert, type JsonValue, type Severity } from '../domain/alert';
import { canonicalJson } from '../domain/canonical-json';
import { parseAwsDateTime } from '../domain/aws-datetime';
import { isHttpUrl } from '../templates/escape';
import { typeLabel } from '../templates/presentation';
import { noteDefault, recordDefaults, textOf } from './payload-defaults';

/** Upper-snake alert type; new types appear over time, so any well-formed one is accepted. */
const ALERT_TYPE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;

/**
 * The fields of Panther's Custom Webhook payload (see shared/reference/panther-webhook.md), in wire order. Unknown
 * extra fields are ignored; every known one may be defaulted (docs/panther.md has the table), so this is also the
 * list of `field` labels `chatops_payload_defaults_total{source="panther"}` can carry.
 */
export const PANTHER_FIELDS = ['id', 'createdAt', 'severity', 'type', 'link', 'title', 'name', 'alertId', 'alertContext', 'description', 'runbook', 'tags', 'version'] as const;

/** One problem with a payload, as returned in the 400 body. */
export interface PayloadIssue {
  path: string;
  message: string;
}

/** A parsed payload: the alert and the fields that had to be defaulted, or the issues that make it unshowable. */
export type PantherParseResult = { ok: true; alert: Alert; defaults: string[] } | { ok: false; issues: PayloadIssue[] };

/** Renders a zod issue path as `alertContext.key[0]`; the empty path is the body itself. */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(body)' : out;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Validates an already JSON-parsed body and normalises it to an {@link Alert}. Never throws. Refuses only what
 * cannot be shown at all: a body that is not a JSON object, or one without any of `title`, `name`, `id` or a
 * readable `type` to make a title from. Everything else is accepted, with the fields it had to default listed in
 * `defaults`. `now` is the receipt time, shown when `createdAt` is unusable.
 */
export function parsePantherPayload(body: unknown, options: { now?: number } = {}): PantherParseResult {
  if (!isObject(body)) {
    const kind = body === null ? 'null' : Array.isArray(body) ? 'an array' : `a ${typeof body}`;
    return { ok: false, issues: [{ path: '(body)', message: `must be a JSON object (a Panther alert), not ${kind}` }] };
  }
  const { result, defaults } = recordDefaults(() => pantherToAlert(body, options.now ?? Date.now()));
  if (!result) {
    return { ok: false, issues: [{ path: '(body)', message: 'nothing to show: none of title, name, id or type is given' }] };
  }
  return { ok: true, alert: result, defaults };
}

/**
 * `s` with every lone surrogate replaced by U+FFFD (`String.prototype.toWellFormed`, ES2024, native in Node 20;
 * the lib here is ES2023, hence the typed wrapper and a regex fallback).
 */
export function toWellFormed(s: string): string {
  const native = (s as string & { toWellFormed?: () => string }).toWellFormed;
  if (typeof native === 'function') return native.call(s);
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/**
 * Deep copy of a JSON value with every string (object keys included) made well-formed. Keys are defined, not
 * assigned, so a `__proto__` key from JSON.parse stays an ordinary own property.
 */
function wellFormedJson(value: JsonValue): JsonValue {
  if (typeof value === 'string') return toWellFormed(value);
  if (Array.isArray(value)) return value.map(wellFormedJson);
  if (value !== null && typeof value === 'object') {
    const out: { [key: string]: JsonValue } = {};
    for (const [key, item] of Object.entries(value)) {
      Object.defineProperty(out, toWellFormed(key), { value: wellFormedJson(item), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

/**
 * The link as the renderer will accept it: byte-identical when {@link isHttpUrl} already accepts it (the usual
 * case), otherwise the WHATWG-serialised form. The schema's `new URL` check tolerates surrounding spaces, tabs and
 * newlines, `https:host/x` and backslashes; `href` normalises all of those to `https://host/…` without whitespace,
 * so every accepted link gets its "View in …" button.
 */
function normaliseLink(link: string): string {
  const text = toWellFormed(link);
  return isHttpUrl(text) ? text : new URL(text).href;
}

const blankToNull = (value: string | null): string | null => (value === null || value.trim() === '' ? null : toWellFormed(value));

/** Non-blank text of a field Panther documents as always present; a missing, blank or unusable one is noted. */
function requiredText(body: Record<string, unknown>, field: string): string | null {
  const text = blankToNull(textOf(body[field], field));
  if (text === null) noteDefault(field);
  return text;
}

/** The type as sent when well-formed; else its upper-snake form ("rule error" → RULE_ERROR), else UNKNOWN. */
function readType(value: unknown): string {
  if (typeof value === 'string' && ALERT_TYPE.test(value)) return value;
  noteDefault('type');
  const words = typeof value === 'string' ? value.trim().toUpperCase().replace(/[\s-]+/g, '_') : '';
  return ALERT_TYPE.test(words) ? words : 'UNKNOWN';
}

/**
 * The severity as sent; another spelling of a known one ("high", " High ") as that one; anything else (absent,
 * DEFAULT, a number) CRITICAL for a system error (Panther sends those only as CRITICAL) and HIGH otherwise: an
 * alert whose rank cannot be read still reaches the routes that page, without claiming the top rank.
 */
function readSeverity(value: unknown, type: string): Severity {
  if (isSeverity(value)) return value;
  noteDefault('severity');
  const word = typeof value === 'string' ? value.trim().toUpperCase() : '';
  if (isSeverity(word)) return word;
  return type === 'SYSTEM_ERROR' ? 'CRITICAL' : 'HIGH';
}

/** An absolute http(s) URL (as {@link normaliseLink} stores it), or '' (no button) for anything else. */
function readLink(value: unknown): string {
  if (typeof value === 'string') {
    try {
      const url = new URL(value);
      if ((url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '') return normaliseLink(value);
    } catch {
      // not a URL: defaulted below
    }
  }
  noteDefault('link');
  return '';
}

/** Tags as sent; a single string is one tag, numbers and booleans become text, anything else is dropped. */
function readTags(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) noteDefault('tags');
  const items = Array.isArray(value) ? value : isObject(value) ? [] : [value];
  return items
    .map((item) => textOf(item, 'tags'))
    .filter((tag): tag is string => tag !== null && tag.trim() !== '')
    .map(toWellFormed);
}

/** alertContext as sent; any other JSON value is kept under the key `alertContext` rather than lost. */
function readContext(value: unknown): { [key: string]: JsonValue } {
  if (value === undefined || value === null) return {};
  if (isObject(value)) return value as { [key: string]: JsonValue };
  noteDefault('alertContext');
  return { alertContext: value as JsonValue };
}

/** `SYSTEM_ERROR` → `Panther.SystemError`: a detection id in Panther's own dotted style, for alerts without one. */
const typeDetectionId = (type: string) =>
  `Panther.${type.toLowerCase().split('_').map((word) => (word === '' ? '' : word[0]!.toUpperCase() + word.slice(1))).join('')}`;

/**
 * Maps a payload object to the Alert type, defaulting what is missing (see docs/panther.md for the table), or
 * returns null when nothing could make a title. The dedup key hashes the canonical form of the known fields as
 * received (never a default: a retry of a payload without `createdAt` must collide although the receipt time
 * shown differs), so Panther's retries (same content, possibly different bytes or key order) collide, while a manual
 * re-send (title "[Re-sent]: …") or a new Send Test Alert (new createdAt) does not. Every string in the Alert itself
 * is made well-formed (lone surrogates → U+FFFD), so `render` and `serve` show and send the same text, and the link
 * is normalised as in {@link normaliseLink}.
 */
function pantherToAlert(body: Record<string, unknown>, now: number): Alert | null {
  const type = readType(body.type);
  const given = { title: requiredText(body, 'title'), name: blankToNull(textOf(body.name, 'name')), id: requiredText(body, 'id') };
  const fallbackTitle = given.title ?? given.name ?? given.id ?? (type === 'UNKNOWN' ? null : `Panther ${typeLabel(type).toLowerCase()}`);
  if (fallbackTitle === null) return null;
  const rawContext = readContext(body.alertContext);
  // Copied only when some string in it is not well-formed. JSON.stringify writes every lone surrogate (in keys and
  // values alike) as a `\udXXX` escape, so without one there is nothing to replace; copying a context of 20,000
  // small objects key by key stalled the event loop for 60–150 ms (test/hostile.test.ts), the stringify takes ~3 ms.
  const context = (/\\u[dD][89a-fA-F]/.test(JSON.stringify(rawContext)) ? wellFormedJson(rawContext) : rawContext) as { [key: string]: JsonValue };
  const createdAtText = typeof body.createdAt === 'string' ? body.createdAt : null;
  const createdAtMs = createdAtText === null ? null : parseAwsDateTime(createdAtText);
  if (createdAtMs === null) noteDefault('createdAt');
  const known: { [key: string]: JsonValue } = {};
  for (const field of PANTHER_FIELDS) if (body[field] !== undefined) known[field] = body[field] as JsonValue;
  const dedupKey = createHash('sha256').update(canonicalJson(known)).digest('hex');
  return {
    source: 'panther',
    dedupKey,
    alertId: blankToNull(textOf(body.alertId, 'alertId')),
    detectionId: given.id ?? typeDetectionId(type),
    detectionName: given.name,
    severity: readSeverity(body.severity, type),
    type,
    title: fallbackTitle,
    description: blankToNull(textOf(body.description, 'description')),
    runbook: blankToNull(textOf(body.runbook, 'runbook')),
    link: readLink(body.link),
    tags: readTags(body.tags),
    createdAt: createdAtMs === null ? new Date(now).toISOString() : toWellFormed(createdAtText!),
    createdAtMs: createdAtMs ?? now,
    version: blankToNull(textOf(body.version, 'version')),
    context,
  };
}
