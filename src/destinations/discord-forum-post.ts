/**
 * The pure half of Discord forum (and media) channel posts: the post's title and tag names for an alert, and what
 * a destination needs to recognise a post it may already have made. No client and no discord.js here: the
 * formatter (previews, `render`) computes the same post as the live destination.
 */
import type { Alert } from '../domain/alert';
import type { ForumConfig } from '../config/schema';
import { alertHostSet, defangUrls } from '../templates/links';
import { truncateText } from '../templates/truncate';

export type { ForumConfig } from '../config/schema';

/** Discord's limits (channel.mdx "Start Thread in Forum or Media Channel", "Forum Tag Object"). */
export const FORUM_LIMITS = { title: 100, appliedTags: 5, tagName: 20 } as const;

/** Channel types that hold only threads (posts): GUILD_FORUM (15) and GUILD_MEDIA (16). */
export const THREAD_ONLY_TYPES: Readonly<Record<number, 'forum' | 'media'>> = { 15: 'forum', 16: 'media' };

/** Channel flag of a forum or media channel: every new post must carry a tag. */
export const REQUIRE_TAG = 1 << 4;

/**
 * What a forum channel needs besides the starter message: the post's title and tag names, whether the alert is
 * resolved (an edit then archives the post, with `archiveOnResolve`), and the alert's own time (a post made
 * before it can never be this alert's). Carried on the formatted body under {@link FORUM_POST}, a symbol key that
 * neither JSON (the wire, `render`) nor a spread copy sees: a text channel is sent exactly the body it always was.
 */
export interface ForumPostInfo {
  title: string;
  /** Forum tag names, in order (severity first), at most 5; resolved to the forum's tag ids when sent. */
  tags: string[];
  resolved: boolean;
  /** Epoch ms of the alert as its source dated it. */
  alertAtMs: number;
}

export const FORUM_POST: unique symbol = Symbol('chatops-bridge.forumPost');

/**
 * Puts `info` on `body` (not enumerable: invisible to JSON, spreads and equality checks). `info` may be a function
 * that makes it, called by {@link forumPostOf} when a send needs it: every Discord message is formatted with its
 * post's info, and only a forum channel's send reads it (the title alone cost 3 µs of a 90 µs render).
 */
export function attachForumPost<T extends object>(body: T, info: ForumPostInfo | (() => ForumPostInfo)): T {
  Object.defineProperty(body, FORUM_POST, { value: info, enumerable: false });
  return body;
}

/** The forum post info a formatted Discord body carries, if any. */
export function forumPostOf(body: unknown): ForumPostInfo | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const info = (body as { [FORUM_POST]?: ForumPostInfo | (() => ForumPostInfo) })[FORUM_POST];
  return typeof info === 'function' ? info() : (info ?? undefined);
}

/* Characters that are never wanted in a title: C0/C1 controls, and the bidirectional overrides and isolates a
   phishing title uses to show text in another order than it reads (U+061C, U+200E/F, U+202A–E, U+2066–9). */
// eslint-disable-next-line no-control-regex
const UNWANTED = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/**
 * The post title for an alert: its title as plain text, fitted to Discord's 100 characters (a visible `…` when
 * cut, never inside a surrogate pair). A post title is shown as typed, so nothing is backslash-escaped (it would
 * show); instead every trick is broken with an invisible U+200B: `@everyone`/`@here`, `<@…>`/`<#…>`/`<t:…>`-style
 * tokens, masked links `[a](b)`, and the markdown pairs (`**`, `__`, `~~`, `||`, double backticks) and line-start marks
 * (`#`, `>`, `-#`) that would format it where a client renders markdown. Line breaks and controls become spaces;
 * links to hosts other than the alert's own are defanged as in the message (unless the route said `defang: false`).
 * Blank titles fall back to the detection's name or id.
 */
export function forumPostTitle(alert: Pick<Alert, 'title' | 'detectionName' | 'detectionId' | 'link' | 'runbook' | 'links'>, defang = true): string {
  const plain = (s: string | null | undefined) => truncateText(s ?? '', 1000, { marker: '' }).text.replace(UNWANTED, ' ').replace(/\s+/g, ' ').trim();
  let text = plain(alert.title) || plain(alert.detectionName) || plain(alert.detectionId) || 'Alert';
  if (defang) text = defangUrls(text, alertHostSet(alert));
  text = text
    .replace(/@(?=everyone|here)/gi, '@\u200b')
    .replace(/<(?=[@#/:]|t:|a:|id:)/gi, '<\u200b')
    .replace(/\]\(/g, ']\u200b(')
    .replace(/([*_~|`])(?=\1)/g, '$1\u200b')
    .replace(/^(#|>|-#)/, '\u200b$1');
  return truncateText(text, FORUM_LIMITS.title, { marker: '…', escapeStyle: 'discord' }).text;
}

/**
 * The forum tag names for an alert under `config.tags`: the severity's tag first, then one per alert tag with a
 * mapping (alert tags matched case-insensitively, in the alert's order), each name once (case-insensitively); the
 * `default` tag when nothing matched. At most 5 (Discord's limit), and `dropped` names the rest.
 */
export function forumTagNames(alert: Pick<Alert, 'severity' | 'tags'>, config: ForumConfig | undefined): { names: string[]; dropped: string[] } {
  const tags = config?.tags;
  if (!tags) return { names: [], dropped: [] };
  const byAlertTag = new Map(Object.entries(tags.alertTags ?? {}).map(([tag, name]) => [tag.toLowerCase(), name]));
  const wanted = [tags.severity?.[alert.severity], ...alert.tags.map((tag) => byAlertTag.get(tag.toLowerCase()))].filter((n): n is string => !!n);
  const seen = new Set<string>();
  const names = wanted.filter((n) => !seen.has(n.toLowerCase()) && seen.add(n.toLowerCase()));
  if (names.length === 0 && tags.default) names.push(tags.default);
  return { names: names.slice(0, FORUM_LIMITS.appliedTags), dropped: names.slice(FORUM_LIMITS.appliedTags) };
}

/** Every tag name a forum config refers to (for `doctor`), each once. */
export function configuredTagNames(config: ForumConfig | undefined): string[] {
  const tags = config?.tags;
  if (!tags) return [];
  return [...new Set([...Object.values(tags.severity ?? {}), ...Object.values(tags.alertTags ?? {}), ...(tags.default ? [tags.default] : [])])];
}

/** The forum's tag (as `available_tags` lists them) for a configured name: the exact name, else case-insensitively. */
export function findTag<T extends { name: string }>(available: readonly T[], name: string): T | undefined {
  return available.find((t) => t.name === name) ?? available.find((t) => t.name.toLowerCase() === name.toLowerCase());
}

/**
 * What identifies an alert's starter message whatever its state: its text content and, per embed, the link,
 * footer and time. Left out is what changes with the state: the state line and colour, and the title and
 * description, which a resolution rewrites (Alertmanager's resolved notification changes the title's emoji and
 * may bring new annotations) while an attempt whose post was made unseen waits to be retried; the post's title,
 * compared besides, carries the alert's title. A message whose embeds have none of link, footer and time (a
 * template without them) is told apart by their title and description after all: content alone would take every
 * alert of a detection for one. Discord gives a message back as it was sent, timestamps re-written, hence the
 * parsed time.
 */
export function messageSignature(message: { content?: unknown; embeds?: unknown }): string {
  const embeds = Array.isArray(message.embeds) ? (message.embeds as Record<string, unknown>[]) : [];
  const str = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
  const stable = embeds.map((e) => [
    str(e?.url),
    str((e?.footer as { text?: unknown } | undefined)?.text),
    typeof e?.timestamp === 'string' ? Date.parse(e.timestamp) : null,
  ]);
  const identified = stable.some(([url, footer, time]) => url !== '' || footer !== '' || time !== null);
  return JSON.stringify([str(message.content), identified ? stable : embeds.map((e) => [str(e?.title), str(e?.description)])]);
}
