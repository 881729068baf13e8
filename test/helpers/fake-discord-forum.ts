/**
 * Forum and media channels for the fake Discord (fake-discord.ts), after discord-api-docs (c98d64bc)
 * channel.mdx "Start Thread in Forum or Media Channel", "Forum Tag Object", "Modify Channel" (thread params),
 * channel flags, threads.mdx "Forums" and opcodes-and-status-codes.mdx:
 * - `GET /channels/{forum}`: type 15 (forum) or 16 (media), `available_tags`, `flags` (REQUIRE_TAG = 1 << 4),
 *   `last_message_id` = the newest post's id;
 * - `POST /channels/{forum}/threads`: `name` required, 1–100 characters; `message` required (at least one of
 *   content, embeds, sticker_ids, components; only the documented fields; `flags` only SUPPRESS_EMBEDS and
 *   SUPPRESS_NOTIFICATIONS); `applied_tags` at most 5 ids of the forum's `available_tags`, and at least one when
 *   the forum has REQUIRE_TAG (40067); `auto_archive_duration` one of 60, 1440, 4320, 10080. The starter message
 *   has the thread's id; answer: the thread (type 11) with the nested message;
 * - `POST /channels/{forum}/messages`: 400 40058 (messages cannot be sent directly in forum channels);
 * - `PATCH /channels/{thread}` with `archived` (and the other documented thread params), by the thread's creator;
 *   a message edit in an archived thread is refused (50083); a message sent into one unarchives it unless locked
 *   (160005);
 * - `GET /guilds/{guild}/threads/active`: the active (not archived) threads with their owner and parent.
 * Pure state and rules: fake-discord.ts does the HTTP.
 */
import { collectDiscordIssues, formatDiscordPath, type DiscordIssue } from './fake-discord-validate';
import { FAKE_DISCORD_BOT, FAKE_GUILD_ID } from './fake-discord-wire';

export const REQUIRE_TAG = 1 << 4;
const MESSAGE_FIELDS = new Set(['content', 'embeds', 'allowed_mentions', 'components', 'sticker_ids', 'attachments', 'flags']);
const POST_FIELDS = new Set(['name', 'auto_archive_duration', 'rate_limit_per_user', 'message', 'applied_tags']);
const THREAD_PATCH_FIELDS = new Set(['name', 'archived', 'auto_archive_duration', 'locked', 'invitable', 'rate_limit_per_user', 'flags', 'applied_tags']);
const ARCHIVE_DURATIONS = [60, 1440, 4320, 10080];
const MESSAGE_FLAGS_ALLOWED = (1 << 2) | (1 << 12);

export interface FakeForumTag {
  id: string;
  name: string;
  moderated?: boolean;
}

export interface FakeForumOptions {
  id: string;
  /** 15 forum (default) or 16 media. */
  type?: 15 | 16;
  name?: string;
  tags?: FakeForumTag[];
  requireTag?: boolean;
}

export interface FakeThread {
  id: string;
  parentId: string;
  name: string;
  appliedTags: string[];
  archived: boolean;
  locked: boolean;
  ownerId: string;
}

/** A refusal as Discord answers it. */
export interface FakeRefusal {
  status: number;
  code: number;
  message: string;
  errors?: Record<string, unknown>;
  /** Validation problems, recorded as violations (only for rules the bridge should never break). */
  violations?: string[];
}

const len = (s: string, count: 'utf16' | 'codepoints') => (count === 'utf16' ? Math.max(s.length, [...s].length) : [...s].length);

/** The forums and forum posts of one fake Discord. */
export class FakeForums {
  readonly forums = new Map<string, Required<Omit<FakeForumOptions, 'tags'>> & { tags: FakeForumTag[]; lastThreadId: string | null }>();
  /** Posts (threads in forums) by thread id. */
  readonly posts = new Map<string, FakeThread>();

  add(options: FakeForumOptions): void {
    this.forums.set(options.id, {
      id: options.id,
      type: options.type ?? 15,
      name: options.name ?? `forum-${options.id.slice(-4)}`,
      requireTag: options.requireTag ?? false,
      tags: options.tags ?? [],
      lastThreadId: null,
    });
  }

  isForum(id: string): boolean {
    return this.forums.has(id);
  }

  /** `GET /channels/{id}` for a forum or one of its posts; undefined for other channels. */
  channelObject(id: string): Record<string, unknown> | undefined {
    const forum = this.forums.get(id);
    if (forum) {
      return {
        id,
        type: forum.type,
        guild_id: FAKE_GUILD_ID,
        name: forum.name,
        position: 0,
        flags: forum.requireTag ? REQUIRE_TAG : 0,
        parent_id: null,
        topic: null,
        last_message_id: forum.lastThreadId,
        rate_limit_per_user: 0,
        available_tags: forum.tags.map((t) => ({ id: t.id, name: t.name, moderated: t.moderated ?? false, emoji_id: null, emoji_name: null })),
        default_reaction_emoji: null,
        default_sort_order: null,
        default_forum_layout: 0,
      };
    }
    const post = this.posts.get(id);
    return post ? this.threadObject(post) : undefined;
  }

  threadObject(post: FakeThread): Record<string, unknown> {
    return {
      id: post.id,
      type: 11,
      guild_id: FAKE_GUILD_ID,
      parent_id: post.parentId,
      owner_id: post.ownerId,
      name: post.name,
      applied_tags: post.appliedTags,
      flags: 0,
      thread_metadata: { archived: post.archived, locked: post.locked, auto_archive_duration: 1440, archive_timestamp: new Date().toISOString() },
    };
  }

  /** Checks a `POST /channels/{forum}/threads` body; a refusal, or the accepted post's name, tags and message. */
  checkPost(forumId: string, body: unknown, count: 'utf16' | 'codepoints'): FakeRefusal | { name: string; appliedTags: string[]; message: Record<string, unknown> } {
    const forum = this.forums.get(forumId)!;
    const issues: DiscordIssue[] = [];
    const add = (path: (string | number)[], code: string, message: string) => issues.push({ path, code, message });
    const b = (body && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
    for (const key of Object.keys(b)) if (!POST_FIELDS.has(key)) add([key], 'BRIDGE_UNDOCUMENTED_FIELD', 'not a documented field of Start Thread in Forum or Media Channel');
    if (typeof b.name !== 'string') add(['name'], 'BASE_TYPE_REQUIRED', 'This field is required');
    else if (b.name.trim() === '' || len(b.name, count) > 100) add(['name'], 'BASE_TYPE_BAD_LENGTH', `Must be between 1 and 100 in length (got ${len(b.name, count)})`);
    if (b.auto_archive_duration !== undefined && !ARCHIVE_DURATIONS.includes(b.auto_archive_duration as number)) add(['auto_archive_duration'], 'BASE_TYPE_CHOICES', `must be one of ${ARCHIVE_DURATIONS.join(', ')}`);
    const tags = b.applied_tags === undefined ? [] : b.applied_tags;
    if (!Array.isArray(tags)) add(['applied_tags'], 'BASE_TYPE_ARRAY', 'must be an array');
    else {
      if (tags.length > 5) add(['applied_tags'], 'BASE_TYPE_MAX_LENGTH', `Must be 5 or fewer in length (got ${tags.length})`);
      tags.forEach((id, i) => {
        if (!forum.tags.some((t) => t.id === id)) add(['applied_tags', i], 'UNKNOWN_TAG', `unknown tag ${JSON.stringify(id)} (not in available_tags)`);
      });
    }
    const message = b.message;
    if (!message || typeof message !== 'object' || Array.isArray(message)) add(['message'], 'BASE_TYPE_REQUIRED', 'This field is required');
    else {
      const m = message as Record<string, unknown>;
      for (const key of Object.keys(m)) if (!MESSAGE_FIELDS.has(key)) add(['message', key], 'BRIDGE_UNDOCUMENTED_FIELD', 'not a field of the forum thread message params');
      if (typeof m.flags === 'number' && (m.flags & ~MESSAGE_FLAGS_ALLOWED) !== 0) add(['message', 'flags'], 'BASE_TYPE_BAD', 'only SUPPRESS_EMBEDS and SUPPRESS_NOTIFICATIONS can be set');
      const inner = collectDiscordIssues(m, { webhook: false, withComponents: false, count }).filter((i) => i.code !== 'BASE_TYPE_BAD' || i.path[0] !== 'flags');
      issues.push(...inner.map((i) => ({ ...i, path: ['message', ...i.path] })));
    }
    if (issues.length > 0) {
      const errors: Record<string, unknown> = {};
      for (const i of issues) errors[formatDiscordPath(i.path)] = { _errors: [{ code: i.code, message: i.message }] };
      return { status: 400, code: 50035, message: 'Invalid Form Body', errors, violations: issues.map((i) => `POST /channels/${forumId}/threads ${formatDiscordPath(i.path)}: ${i.message}`) };
    }
    if (forum.requireTag && (tags as unknown[]).length === 0) return { status: 400, code: 40067, message: 'A tag is required to create a forum post in this channel' };
    return { name: b.name as string, appliedTags: tags as string[], message: message as Record<string, unknown> };
  }

  /** Registers an accepted post as the forum's newest. */
  addPost(forumId: string, threadId: string, name: string, appliedTags: string[]): FakeThread {
    const post: FakeThread = { id: threadId, parentId: forumId, name, appliedTags, archived: false, locked: false, ownerId: FAKE_DISCORD_BOT.id };
    this.posts.set(threadId, post);
    this.forums.get(forumId)!.lastThreadId = threadId;
    return post;
  }

  /** `PATCH /channels/{thread}`: a refusal, or the thread as it is afterwards. */
  patchThread(threadId: string, body: unknown): FakeRefusal | Record<string, unknown> {
    const post = this.posts.get(threadId)!;
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const unknown = Object.keys(b).filter((k) => !THREAD_PATCH_FIELDS.has(k));
    if (unknown.length > 0 || (b.archived !== undefined && typeof b.archived !== 'boolean')) {
      return { status: 400, code: 50035, message: 'Invalid Form Body', violations: [`PATCH /channels/${threadId}: bad fields ${JSON.stringify(b)}`] };
    }
    if (post.locked && b.archived === false) return { status: 403, code: 160005, message: 'Thread is locked' };
    if (typeof b.archived === 'boolean') post.archived = b.archived;
    if (typeof b.name === 'string') post.name = b.name;
    return this.threadObject(post);
  }

  /** A message sent into a post: unarchives it (a refusal when locked). */
  messageInto(threadId: string): FakeRefusal | undefined {
    const post = this.posts.get(threadId);
    if (!post) return undefined;
    if (post.archived && post.locked) return { status: 403, code: 160005, message: 'Thread is locked' };
    post.archived = false;
    return undefined;
  }

  /** A message edit in a post: refused while archived (50083). */
  editIn(threadId: string): FakeRefusal | undefined {
    const post = this.posts.get(threadId);
    return post?.archived ? { status: 400, code: 50083, message: 'Thread is archived' } : undefined;
  }

  /** `GET /guilds/{guild}/threads/active`. */
  activeThreads(): Record<string, unknown> {
    return { threads: [...this.posts.values()].filter((p) => !p.archived).map((p) => this.threadObject(p)), members: [] };
  }
}
