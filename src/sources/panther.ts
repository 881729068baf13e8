import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SEVERITIES, type Alert, type JsonValue } from '../domain/alert';
import { canonicalJson } from '../domain/canonical-json';
import { parseAwsDateTime } from '../domain/aws-datetime';

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

const blankToNull = (value: string | null | undefined): string | null =>
  value === undefined || value === null || value.trim() === '' ? null : value;

/**
 * Maps a validated payload to the Alert type. The dedup key hashes the canonical form of every known field, so
 * Panther's retries (same content, possibly different bytes or key order) collide, while a manual re-send (title
 * "[Re-sent]: …") or a new Send Test Alert (new createdAt) does not.
 */
export function pantherToAlert(payload: PantherPayload): Alert {
  const context = (payload.alertContext ?? {}) as { [key: string]: JsonValue };
  const createdAtMs = parseAwsDateTime(payload.createdAt) as number;
  const dedupKey = createHash('sha256').update(canonicalJson(payload as unknown as JsonValue)).digest('hex');
  return {
    source: 'panther',
    dedupKey,
    alertId: blankToNull(payload.alertId),
    detectionId: payload.id,
    detectionName: blankToNull(payload.name),
    severity: payload.severity,
    type: payload.type,
    title: payload.title.trim() === '' ? payload.id : payload.title,
    description: blankToNull(payload.description),
    runbook: blankToNull(payload.runbook),
    link: payload.link,
    tags: (payload.tags ?? []).filter((tag) => tag.trim() !== ''),
    createdAt: payload.createdAt,
    createdAtMs,
    version: blankToNull(payload.version),
    context,
  };
}
