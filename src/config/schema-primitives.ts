/**
 * Building blocks of the config schema: name patterns and value parsers that accept interpolated text.
 */
import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from '../domain/duration';

/** Destination, route and template names: file-name-like, so they are safe in paths, metrics labels and CLI args. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Slack channel id (C… public, G… private/legacy, D… DM) or `#channel-name`; ids recommended (names change). */
export const SLACK_CHANNEL_PATTERN = /^(?:[CGD][A-Z0-9]{6,}|#[a-z0-9._-]+)$/;
/** Discord snowflake: 17–20 decimal digits. */
export const DISCORD_SNOWFLAKE_PATTERN = /^\d{17,20}$/;
/** Discord webhook URL: https://(ptb.|canary.)?discord(app)?.com/api(/vN)?/webhooks/<id>/<token>. */
export const DISCORD_WEBHOOK_URL_PATTERN =
  /^https:\/\/(?:ptb\.|canary\.)?discord(?:app)?\.com\/api(?:\/v\d+)?\/webhooks\/\d{17,20}\/[A-Za-z0-9._-]+\/?$/;
/** An HTTP header field name (RFC 9110 token). */
export const HEADER_NAME_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Panther-style upper-snake alert types (RULE, SCHEDULED_RULE, …). */
export const ALERT_TYPE_PATTERN = /^[A-Z][A-Z0-9_]*$/;

/*
 * Interpolated values are always strings (an env var is text, and a secret must never be re-typed into a number),
 * so numeric and boolean fields also accept their canonical string form: `port: ${PORT:-8080}` works, while a
 * token made of digits stays a string.
 */
export const fromText = (value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  const t = value.trim();
  if (/^-?\d+(?:\.\d+)?$/.test(t)) return Number(t);
  if (t === 'true' || t === 'false') return t === 'true';
  return value;
};

/** Integer in [min, max]. */
export const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(
    fromText,
    z
      .number({ error: 'must be a number' })
      .int({ error: 'must be a whole number' })
      .min(min, { error: `must be at least ${min}` })
      .max(max, { error: `must be at most ${max}` }),
  );

export const bool = () => z.preprocess(fromText, z.boolean({ error: 'must be true or false' }));

/** Non-empty string; a number/bool in YAML is rejected rather than coerced, so `0123` cannot silently lose its zero. */
export const text = (what = 'a non-empty string') =>
  z.string({ error: `must be ${what}` }).min(1, { error: 'must not be empty' });

/**
 * Optional string where an empty value counts as "not set": `signingSecret: ${SLACK_SIGNING_SECRET:-}` turns the
 * feature off when the variable is unset, which is the point of an empty default.
 */
export const optionalText = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' || v === null ? undefined : v), schema.optional());

export const httpUrl = () =>
  text('an absolute http(s) URL').refine(
    (s) => {
      try {
        const u = new URL(s);
        return u.protocol === 'http:' || u.protocol === 'https:';
      } catch {
        return false;
      }
    },
    { error: 'must be an absolute http(s) URL, e.g. https://slack.com/api/' },
  );

export const name = (what: string) =>
  text().regex(NAME_PATTERN, {
    error: `${what} must start with a letter or digit and contain only letters, digits, ".", "_" and "-"`,
  });

export const templateName = () => name('a template name');

/**
 * A duration written as a whole number and a unit ("30s", "15m", "2h", "1d"), in milliseconds, at least `minMs`. A
 * bare number is refused rather than guessed at (seconds? milliseconds?).
 */
export const duration = (minMs: number) =>
  z
    .string({ error: 'must be a duration like 30s, 15m, 2h or 1d (a number and a unit: s, m, h, d)' })
    .regex(DURATION_PATTERN, { error: 'must be a duration like 30s, 15m, 2h or 1d (a number and a unit: s, m, h, d)' })
    .transform((text) => parseDuration(text)!)
    .refine((ms) => ms >= minMs, { error: `must be at least ${minMs / 1000}s` });
