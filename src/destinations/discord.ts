import { REST, Routes } from 'discord.js';
import type { TemplateEngine } from '../templates/engine';
import { classifyDiscordError } from './discord-errors';
import type { MessageRef, PacingPolicy } from '../domain/delivery';
import type { Destination, SendOutcome } from './types';
import { DISCORD_DEFAULT_PACE, DiscordChannelFormatter, type DiscordBody, type DiscordChannelSettings } from './discord-format';

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

/** Thread name from the reply's first embed title (markdown escapes removed), 1..100 characters. */
function threadName(body: DiscordBody): string {
  const embeds = Array.isArray(body.embeds) ? (body.embeds as { title?: unknown }[]) : [];
  const title = typeof embeds[0]?.title === 'string' ? embeds[0].title.replace(/\\(.)/g, '$1').replace(/\u200b/g, '').trim() : '';
  return Array.from(title || 'Repeats of this alert').slice(0, 100).join('');
}

export function createDiscordRest(token: string, settings: DiscordRestSettings): REST {
  return new REST(discordRestOptions(settings)).setToken(token);
}

/**
 * Closes a discord.js REST client: stops its two sweeper intervals (unref'd, so they never showed up as keeping
 * the process alive, but each client left behind keeps them and itself forever). A request already in flight on
 * it still completes. Idempotent.
 */
export function closeDiscordRest(rest: REST): void {
  rest.clearHashSweeper();
  rest.clearHandlerSweeper();
}

/** A Discord channel reached with the bot token over REST (no gateway connection needed to post). */
export class DiscordChannelDestination extends DiscordChannelFormatter implements Destination<DiscordBody> {
  readonly pacingKey: string;
  readonly pacing: PacingPolicy;

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
  }

  async sendDigest(body: DiscordBody, existing: MessageRef | null): Promise<SendOutcome> {
    return existing ? this.edit(existing, body) : this.send(body);
  }

  async edit(ref: MessageRef, body: DiscordBody): Promise<SendOutcome> {
    try {
      this.rest.setToken(this.token);
      const { nonce: _nonce, enforce_nonce: _enforce, ...content } = body;
      // Edits re-parse mentions with default allowances unless allowed_mentions is sent again; components are
      // always sent so buttons that no longer apply disappear.
      await this.rest.patch(Routes.channelMessage(ref.channelId!, ref.messageId!), {
        body: { components: [], ...content, allowed_mentions: { parse: [] } },
      });
      return { kind: 'ok', ref };
    } catch (error) {
      return classifyDiscordError(error);
    }
  }

  async send(body: DiscordBody, channelId = this.settings.channel): Promise<SendOutcome> {
    try {
      // @discordjs/rest drops its token after any 401; set it again so one bad response cannot poison later sends.
      this.rest.setToken(this.token);
      const message = (await this.rest.post(Routes.channelMessages(channelId), { body })) as { id?: string; channel_id?: string };
      return { kind: 'ok', ref: { channelId: String(message.channel_id ?? channelId), messageId: String(message.id ?? '') } };
    } catch (error) {
      return classifyDiscordError(error);
    }
  }

  /**
   * Replies in the thread started from `parent`, starting it on the first repeat. If the thread cannot be
   * started (permissions, archived channel) the alert is posted in the channel instead: it must be seen.
   */
  async sendReply(body: DiscordBody, parent: MessageRef, thread: MessageRef | null): Promise<SendOutcome> {
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
}
