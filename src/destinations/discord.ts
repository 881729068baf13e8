import { renderMessage } from './render-message';
import { REST, Routes } from 'discord.js';
import type { Alert } from '../domain/alert';
import type { TemplateEngine } from '../templates/engine';
import { fitDiscordMessage } from '../templates/fit-discord';
import { classifyDiscordError } from './discord-errors';
import type { PacingPolicy } from '../delivery/pacer';
import { discordAllowedMentions } from '../routing/mentions';
import type { Destination, FormatContext, FormattedMessage, MessageRef, SendOutcome } from './types';
import { discordDigest, type DigestView } from './digest-format';

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

export function createDiscordRest(token: string, settings: DiscordRestSettings): REST {
  return new REST(discordRestOptions(settings)).setToken(token);
}

/** A Discord channel reached with the bot token over REST (no gateway connection needed to post). */
export class DiscordChannelDestination implements Destination<DiscordBody> {
  readonly type = 'discord';
  readonly pacingKey: string;
  readonly pacing: PacingPolicy;

  constructor(
    readonly name: string,
    private readonly settings: { channel: string; template?: string; pace?: PacingPolicy },
    private readonly rest: REST,
    private readonly token: string,
    private readonly templates: TemplateEngine,
  ) {
    this.pacingKey = `discord:${settings.channel}`;
    this.pacing = settings.pace ?? DISCORD_DEFAULT_PACE;
  }

  format(alert: Alert, ctx: FormatContext): FormattedMessage<DiscordBody> {
    const message = formatDiscordAlert(this.templates, alert, ctx, { name: this.name, ...this.settings }, true);
    // A nonce with enforce_nonce makes Discord return the existing message if a send is repeated after a crash
    // between posting and recording it (Discord keeps nonces for a few minutes).
    return { body: { ...message.body, nonce: ctx.deliveryKey.slice(0, 25), enforce_nonce: true }, warnings: message.warnings };
  }

  formatDigest(view: DigestView): FormattedMessage<DiscordBody> {
    return formatDiscordDigest(view);
  }

  async sendDigest(body: DiscordBody, existing: MessageRef | null): Promise<SendOutcome> {
    if (!existing) return this.send(body);
    try {
      this.rest.setToken(this.token);
      // Edits re-parse mentions with default allowances unless allowed_mentions is sent again.
      await this.rest.patch(Routes.channelMessage(existing.channelId!, existing.messageId!), { body: { ...body, allowed_mentions: { parse: [] } } });
      return { kind: 'ok', ref: existing };
    } catch (error) {
      return classifyDiscordError(error);
    }
  }

  async send(body: DiscordBody): Promise<SendOutcome> {
    try {
      // @discordjs/rest drops its token after any 401; set it again so one bad response cannot poison later sends.
      this.rest.setToken(this.token);
      const message = (await this.rest.post(Routes.channelMessages(this.settings.channel), { body })) as { id?: string; channel_id?: string };
      return { kind: 'ok', ref: { channelId: String(message.channel_id ?? this.settings.channel), messageId: String(message.id ?? '') } };
    } catch (error) {
      return classifyDiscordError(error);
    }
  }
}
