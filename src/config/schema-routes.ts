/**
 * Route part of the config schema: match conditions, burst digest, mentions.
 */
import { z } from 'zod';
import { SEVERITIES } from '../domain/alert';
import { TRIAGE_ACTIONS } from '../triage/state';
import { labelsMatchSchema } from './schema-labels';
import { DISCORD_SNOWFLAKE_PATTERN, ALERT_TYPE_PATTERN, int, bool, text, name, templateName, duration } from './schema-primitives';

export const severitySchema = z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')} (upper case)` });

/** The webhook sources an alert can come from (`match.source`). */
export const SOURCES = ['panther', 'alertmanager', 'grafana'] as const;
const sourceName = z.enum(SOURCES, { error: `must be one of ${SOURCES.join(', ')}` });

export const routeMatchSchema = z
  .object({
    severity: z
      .union([
        z.object({ min: severitySchema }).strict(),
        z.array(severitySchema).min(1, { error: 'must list at least one severity' }),
      ], { error: 'must be { min: SEVERITY } or a list of severities, e.g. [HIGH, CRITICAL]' })
      .optional(),
    tags: z
      .object({
        any: z.array(text()).min(1, { error: 'an empty "any" list would never match' }).optional(),
        all: z.array(text()).optional(),
        none: z.array(text()).optional(),
      })
      .strict()
      .optional(),
    type: z
      .array(text().regex(ALERT_TYPE_PATTERN, { error: 'must be an upper-snake alert type like RULE or POLICY' }), {
        error: 'must be a list of alert types, e.g. [RULE, POLICY]',
      })
      .min(1, { error: 'an empty list would never match' })
      .optional(),
    detection: z
      .union([text(), z.array(text()).min(1, { error: 'an empty list would never match' })], {
        error: 'must be a glob on the detection id ("AWS.*") or a list of globs',
      })
      .optional(),
    source: z
      .union([sourceName, z.array(sourceName).min(1, { error: 'an empty list would never match' })], {
        error: `must be a source or a list of sources: ${SOURCES.join(', ')}`,
      })
      .transform((v) => (Array.isArray(v) ? v : [v]))
      .optional(),
    labels: labelsMatchSchema.optional(),
  })
  .strict();

/**
 * Burst digest for a route's deliveries: when a channel's backlog passes `backlog` waiting or the oldest has waited
 * `maxWaitMs`, the waiting alerts are collapsed into one digest message edited in place. `off` disables it.
 */
export const digestSchema = z.union(
  [
    z.literal('off'),
    z.literal(false).transform(() => 'off' as const),
    z
      .object({
        backlog: int(1, 100_000).default(10),
        maxWaitMs: int(1).default(30_000),
      })
      .strict(),
  ],
  { error: 'must be off or { backlog: 10, maxWaitMs: 30000 }' },
);

export const snowflakes = z.array(text().regex(DISCORD_SNOWFLAKE_PATTERN, { error: 'must be a Discord id (17–20 digits, quoted)' }));

/** Mention targets per platform: the same shape and rules for a route's `mentions` and its escalation's. */
const mentionTargets = {
  slack: z
    .object({
      here: bool().optional(),
      channel: bool().optional(),
      groups: z.array(text().regex(/^S[A-Z0-9]{2,}$/, { error: 'must be a Slack user group id like S0123ABCD' })).optional(),
      users: z.array(text().regex(/^[UW][A-Z0-9]{2,}$/, { error: 'must be a Slack user id like U0123ABCD' })).optional(),
    })
    .strict()
    .optional(),
  discord: z.object({ here: bool().optional(), roles: snowflakes.optional(), users: snowflakes.optional() }).strict().optional(),
};

/** Who a route pings (the only mentions that ever notify); optionally only from a severity up. */
export const mentionsSchema = z.object({ minSeverity: severitySchema.optional(), ...mentionTargets }).strict();

/** Whether mention targets name anyone on either platform. */
const namesAnyone = (m: { slack?: Record<string, unknown>; discord?: Record<string, unknown> }): boolean =>
  [m.slack, m.discord].some((p) => p !== undefined && Object.values(p).some((v) => v === true || (Array.isArray(v) && v.length > 0)));

/** Shortest `after` and `repeat` of an escalation: small enough for a trial (and tests), not a busy loop. */
export const ESCALATE_MIN_MS = 1000;

/**
 * Reminders for an alert nobody acknowledged or resolved: the first `after` its message was posted, then every
 * `repeat` (default: `after`), at most `times` (default 1), each a reply that mentions `mentions` (the only pings
 * of a reminder; same shape and rules as a route's `mentions`). Only alerts from `minSeverity` up (default: all
 * of the route's). `label` is how the message names the targets ("@secops-leads"), shown as text that never pings.
 */
export const escalateSchema = z
  .object({
    after: duration(ESCALATE_MIN_MS),
    repeat: duration(ESCALATE_MIN_MS).optional(),
    times: int(1, 100).default(1),
    minSeverity: severitySchema.optional(),
    mentions: z
      .object(mentionTargets, { error: 'must be { slack: {…}, discord: {…} }: whom the reminders mention' })
      .strict()
      .refine(namesAnyone, { error: 'must name at least one target (slack or discord): a reminder that mentions nobody escalates to nobody' }),
    label: text().max(100, { error: 'must be at most 100 characters' }).optional(),
  }, { error: 'must be { after: 15m, repeat: 30m, times: 3, minSeverity: HIGH, mentions: {…} }' })
  .strict();

const slackUserIds = z.array(text().regex(/^[UW][A-Z0-9]{2,}$/, { error: 'must be a Slack user id like U0123ABCD' }));

/**
 * Who may act on a message, per platform: absent = anyone in the channel; present = only those listed. Used by a
 * route's triage buttons and by a label-based source's Silence menu.
 */
export const allowListSchema = z
  .object({
    slackUsers: slackUserIds.optional(),
    slackGroups: z.array(text().regex(/^S[A-Z0-9]{2,}$/, { error: 'must be a Slack user group id like S0123ABCD' })).optional(),
    discordRoles: snowflakes.optional(),
    discordUsers: snowflakes.optional(),
  })
  .strict();

/**
 * Triage buttons on this route's messages (shown where the platform's interactivity is configured) and who may
 * use them. Each allow list is per platform: absent = anyone in the channel; present = only those listed.
 */
export const triageSchema = z.union(
  [
    z.literal('off'),
    z.literal(false).transform(() => 'off' as const),
    z
      .object({
        buttons: z
          .array(z.enum(TRIAGE_ACTIONS, { error: `must be one of ${TRIAGE_ACTIONS.join(', ')}` }))
          .min(1, { error: 'list at least one button, or write triage: off' })
          .default([...TRIAGE_ACTIONS]),
        allow: allowListSchema.optional(),
      })
      .strict(),
  ],
  { error: 'must be off or { buttons: [acknowledge, resolve, assign], allow: {…} }' },
);

/**
 * Repeats of a detection within `windowMs` of an open alert's message go into that message's thread. Off unless
 * asked for (`on` = a 1 h window): threading changes what a channel shows, so it is opted into per route.
 */
export const threadsSchema = z.union(
  [
    z.literal('off'),
    z.literal(false).transform(() => 'off' as const),
    z.literal('on').transform(() => ({ windowMs: 3_600_000 })),
    z.literal(true).transform(() => ({ windowMs: 3_600_000 })),
    z.object({ windowMs: int(1).default(3_600_000) }).strict(),
  ],
  { error: 'must be off, on (1 h window) or { windowMs: 3600000 }' },
);

export const routeSchema = z
  .object({
    name: name('a route name'),
    match: routeMatchSchema.optional(),
    to: z
      .array(text(), { error: 'must be a list of destination names, e.g. to: [soc-slack]' })
      .min(1, { error: 'must name at least one destination' }),
    template: templateName().optional(),
    continue: bool().default(false),
    digest: digestSchema.prefault({}),
    mentions: mentionsSchema.optional(),
    triage: triageSchema.prefault({}),
    threads: threadsSchema.default('off'),
    escalate: escalateSchema.optional(),
    onResolved: z
      .enum(['update', 'post', 'ignore'], { error: 'must be update (edit the firing message), post (a new message) or ignore' })
      .default('update'),
    // URLs in alert text whose host is not the alert's own are shown defanged (hxxps://evil[.]example/x) unless
    // a route turns it off: security alerts carry attacker URLs, and chat clients make every URL a live link.
    defang: bool().default(true),
  })
  .strict();
