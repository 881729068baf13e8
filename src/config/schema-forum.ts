/**
 * Forum options of a `discord` destination. Whether the channel is a forum (or media) channel is not configured:
 * the bridge reads the channel's type from Discord. These say how its posts are tagged and closed.
 */
import { z } from 'zod';
import { SEVERITIES } from '../domain/alert';
import { bool, text } from './schema-primitives';

/** A forum tag name as the channel lists it: Discord allows 1–20 characters. */
const tagName = () =>
  text('a forum tag name').max(20, { error: 'must be at most 20 characters: Discord forum tag names are 1–20 characters' });

const severityTags = z
  .object(Object.fromEntries(SEVERITIES.map((s) => [s, tagName().optional()])) as Record<(typeof SEVERITIES)[number], z.ZodOptional<ReturnType<typeof tagName>>>)
  .strict();

export const forumSchema = z
  .object({
    tags: z
      .object({
        /** Severity → forum tag name, e.g. `{ CRITICAL: critical, HIGH: high }`. */
        severity: severityTags.optional(),
        /** Alert tag (Panther tags; `name=value` labels of Alertmanager/Grafana) → forum tag name; case-insensitive. */
        alertTags: z.record(text('an alert tag'), tagName()).optional(),
        /**
         * Applied when neither map matched, or none of the names they gave is one of the forum's tags (a forum that
         * requires a tag needs it or a complete severity map).
         */
        default: tagName().optional(),
      })
      .strict()
      .optional(),
    /** Archive the post once its alert is resolved (by its source or the Resolve button). */
    archiveOnResolve: bool().default(false),
  })
  .strict();

export type ForumConfig = z.output<typeof forumSchema>;
