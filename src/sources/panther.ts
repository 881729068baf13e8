import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SEVERITIES, type Alert, type JsonValue } from '../domain/alert';
import { canonicalJson } from '../domain/canonical-json';
import { parseAwsDateTime } from '../domain/aws-datetime';
import { isHttpUrl } from '../templates/escape';

/** Upper-snake alert type; new types appear over time, so any well-formed one is accepted. */
const alertType = z
  .string()
  .regex(/^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/, 'must be an upper-snake alert type such as RULE or POLICY');

const httpUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}, 'must be an absolute http(s) URL');

const awsDateTime = z
  .string()
  .refine((value) => parseAwsDateTime(value) !== null, 'must be an AWSDateTime with a zone offset, e.g. 2024-01-02T03:04:05Z');

/** Optional string that Panther may send as null, as "" or leave out. */
const optionalText = z.string().nullish();

/**
 * Panther's Custom Webhook payload (see shared/reference/panther-webhook.md). Unknown extra fields are ignored
 * (zod strips them); nullable fields are normalised by {@link pantherToAlert}.
 */
export const pantherPayloadSchema = z.object({
  id: z.string().min(1),
  createdAt: awsDateTime,
  severity: z.enum(SEVERITIES),
  type: alertType,
  link: httpUrl,
  title: z.string(),
  name: optionalText,
  alertId: optionalText,
  description: optionalText,
  runbook: optionalText,
  tags: z.array(z.string()).nullish(),
  version: optionalText,
  // Values come straight from JSON.parse, so they are JSON already; z.json() would recurse per level for nothing.
  alertContext: z.record(z.string(), z.unknown()).nullish(),
});

export type PantherPayload = z.infer<typeof pantherPayloadSchema>;

/** One problem with a payload, as returned in the 400 body. */
export interface PayloadIssue {
  path: string;
  message: string;
}

export type PantherParseResult = { ok: true; alert: Alert } | { ok: false; issues: PayloadIssue[] };

/** Renders a zod issue path as `alertContext.key[0]`; the empty path is the body itself. */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(body)' : out;
}

/** Validates an already JSON-parsed body and normalises it to an {@link Alert}. Never throws. */
export function parsePantherPayload(body: unknown): PantherParseResult {
  const parsed = pantherPayloadSchema.safeParse(body);
  if (!parsed.success) {
    return {
      ok: false,
      issues: parsed.error.issues.map((issue) => ({ path: issuePath(issue.path), message: issue.message })),
    };
  }
  return { ok: true, alert: pantherToAlert(parsed.data) };
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

const blankToNull = (value: string | null | undefined): string | null =>
  value === undefined || value === null || value.trim() === '' ? null : toWellFormed(value);

/**
 * Maps a validated payload to the Alert type. The dedup key hashes the canonical form of every known field, so
 * Panther's retries (same content, possibly different bytes or key order) collide, while a manual re-send (title
 * "[Re-sent]: …") or a new Send Test Alert (new createdAt) does not. It is computed from the payload as received;
 * every string in the Alert itself is made well-formed (lone surrogates → U+FFFD), so `render` and `serve` show
 * and send the same text, and the link is normalised as in {@link normaliseLink}.
 */
export function pantherToAlert(payload: PantherPayload): Alert {
  const rawContext = (payload.alertContext ?? {}) as { [key: string]: JsonValue };
  // Copied only when some string in it is not well-formed. JSON.stringify writes every lone surrogate (in keys and
  // values alike) as a `\udXXX` escape, so without one there is nothing to replace; copying a context of 20,000
  // small objects key by key stalled the event loop for 60–150 ms (test/hostile.test.ts), the stringify takes ~3 ms.
  const context = (/\\u[dD][89a-fA-F]/.test(JSON.stringify(rawContext)) ? wellFormedJson(rawContext) : rawContext) as { [key: string]: JsonValue };
  const createdAtMs = parseAwsDateTime(payload.createdAt) as number;
  const dedupKey = createHash('sha256').update(canonicalJson(payload as unknown as JsonValue)).digest('hex');
  return {
    source: 'panther',
    dedupKey,
    alertId: blankToNull(payload.alertId),
    detectionId: toWellFormed(payload.id),
    detectionName: blankToNull(payload.name),
    severity: payload.severity,
    type: toWellFormed(payload.type),
    title: toWellFormed(payload.title.trim() === '' ? payload.id : payload.title),
    description: blankToNull(payload.description),
    runbook: blankToNull(payload.runbook),
    link: normaliseLink(payload.link),
    tags: (payload.tags ?? []).filter((tag) => tag.trim() !== '').map(toWellFormed),
    createdAt: toWellFormed(payload.createdAt),
    createdAtMs,
    version: blankToNull(payload.version),
    context,
  };
}
