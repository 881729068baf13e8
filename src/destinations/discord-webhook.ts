import { MessagePayload, WebhookClient, type WebhookMessageCreateOptions } from 'discord.js';
import type { Alert } from '../domain/alert';
import type { TemplateEngine } from '../templates/engine';
import { classifyDiscordError } from './discord-errors';
import { discordRestOptions, type DiscordRestSettings } from './discord';
import { DISCORD_DEFAULT_PACE, formatDiscordAlert, formatDiscordDigest, formatDiscordReminder, postedRef, type DiscordBody } from './discord-format';
import type { DiscordLayout } from '../templates/discord-v2-layout';
import type { MessageRef, PacingPolicy } from '../domain/delivery';
import type { Destination, FormatContext, FormattedMessage, Formatter, ReminderView, SendOutcome } from './types';
import type { DigestView } from './digest-format';
import { parseWebhookUrl } from './webhook-url';

export { parseWebhookUrl } from './webhook-url';

/** The options every live webhook client is made with; the format target has the same message defaults. */
const WEBHOOK_DEFAULTS = { allowedMentions: { parse: [] } } as const;

/**
 * A webhook client live destinations post with: one per webhook URL, owned by the registry's PlatformClients
 * (which closes it). Throws on a URL that is not a Discord webhook's.
 */
export function createWebhookClient(destination: string, url: string, rest: DiscordRestSettings): WebhookClient {
  const parsed = parseWebhookUrl(url);
  if (!parsed) throw new Error(`destination ${destination}: not a Discord webhook URL`);
  return new WebhookClient(parsed, { ...WEBHOOK_DEFAULTS, rest: discordRestOptions(rest) });
}

let formatTarget: WebhookClient | undefined;
/**
 * discord.js resolves a message body against a webhook client's options (mention defaults, JSON transform). The
 * formatter resolves against this one, never used to send: the same message defaults as the live clients, its
 * REST sweepers off, so it holds no timer — one per process, whatever the number of previews.
 */
function payloadTarget(): WebhookClient {
  return (formatTarget ??= new WebhookClient({ id: '0', token: 'format-only' }, { ...WEBHOOK_DEFAULTS, rest: { hashSweepInterval: 0, handlerSweepInterval: 0 } }));
}

type WebhookSettings = { url: string; template?: string; pace?: PacingPolicy; layout?: DiscordLayout };

/** What a Discord webhook would be sent (link buttons only), without a client to send it. */
export class DiscordWebhookFormatter implements Formatter<DiscordBody> {
  readonly type = 'discord-webhook';

  constructor(
    readonly name: string,
    protected readonly settings: WebhookSettings,
    private readonly templates: TemplateEngine,
  ) {}

  format(alert: Alert, ctx: FormatContext): FormattedMessage<DiscordBody> {
    // Plain webhooks cannot carry interactive buttons: link buttons only.
    const message = formatDiscordAlert(this.templates, alert, ctx, { name: this.name, ...this.settings }, false);
    // Resolve through discord.js exactly as send() will, so `render` prints the body that goes on the wire.
    const body = MessagePayload.create(payloadTarget(), toOptions(message.body)).resolveBody().body as DiscordBody;
    return { body, warnings: message.warnings };
  }

  formatDigest(view: DigestView): FormattedMessage<DiscordBody> {
    return formatDiscordDigest(view);
  }

  formatReminder(view: ReminderView): FormattedMessage<DiscordBody> {
    // A webhook cannot reply to a message: the reminder goes in the channel, naming the alert.
    const { replyTo: _replyTo, ...inChannel } = view;
    const message = formatDiscordReminder(inChannel);
    const body = MessagePayload.create(payloadTarget(), toOptions(message.body)).resolveBody().body as DiscordBody;
    return { body, warnings: message.warnings };
  }
}

/** A Discord incoming webhook: link buttons only (plain webhooks cannot send interactive components). */
export class DiscordWebhookDestination extends DiscordWebhookFormatter implements Destination<DiscordBody> {
  readonly pacingKey: string;
  readonly pacing: PacingPolicy;

  constructor(name: string, settings: WebhookSettings, private readonly client: WebhookClient, templates: TemplateEngine) {
    super(name, settings, templates);
    this.pacingKey = `discord-webhook:${client.id}`;
    this.pacing = settings.pace ?? DISCORD_DEFAULT_PACE;
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
      return { kind: 'ok', ref: postedRef(body, { webhookId: this.client.id, messageId: String(message.id ?? '') }, message) };
    } catch (error) {
      return classifyDiscordError(error);
    }
  }
}

/**
 * API-shaped body → discord.js options; `withComponents` (`?with_components=true`) makes link buttons survive on
 * plain webhooks and lets them send a Components V2 message (its flag travels in `flags`).
 */
function toOptions(body: DiscordBody): WebhookMessageCreateOptions & { withComponents: true } {
  return {
    ...(typeof body.flags === 'number' ? { flags: body.flags as WebhookMessageCreateOptions['flags'] } : {}),
    ...(typeof body.content === 'string' ? { content: body.content } : {}),
    ...(Array.isArray(body.embeds) ? { embeds: body.embeds as WebhookMessageCreateOptions['embeds'] } : {}),
    ...(Array.isArray(body.components) ? { components: body.components as WebhookMessageCreateOptions['components'] } : {}),
    allowedMentions: (body.allowed_mentions as WebhookMessageCreateOptions['allowedMentions']) ?? { parse: [] },
    withComponents: true,
  };
}
