import { DiscordAPIError, REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import type { TemplateEngine } from '../templates/engine';
import { classifyDiscordError } from './discord-errors';
import type { MessageRef, PacingPolicy } from '../domain/delivery';
import type { Destination, SendOutcome } from './types';
import { DISCORD_DEFAULT_PACE, DiscordChannelFormatter, forumStarterOf, postedRef, type DiscordBody, type DiscordChannelSettings } from './discord-format';
import { DiscordForums, isForumPostRef } from './discord-forum';
import { forumPostOf, forumPostTitle, type ForumPostInfo } from './discord-forum-post';
import { v2Title } from '../templates/discord-v2-layout';

export { DISCORD_DEFAULT_PACE, DiscordChannelFormatter, formatDiscordAlert, formatDiscordDigest, type DiscordBody } from './discord-format';

export interface DiscordRestSettings {
  apiUrl?: string;
  requestTimeoutMs: number;
}

/**
 * REST options shared by bot and webhook clients: no internal retries (the outbox retries), a bounded timeout,
 * and 429s rejected instead of waited out forever, so one rate-limited channel never stalls another.
 */
export function discordRestOptions(settings: DiscordRestSettings) {
  return {
    version: '10',
    ...(settings.apiUrl ? { api: settings.apiUrl.replace(/\/+$/, '') } : {}),
    retries: 0,
    timeout: settings.requestTimeoutMs,
    rejectOnRateLimit: () => true,
    // discord.js adds `offset` (50 ms by default) to every bucket reset it reads, to allow for clock drift against
    // Discord's. It computes the reset from when the answer arrived plus Discord's relative X-RateLimit-Reset-After,
    // which already lands at or after Discord's own reset. With the offset, its bucket was still closed when the
    // bridge's pace (counted from the request's end, a window later) opened the channel: it refused the send
    // locally and the channel waited a second window (about 2 s between messages on a 1/s channel instead of 1 s).
    offset: 0,
  };
}

/** The message's title with its markdown escapes removed: its first embed's, or its V2 heading ('' when none). */
function embedTitle(body: DiscordBody): string {
  const embeds = Array.isArray(body.embeds) ? (body.embeds as { title?: unknown }[]) : [];
  const shown = typeof embeds[0]?.title === 'string' ? embeds[0].title : v2Title(body);
  return shown.replace(/\\(.)/g, '$1').replace(/\u200b/g, '').trim();
}

/** Thread name from the reply's title (markdown escapes removed), 1..100 characters. */
function threadName(body: DiscordBody): string {
  return Array.from(embedTitle(body) || 'Repeats of this alert').slice(0, 100).join('');
}

/**
 * A body without forum post info (a digest): titled by its first embed, sanitised like an alert's title, and
 * tagged with the configured default tag only.
 */
function plainPostInfo(body: DiscordBody, defaultTag: string | undefined): ForumPostInfo {
  const title = forumPostTitle({ title: embedTitle(body), detectionName: null, detectionId: 'Alerts', link: '', runbook: null });
  return { title, tags: defaultTag ? [defaultTag] : [], resolved: false, alertAtMs: Date.now() };
}

/**
 * Whether a refused message may have been refused because the channel holds only threads (Discord: "Cannot send
 * a message in a forum channel", 40058; the exact answer is not documented, so any 400 or 403 is checked once).
 */
const mayBeThreadOnly = (error: unknown) => error instanceof DiscordAPIError && (error.status === 400 || error.status === 403);

export function createDiscordRest(token: string, settings: DiscordRestSettings): REST {
  return new REST(discordRestOptions(settings)).setToken(token);
}

/**
 * Closes a @discordjs/rest REST client: stops its two sweeper intervals (unref'd, so they never showed up as keeping
 * the process alive, but each client left behind keeps them and itself forever). A request already in flight on
 * it still completes. Idempotent.
 */
export function closeDiscordRest(rest: REST): void {
  rest.clearHashSweeper();
  rest.clearHandlerSweeper();
}

/**
 * A Discord channel reached with the bot token over REST (no gateway connection needed to post). A forum or media
 * channel (its type is read from Discord the first time a message is refused, then remembered) gets one post per
 * alert instead (discord-forum.ts): titled and tagged from the alert, its starter message the alert's message.
 */
export class DiscordChannelDestination extends DiscordChannelFormatter implements Destination<DiscordBody> {
  readonly pacingKey: string;
  readonly pacing: PacingPolicy;
  private readonly forums: DiscordForums;

  constructor(
    name: string,
    settings: DiscordChannelSettings,
    private readonly rest: REST,
    private readonly token: string,
    templates: TemplateEngine,
    interactive = false,
  ) {
    super(name, settings, templates, interactive);
    this.pacingKey = `discord:${settings.channel}`;
    this.pacing = settings.pace ?? DISCORD_DEFAULT_PACE;
    this.forums = new DiscordForums(rest, token);
  }

  async sendDigest(body: DiscordBody, existing: MessageRef | null): Promise<SendOutcome> {
    return existing ? this.edit(existing, body) : this.send(body);
  }

  /**
   * Edits a posted message in place. A forum post's starter is edited the same way; its post is archived after
   * the edit when the alert is resolved and the destination says `archiveOnResolve`. A message in a thread (a
   * post's starter, a repeat in a post or in a thread) found archived (Discord refuses edits in archived threads,
   * 50083) has its thread unarchived for the edit and archived again.
   */
  async edit(ref: MessageRef, body: DiscordBody): Promise<SendOutcome> {
    const post = isForumPostRef(ref, this.settings.channel);
    const inThread = !!ref.channelId && ref.channelId !== this.settings.channel;
    let archived = false;
    try {
      try {
        await this.patchMessage(ref, body);
      } catch (error) {
        if (!inThread || (error as { code?: unknown }).code !== 50083) throw error;
        archived = true;
        await this.forums.setArchived(ref.channelId!, false);
        await this.patchMessage(ref, body);
      }
    } catch (error) {
      return classifyDiscordError(error);
    }
    if (archived || (post && this.settings.forum?.archiveOnResolve && forumPostOf(body)?.resolved)) {
      try {
        await this.forums.setArchived(ref.channelId!, true);
      } catch (error) {
        const failure = classifyDiscordError(error);
        // Retried, the edit is repeated (harmless) and the archive tried again.
        if (failure.kind !== 'permanent') return failure;
        return { kind: 'permanent', reason: `edited, but the ${post ? 'post' : 'thread'} could not be archived: ${failure.reason}` };
      }
    }
    return { kind: 'ok', ref };
  }

  private async patchMessage(ref: MessageRef, body: DiscordBody): Promise<void> {
    this.rest.setToken(this.token);
    const { nonce: _nonce, enforce_nonce: _enforce, ...content } = body;
    // Edits re-parse mentions with default allowances unless allowed_mentions is sent again; components are
    // always sent so buttons that no longer apply disappear.
    await this.rest.patch(Routes.channelMessage(ref.channelId!, ref.messageId!), {
      body: { components: [], ...content, allowed_mentions: { parse: [] } },
    });
  }

  async send(body: DiscordBody, channelId = this.settings.channel): Promise<SendOutcome> {
    const own = channelId === this.settings.channel;
    if (own && this.forums.known(channelId)) return this.postInForum(body);
    try {
      // @discordjs/rest drops its token after any 401; set it again so one bad response cannot poison later sends.
      this.rest.setToken(this.token);
      const message = (await this.rest.post(Routes.channelMessages(channelId), { body })) as { id?: string; channel_id?: string; flags?: unknown };
      return { kind: 'ok', ref: postedRef(body, { channelId: String(message.channel_id ?? channelId), messageId: String(message.id ?? '') }, message) };
    } catch (error) {
      const failure = classifyDiscordError(error);
      if (!own || this.forums.known(channelId) !== undefined || !mayBeThreadOnly(error)) return failure;
      // Messages cannot be sent into a forum: is this one? (Read once; a text channel keeps the refusal.)
      try {
        await this.forums.facts(channelId);
      } catch (readError) {
        // Nothing was posted. A read that may work later (5xx, 429, network) is retried: the refusal may only
        // mean "this is a forum", and kept as the outcome it would leave the alert dead.
        const read = classifyDiscordError(readError);
        return read.kind === 'retryable' ? read : failure;
      }
      return this.forums.known(channelId) ? this.postInForum(body) : failure;
    }
  }

  /**
   * One post in this destination's forum channel for `body` (a digest, which carries no post info, too). A V2 body
   * starts its post with its embed layout (a starter message cannot be V2); the post's ref then says embed, so its
   * edits are embeds too, while repeats in the post are V2 messages. An alert already resolved when it is posted
   * (its source resolved it before the post was made, or no firing message was there to edit) is archived at once
   * with `archiveOnResolve`, as an edit to resolved would have done.
   */
  private async postInForum(body: DiscordBody): Promise<SendOutcome> {
    const defaultTag = this.settings.forum?.tags?.default;
    const info = forumPostOf(body) ?? plainPostInfo(body, defaultTag);
    const outcome = await this.forums.post(this.settings.channel, forumStarterOf(body) ?? body, info, defaultTag);
    if (outcome.kind !== 'ok' || !info.resolved || !this.settings.forum?.archiveOnResolve) return outcome;
    try {
      await this.forums.setArchived(outcome.ref.channelId!, true);
    } catch {
      // The post is made and must be recorded (a failure outcome would post it again): it stays open.
    }
    return outcome;
  }

  inOwnThread(ref: MessageRef): boolean {
    return isForumPostRef(ref, this.settings.channel);
  }

  /**
   * Replies in the thread started from `parent`, starting it on the first repeat. If the thread cannot be
   * started (permissions, archived channel) the alert is posted in the channel instead: it must be seen.
   */
  async sendReply(body: DiscordBody, parent: MessageRef, thread: MessageRef | null): Promise<SendOutcome> {
    if (isForumPostRef(parent, this.settings.channel)) return this.replyInPost(body, parent.channelId!);
    if (thread?.channelId) return this.send(body, thread.channelId);
    let threadId: string;
    try {
      this.rest.setToken(this.token);
      const created = (await this.rest.post(Routes.threads(parent.channelId!, parent.messageId!), {
        body: { name: threadName(body), auto_archive_duration: 1440 },
      })) as { id?: string };
      threadId = String(created.id ?? parent.messageId);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      // 160004: a thread already exists for this message; its id is the message id.
      if (code === 160004) threadId = parent.messageId!;
      else {
        const failure = classifyDiscordError(error);
        if (failure.kind === 'retryable') return failure;
        const outcome = await this.send(body);
        return outcome.kind === 'ok' ? { ...outcome, notThreaded: true } : outcome;
      }
    }
    const outcome = await this.send(body, threadId);
    return outcome.kind === 'ok' ? { ...outcome, threadRef: { channelId: threadId } } : outcome;
  }

  /**
   * A repeat in a forum goes into its first alert's post (a message there, with its nonce). If the post cannot
   * take it (locked, deleted) the repeat gets a post of its own: it must be seen.
   */
  private async replyInPost(body: DiscordBody, threadId: string): Promise<SendOutcome> {
    const outcome = await this.send(body, threadId);
    if (outcome.kind !== 'permanent' || outcome.bodyRejected) return outcome;
    const own = await this.send(body);
    return own.kind === 'ok' ? { ...own, notThreaded: true } : own;
  }
}
