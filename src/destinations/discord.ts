import { renderMessage } from './render-message';
import { REST, Routes } from 'discord.js';
import type { Alert } from '../domain/alert';
import type { TemplateEngine } from '../templates/engine';
import { fitDiscordMessage } from '../templates/fit-discord';
import { classifyDiscordError } from './discord-errors';
import type { MessageRef, PacingPolicy } from '../domain/delivery';
import { discordAllowedMentions } from '../routing/mentions';
import type { Destination, FormatContext, FormattedMessage, Formatter, SendOutcome } from './types';
import { discordDigest, type DigestView } from './digest-format';
import { addDiscordTriage } from '../triage/render';

export type DiscordBody = Record<string, unknown>;

/**
 * Discord's per-channel message bucket is about 5 per 5 s; discord.js also reads the X-RateLimit-* headers and,
 * with rejectOnRateLimit, refuses a request its bucket has no room for before sending it.
 */
export const DISCORD_DEFAULT_PACE: PacingPolicy = { limit: 5, windowMs: 5000 };

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

/**
 * The Discord alert body shared by bot channels and webhooks: rendered and sanitised, fitted to the limits
 * (buttons only where `allowInteractive`), and `allowed_mentions` from the route's config alone — exactly its
 * targets, nothing a template wrote.
 */
export function formatDiscordAlert(
  templates: TemplateEngine,
  alert: Alert,
  ctx: FormatContext,
  destination: { name: string; template?: string },
  allowInteractive: boolean,
): FormattedMessage<DiscordBody> {
  const rendered = renderMessage(templates, 'discord', alert, ctx, destination);
  if (ctx.triage) addDiscordTriage(rendered.value, ctx.triage, allowInteractive);
  const fitted = fitDiscordMessage(rendered.value, { allowInteractive });
  return {
    body: { ...(fitted.body as DiscordBody), allowed_mentions: discordAllowedMentions(ctx.mentions) },
    warnings: [...rendered.warnings, ...fitted.warnings],
  };
}

/** The fitted digest body, the same for bot channels and webhooks (link-only, mentions off). */
export function formatDiscordDigest(view: DigestView): FormattedMessage<DiscordBody> {
  const fitted = fitDiscordMessage(discordDigest(view), { allowInteractive: false });
  return { body: fitted.body as DiscordBody, warnings: fitted.warnings };
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

type DiscordChannelSettings = { channel: string; template?: string; pace?: PacingPolicy };

/** What a Discord channel would be sent by the bot (with its nonce), without a client to send it. */
export class DiscordChannelFormatter implements Formatter<DiscordBody> {
  readonly type = 'discord';

  constructor(
    readonly name: string,
    protected readonly settings: DiscordChannelSettings,
    private readonly templates: TemplateEngine,
    /** Interactions endpoint configured (discord.publicKey): triage buttons are shown. */
    private readonly interactive = false,
  ) {}

  format(alert: Alert, ctx: FormatContext): FormattedMessage<DiscordBody> {
    const message = formatDiscordAlert(this.templates, alert, ctx, { name: this.name, ...this.settings }, this.interactive);
    // A nonce with enforce_nonce makes Discord return the existing message if a send is repeated after a crash
    // between posting and recording it (Discord keeps nonces for a few minutes).
    return { body: { ...message.body, nonce: ctx.deliveryKey.slice(0, 25), enforce_nonce: true }, warnings: message.warnings };
  }

  formatDigest(view: DigestView): FormattedMessage<DiscordBody> {
    return formatDiscordDigest(view);
  }
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
