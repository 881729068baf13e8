/**
 * Config of silences from chat, per label-based source: `api` (where and how the bridge creates and expires
 * silences) and `silence` (which durations the menu offers, which labels a silence matches, who may silence).
 */
import { z } from 'zod';
import { DEFAULT_SILENCE_DURATIONS_MS, parseSilenceDuration } from '../triage/silence';
import { allowListSchema } from './schema-routes';
import { HEADER_NAME_PATTERN, httpUrl, int, text } from './schema-primitives';

/** Longest silence offered: Alertmanager has no limit, but a menu entry of months is a mistake. */
const MAX_DURATION_MS = 90 * 86_400_000;

/**
 * The source's Alertmanager API v2: Alertmanager's base URL (`…/api/v2/silences` is appended), or for Grafana its
 * root URL (Grafana-managed alerts: `…/api/alertmanager/grafana/api/v2/silences`). One of bearer or basic auth, or
 * none (an Alertmanager reachable without); extra headers for proxies and tenants (`X-Scope-OrgID`).
 */
export const silenceApiSchema = z
  .object({
    // fetch() refuses a URL with user info: every call would fail as "unreachable" (and the password would sit in it).
    url: httpUrl().refine((url) => !URL.canParse(url) || (new URL(url).username === '' && new URL(url).password === ''), { error: 'must not carry credentials: put them in auth.basic' }),
    auth: z
      .object({
        bearer: text('a token').optional(),
        basic: z
          .object({
            username: text().refine((u) => !u.includes(':'), { error: 'must not contain ":"' }),
            password: text(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .refine((auth) => (auth.bearer === undefined) !== (auth.basic === undefined), { error: 'give either bearer or basic, not both' })
      .optional(),
    headers: z
      .record(text().regex(HEADER_NAME_PATTERN, { error: 'must be an HTTP header name' }), text())
      .refine((headers) => !Object.keys(headers).some((name) => /^(authorization|content-type|content-length|host)$/i.test(name)), {
        error: 'Authorization, Content-Type, Content-Length and Host are set by the bridge (use auth for credentials)',
      })
      .optional(),
    // At most 55 s: a create or an expire is a look-up and a call, and both must end within the 120 s lease a
    // replica holds the job for, or another replica takes it over mid-call and silences twice.
    timeoutMs: int(1, 55_000).default(10_000),
  })
  .strict();

const durationSchema = z
  .string({ error: 'must be a duration like 30m, 1h, 4h or 2d' })
  .transform((value, ctx) => {
    const ms = parseSilenceDuration(value);
    if (ms === null || ms < 60_000 || ms > MAX_DURATION_MS) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration from 1m to 90d, like 30m, 1h, 4h or 2d' });
      return z.NEVER;
    }
    return ms;
  });

/**
 * The Silence menu of the source's messages: on unless `off`. `durations` (at most 25, Discord's limit for a
 * menu), `matchers` (all labels, or the named ones), `allow` (absent: the route's triage allow list applies).
 */
export const silenceSchema = z.union(
  [
    z.literal('off'),
    z.literal(false).transform(() => 'off' as const),
    z
      .object({
        durations: z
          .array(durationSchema, { error: 'must be a list of durations, e.g. [1h, 4h, 24h]' })
          .min(1, { error: 'list at least one duration, or write silence: off' })
          .max(25, { error: 'at most 25 durations (a Discord menu holds 25 options)' })
          .refine((list) => new Set(list).size === list.length, { error: 'lists the same duration twice' })
          .default([...DEFAULT_SILENCE_DURATIONS_MS]),
        matchers: z
          .union([z.literal('all'), z.array(text().regex(/^[^\s{}=!~",]+$/, { error: 'must be a label name' })).min(1, { error: 'name at least one label, or write all' })], {
            error: 'must be all or a list of label names, e.g. [alertname, instance]',
          })
          .default('all'),
        allow: allowListSchema.optional(),
      })
      .strict(),
  ],
  { error: 'must be off or { durations: [1h, 4h, 24h], matchers: all, allow: {…} }' },
);

export type SilenceApiConfig = z.output<typeof silenceApiSchema>;
export type SilenceConfig = z.output<typeof silenceSchema>;
