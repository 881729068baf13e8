/**
 * Config of the label-based webhook sources (`sources.alertmanager`, `sources.grafana`): path, body limit, the
 * credentials their HTTP clients send (bearer tokens and/or basic auth, several for rotation), how a label
 * becomes a severity, and silences from chat (the source's API and the Silence menu).
 */
import { z } from 'zod';
import { SEVERITIES } from '../domain/alert';
import { DEFAULT_SEVERITY_MAP } from '../sources/labels';
import { int, text } from './schema-primitives';
import { silenceApiSchema, silenceSchema } from './schema-silence';

/** A webhook path Express 5 mounts literally (path-to-regexp syntax characters would crash `serve`). */
export const webhookPath = (fallback: string) =>
  text()
    .regex(/^\/[A-Za-z0-9._~\/-]*$/, {
      error: 'must be a URL path starting with "/" and containing only letters, digits and . _ ~ - /',
    })
    .default(fallback);

const severity = z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')} (upper case)` });

const basicCredential = z
  .object({
    // RFC 7617: the user-id cannot contain a colon (the first colon separates it from the password).
    username: text().refine((u) => !u.includes(':'), { error: 'must not contain ":"' }),
    password: text(),
  })
  .strict();

/**
 * What Alertmanager's `http_config` (`authorization` / `bearer_token`, `basic_auth`) or Grafana's contact point
 * sends. Either list may be given, or both; a request passes when it matches any entry.
 */
const labelSourceAuthSchema = z
  .object({
    bearer: z.array(text(), { error: 'must be a list of tokens, e.g. bearer: ["${AM_WEBHOOK_TOKEN}"]' }).optional(),
    basic: z.array(basicCredential, { error: 'must be a list of { username, password }' }).optional(),
  })
  .strict()
  .refine((auth) => (auth.bearer?.length ?? 0) + (auth.basic?.length ?? 0) > 0, {
    error: 'needs at least one bearer token or basic credential (several are allowed, for rotation)',
  });

/**
 * Severity from a label: `label` (default `severity`), `map` from lower-case label values to severities (merged
 * over the defaults critical→CRITICAL, error/high→HIGH, warning→MEDIUM, info→INFO, none→LOW), and `default` for
 * a missing or unknown value.
 */
const severityMappingSchema = z
  .object({
    label: text().default('severity'),
    map: z.record(text(), severity).optional(),
    default: severity.default('MEDIUM'),
  })
  .strict()
  .transform((mapping) => ({
    label: mapping.label,
    map: { ...DEFAULT_SEVERITY_MAP, ...Object.fromEntries(Object.entries(mapping.map ?? {}).map(([k, v]) => [k.trim().toLowerCase(), v])) },
    default: mapping.default,
  }));

/** One label-based source; `fallbackPath` is its default path. */
export const labelSourceSchema = (fallbackPath: string) =>
  z
    .object({
      path: webhookPath(fallbackPath),
      // A group of alerts per POST: larger than a single Panther alert. Alertmanager drops a notification answered
      // 4xx, so a too-small limit loses alerts; `max_alerts` on the receiver bounds the size from its side.
      bodyLimitBytes: int(1).default(4_194_304),
      auth: labelSourceAuthSchema.optional(),
      severity: severityMappingSchema.prefault({}),
      // Silences from chat (docs/triage.md): where the bridge creates them, and the menu on the source's messages.
      api: silenceApiSchema.optional(),
      silence: silenceSchema.prefault({}),
    })
    .strict();

export type LabelSourceConfig = z.output<ReturnType<typeof labelSourceSchema>>;
