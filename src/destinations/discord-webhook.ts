import { MessagePayload, WebhookClient, type WebhookMessageCreateOptions } from 'discord.js';
import type { Alert } from '../domain/alert';
import type { TemplateEngine } from '../templates/engine';
import { classifyDiscordError } from './discord-errors';
import { DISCORD_DEFAULT_PACE, discordRestOptions, formatDiscordAlert, formatDiscordDigest, type DiscordBody, type DiscordRestSettings } from './discord';
import type { MessageRef, PacingPolicy } from '../domain/delivery';
import type { Destination, FormatContext, FormattedMessage, SendOutcome } from './types';
import type { DigestView } from './digest-format';

const WEBHOOK_PATH = /\/api(?:\/v\d+)?\/webhooks\/(\d{15,25})\/([A-Za-z0-9_-]{10,})\/?$/;

/**
 * Extracts id and token from a Discord webhook URL. Parsed here rather than by WebhookClient so the REST base
 * can point at `discord.apiUrl` (proxies, tests) while the configured URL stays the real one.
 */
export function parseWebhookUrl(url: string): { id: string; token: string } | null {
  try {
    const m = WEBHOOK_PATH.exec(new URL(url).pathname);
    return m ? { id: m[1]!, token: m[2]! } : null;
  } catch {
    return null;
  }
}

/** A Discord incoming webhook: link buttons only (plain webhooks cannot send interactive components). */
export class DiscordWebhookDestination implements Destination<DiscordBody> {
  readonly type = 'discord-webhook';
  readonly pacingKey: string;
  readonly pacing: PacingPolicy;
  private readonly client: WebhookClient;

  constructor(
    readonly name: string,
    private readonly settings: { url: string; template?: string; pace?: PacingPolicy },
    rest: DiscordRestSettings,
    private readonly templates: TemplateEngine,
  ) {
    const parsed = parseWebhookUrl(settings.url);
    if (!parsed) throw new Error(`destination ${name}: not a Discord webhook URL`);
    this.pacingKey = `discord-webhook:${parsed.id}`;
    this.pacing = settings.pace ?? DISCORD_DEFAULT_PACE;
    this.client = new WebhookClient(parsed, { rest: discordRestOptions(rest), allowedMentions: { parse: [] } });
  }

  format(alert: Alert, ctx: FormatContext): FormattedMessage<DiscordBody> {
    // Plain webhooks cannot carry interactive buttons: link buttons only.
    const message = formatDiscordAlert(this.templates, alert, ctx, { name: this.name, ...this.settings }, false);
    // Resolve through discord.js exactly as send() will, so `render` prints the body that goes on the wire.
    const body = MessagePayload.create(this.client, toOptions(message.body)).resolveBody().body as DiscordBody;
    return { body, warnings: message.warnings };
  }

  formatDigest(view: DigestView): FormattedMessage<DiscordBody> {
    return formatDiscordDigest(view);
  }

  async sendDigest(body: DiscordBody, existing: MessageRef | null): Promise<SendOutcome> {
    if (!existing) return this.send(body);
    try {
      await this.client.editMessage(existing.messageId!, {
        ...(typeof body.content === 'string' ? { content: body.content } : {}),
        ...(Array.isArray(body.embeds) ? { embeds: body.embeds as WebhookMessageCreateOptions['embeds'] } : {}),
        allowedMentions: { parse: [] },
      });
      return { kind: 'ok', ref: existing };
    } catch (error) {
      return classifyDiscordError(error);
    }
  }

  /** Edits a message this webhook posted (triage state shown; webhooks carry link buttons only). */
  async edit(ref: MessageRef, body: DiscordBody): Promise<SendOutcome> {
    try {
      const options = toOptions(body);
      await this.client.editMessage(ref.messageId!, { ...options, components: options.components ?? [], allowedMentions: { parse: [] } } as never);
      return { kind: 'ok', ref };
    } catch (error) {
      return classifyDiscordError(error);
    }
  }

  async send(body: DiscordBody): Promise<SendOutcome> {
    try {
      const message = await this.client.send(toOptions(body));
      return { kind: 'ok', ref: { webhookId: this.client.id, messageId: String(message.id ?? '') } };
    } catch (error) {
      return classifyDiscordError(error);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

/** API-shaped body → discord.js options; `withComponents` makes link buttons survive on plain webhooks. */
function toOptions(body: DiscordBody): WebhookMessageCreateOptions & { withComponents: true } {
  return {
    ...(typeof body.content === 'string' ? { content: body.content } : {}),
    ...(Array.isArray(body.embeds) ? { embeds: body.embeds as WebhookMessageCreateOptions['embeds'] } : {}),
    ...(Array.isArray(body.components) ? { components: body.components as WebhookMessageCreateOptions['components'] } : {}),
    allowedMentions: (body.allowed_mentions as WebhookMessageCreateOptions['allowedMentions']) ?? { parse: [] },
    withComponents: true,
  };
}
