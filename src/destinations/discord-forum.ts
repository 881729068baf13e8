/**
 * Forum and media channels over the bot's REST client: a channel that only holds threads gets one post (a thread
 * with a starter message) per alert instead of a message. Facts: discord-api-docs channel.mdx "Start Thread in
 * Forum or Media Channel", "Forum Tag Object", channel flags (REQUIRE_TAG); threads.mdx "Forums".
 *
 * Exactly once without a nonce: the starter message of a forum post takes no `nonce`/`enforce_nonce` (they are
 * not among its documented fields), so Discord cannot absorb a repeated create as it does a repeated message.
 * Instead every create first reads the forum (`GET /channels/{id}`, which also refreshes its tags): when its
 * newest post is one this process did not make or has not seen, a post may exist that was never recorded (a
 * crash or a lost answer after Discord created it, here or on another replica) — and so may one when this
 * process's own create of the same title got no answer or a 5xx (Discord may make it late, after other posts) —
 * and the forum's active posts are listed (`GET /guilds/{id}/threads/active`). A post by this bot with the same
 * title, made no earlier than 5 minutes before the alert, whose starter shows the same alert (content, and per
 * embed link, footer and time: messageSignature) is taken as this alert's post: its starter is brought up to
 * date and no second post is made.
 */
import { DiscordAPIError, RateLimitError, type REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import { classifyDiscordError } from './discord-errors';
import type { DiscordBody } from './discord-format';
import type { SendOutcome } from './types';
import type { MessageRef } from '../domain/delivery';
import { findTag, messageSignature, REQUIRE_TAG, THREAD_ONLY_TYPES, type ForumPostInfo } from './discord-forum-post';

/** How much earlier than its alert an unrecorded post may have been made and still be taken for it (clock skew). */
const SKEW_MS = 5 * 60_000;
/** Thread ids and unexplained posts remembered per forum (oldest forgotten first). */
const REMEMBERED = 500;

/** What `GET /channels/{id}` says about a channel, as far as posts need it. */
export interface ChannelFacts {
  id: string;
  type: number;
  name?: string;
  guild_id?: string;
  flags?: number;
  /** For a forum: the id of its newest post. */
  last_message_id?: string | null;
  available_tags?: { id: string; name: string; moderated?: boolean }[];
}

interface ThreadFacts {
  id: string;
  parent_id?: string | null;
  owner_id?: string;
  name?: string;
}

/**
 * One forum's bookkeeping: posts accounted for, bot posts seen that no recorded delivery is known to own, and the
 * titles of this process's creates that may have made a post it never heard of (no answer, or a 5xx).
 */
interface ForumLedger {
  seen: Set<string>;
  unexplained: Map<string, { name: string; signature?: string }>;
  uncertain: Set<string>;
}

/** Per bot client: which channels are forums, each forum's ledger, and the bot's own user id. */
interface ClientState {
  kinds: Map<string, boolean>;
  forums: Map<string, ForumLedger>;
  botId?: string;
}

const states = new WeakMap<REST, ClientState>();

/** Milliseconds since the epoch at which a snowflake id was made. */
export function snowflakeTime(id: string): number {
  try {
    return Number((BigInt(id) >> 22n) + 1_420_070_400_000n);
  } catch {
    return 0;
  }
}

/** A forum post's starter message: its id is its thread's, and that is not the configured channel. */
export function isForumPostRef(ref: MessageRef, channel: string): boolean {
  return !!ref.channelId && ref.channelId === ref.messageId && ref.channelId !== channel;
}

const remember = <T>(set: Set<T>, value: T) => {
  set.add(value);
  if (set.size > REMEMBERED) set.delete(set.values().next().value as T);
};
/** Whether a create that failed may still have made its post: anything but Discord's refusal (4xx) or a local 429. */
const mayHavePosted = (error: unknown) => !(error instanceof RateLimitError) && !(error instanceof DiscordAPIError && error.status < 500);
const sameName = (a: string, b: string) => a.replace(/\u200b/g, '').trim() === b.replace(/\u200b/g, '').trim();

/**
 * Posts into the forum and media channels of one bot client. Destinations sharing the client share what it
 * learned (channel kinds, posts made), so two destinations on one forum never mistake each other's posts.
 */
export class DiscordForums {
  private readonly state: ClientState;

  constructor(
    private readonly rest: REST,
    private readonly token: string,
  ) {
    let state = states.get(rest);
    if (!state) states.set(rest, (state = { kinds: new Map(), forums: new Map() }));
    this.state = state;
  }

  /** True/false once known that `channelId` is (not) a forum or media channel; undefined before. */
  known(channelId: string): boolean | undefined {
    return this.state.kinds.get(channelId);
  }

  /** Reads the channel (throws what discord.js throws) and remembers whether it holds only threads. */
  async facts(channelId: string): Promise<ChannelFacts> {
    this.rest.setToken(this.token);
    const facts = (await this.rest.get(Routes.channel(channelId))) as ChannelFacts;
    this.state.kinds.set(channelId, THREAD_ONLY_TYPES[facts.type] !== undefined);
    return facts;
  }

  /**
   * Creates the post for `body` (a formatted channel message) in forum `channelId`, or finds the one an
   * unrecorded earlier attempt made (see the module comment). Tags are looked up by name in the forum's
   * `available_tags` at each post; names the forum does not have are left out, and `defaultTag` is applied when
   * none is left. A forum that requires a tag gets none of the configured ones: the post is refused (permanent),
   * naming the fix.
   */
  async post(channelId: string, body: DiscordBody, info: ForumPostInfo, defaultTag?: string): Promise<SendOutcome> {
    const { nonce: _nonce, enforce_nonce: _enforce, ...message } = body;
    try {
      const facts = await this.facts(channelId);
      const ids = (names: readonly string[]) => {
        const found = names.map((name) => findTag(facts.available_tags ?? [], name)?.id).filter((id): id is string => !!id);
        return [...new Set(found)].slice(0, 5);
      };
      let appliedTags = ids(info.tags);
      // None of the names the alert maps to is the forum's (a tag renamed or deleted since): the default, as when
      // nothing matched. A forum that requires a tag would refuse the post otherwise.
      if (appliedTags.length === 0 && defaultTag) appliedTags = ids([defaultTag]);
      if (appliedTags.length === 0 && ((facts.flags ?? 0) & REQUIRE_TAG) !== 0) {
        const wanted = info.tags.length > 0 ? `none of ${info.tags.join(', ')} is one of its tags` : 'forum.tags gives this alert no tag';
        return { kind: 'permanent', reason: `forum_tag_required: the forum requires a tag on every post and ${wanted} (map its tags in forum.tags, or set forum.tags.default; doctor lists them)` };
      }
      const ledger = this.ledger(channelId);
      // A create of this title whose outcome is unknown may have made a post that is not the newest any more (Discord
      // made it late, after another post): look whatever the newest is.
      const unsure = ledger.uncertain.has(info.title);
      if (facts.last_message_id && (unsure || !ledger.seen.has(facts.last_message_id))) await this.survey(facts, ledger);
      const existing = await this.unrecorded(ledger, message, info);
      if (existing) return existing;
      let created: { id?: string; message?: { id?: string } };
      try {
        created = (await this.rest.post(Routes.threads(channelId), {
          body: { name: info.title, ...(appliedTags.length > 0 ? { applied_tags: appliedTags } : {}), message },
        })) as typeof created;
      } catch (error) {
        if (mayHavePosted(error)) remember(ledger.uncertain, info.title);
        throw error;
      }
      ledger.uncertain.delete(info.title);
      const threadId = String(created.id ?? '');
      remember(ledger.seen, threadId);
      return { kind: 'ok', ref: { channelId: threadId, messageId: String(created.message?.id ?? threadId) } };
    } catch (error) {
      return classifyDiscordError(error);
    }
  }

  /** Archives (or unarchives) a post the bot made; the creator needs no Manage Threads permission for it. */
  async setArchived(threadId: string, archived: boolean): Promise<void> {
    this.rest.setToken(this.token);
    await this.rest.patch(Routes.channel(threadId), { body: { archived } });
  }

  private ledger(channelId: string): ForumLedger {
    let ledger = this.state.forums.get(channelId);
    if (!ledger) this.state.forums.set(channelId, (ledger = { seen: new Set(), unexplained: new Map(), uncertain: new Set() }));
    return ledger;
  }

  /**
   * Lists the forum's active posts: the bot's that this process did not make are remembered as unexplained. A
   * temporary failure fails the send (retried later: posting now could post twice); a refusal (the list is not
   * allowed) skips the check, and the post is made: an alert seen twice beats an alert not seen.
   */
  private async survey(facts: ChannelFacts, ledger: ForumLedger): Promise<void> {
    let threads: ThreadFacts[] | undefined;
    try {
      this.rest.setToken(this.token);
      this.state.botId ??= String(((await this.rest.get(Routes.user('@me'))) as { id?: string }).id ?? '');
      ({ threads } = (await this.rest.get(Routes.guildActiveThreads(facts.guild_id ?? ''))) as { threads?: ThreadFacts[] });
    } catch (error) {
      if (classifyDiscordError(error).kind === 'retryable') throw error;
    }
    for (const thread of threads ?? []) {
      if (thread.parent_id !== facts.id || ledger.seen.has(thread.id)) continue;
      remember(ledger.seen, thread.id);
      if (thread.owner_id === this.state.botId) ledger.unexplained.set(thread.id, { name: thread.name ?? '' });
    }
    remember(ledger.seen, facts.last_message_id!);
    while (ledger.unexplained.size > REMEMBERED) ledger.unexplained.delete(ledger.unexplained.keys().next().value as string);
  }

  /** The unexplained post that is this alert's, brought up to date; undefined when there is none. */
  private async unrecorded(ledger: ForumLedger, message: DiscordBody, info: ForumPostInfo): Promise<SendOutcome | undefined> {
    const wanted = messageSignature(message);
    for (const [threadId, post] of [...ledger.unexplained].reverse()) {
      if (!sameName(post.name, info.title) || snowflakeTime(threadId) < info.alertAtMs - SKEW_MS) continue;
      if (post.signature === undefined) {
        this.rest.setToken(this.token);
        try {
          post.signature = messageSignature((await this.rest.get(Routes.channelMessage(threadId, threadId))) as DiscordBody);
        } catch (error) {
          if (classifyDiscordError(error).kind === 'retryable') throw error;
          // Gone (404) or not readable: not a post this alert can be matched with.
          ledger.unexplained.delete(threadId);
          continue;
        }
      }
      if (post.signature !== wanted) continue;
      // Forgotten only once brought up to date: a failed edit leaves it to be found by the retry.
      await this.rest.patch(Routes.channelMessage(threadId, threadId), { body: { components: [], ...message, allowed_mentions: { parse: [] } } });
      ledger.unexplained.delete(threadId);
      ledger.uncertain.delete(info.title);
      remember(ledger.seen, threadId);
      return { kind: 'ok', ref: { channelId: threadId, messageId: threadId } };
    }
    return undefined;
  }
}
