/**
 * `doctor`'s check of one bot destination's channel: what `GET /channels/{id}` says it is (text, announcement,
 * forum, media) and, for a forum or media channel, whether the configured tag names are among its tags and
 * whether every alert can be posted there (a forum may require a tag on every post).
 */
import { SEVERITIES } from '../domain/alert';
import type { ForumConfig } from '../config/schema';
import { configuredTagNames, findTag, REQUIRE_TAG, THREAD_ONLY_TYPES } from '../destinations/discord-forum-post';
import type { DoctorCheck } from './doctor-check';

/** What doctor reads of the channel (the fields of Discord's channel object it needs). */
export interface DoctorChannel {
  name?: string;
  type?: number;
  flags?: number;
  available_tags?: { id: string; name: string; moderated?: boolean }[];
}

const KINDS: Record<number, string> = { 0: 'text channel', 5: 'announcement channel', 15: 'forum channel', 16: 'media channel' };
const quoted = (names: readonly string[]) => names.map((n) => JSON.stringify(n)).join(', ');

/** The doctor line for a `discord` destination whose channel answered `channel`. */
export function discordChannelCheck(check: string, channelId: string, channel: DoctorChannel, forum: ForumConfig | undefined): DoctorCheck {
  const kind = KINDS[channel.type ?? -1] ?? `channel of type ${channel.type ?? '?'}`;
  const label = `#${channel.name ?? channelId} (${kind})`;
  if (THREAD_ONLY_TYPES[channel.type ?? -1] === undefined) {
    return forum?.tags || forum?.archiveOnResolve
      ? { check, ok: true, warn: true, detail: label, fix: 'forum: options are set, but this is not a forum or media channel: they do nothing here' }
      : { check, ok: true, detail: label };
  }
  const available = channel.available_tags ?? [];
  const has = available.length > 0 ? `its tags: ${quoted(available.map((t) => t.name))}` : 'it has no tags';
  const missing = configuredTagNames(forum).filter((name) => !findTag(available, name));
  if (missing.length > 0) {
    return { check, ok: false, detail: `${label}: forum tags not found: ${quoted(missing)} (${has})`, fix: 'create those tags on the channel (Edit Channel → Tags) or correct the names in forum.tags' };
  }
  const tags = forum?.tags;
  const everySeverity = SEVERITIES.every((s) => tags?.severity?.[s]);
  if (((channel.flags ?? 0) & REQUIRE_TAG) !== 0 && !tags?.default && !everySeverity) {
    const none = configuredTagNames(forum).length === 0;
    return {
      check,
      ok: none ? false : true,
      ...(none ? {} : { warn: true }),
      detail: `${label} requires a tag on every post, and ${none ? 'forum.tags maps none: every alert would be refused' : 'an alert whose severity and tags match no mapping would be refused'} (${has})`,
      fix: 'map every severity in forum.tags.severity, or set forum.tags.default to one of its tags',
    };
  }
  const moderated = configuredTagNames(forum).filter((name) => findTag(available, name)?.moderated);
  if (moderated.length > 0) {
    return { check, ok: true, warn: true, detail: `${label}: moderated tags ${quoted(moderated)}`, fix: 'only members with Manage Threads may apply moderated tags: give the bot that permission on the channel, or unmoderate them' };
  }
  const mapped = configuredTagNames(forum).length;
  return { check, ok: true, detail: `${label}, ${mapped} tag${mapped === 1 ? '' : 's'} mapped` };
}
