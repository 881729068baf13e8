/**
 * The pure half of Discord destinations: the alert and digest bodies (rendered, sanitised, fitted, mentions from
 * the route alone) and what a bot channel would be sent, with no client and no SDK loaded (previews, `render`, and
 * the template check of a process that delivers elsewhere). Webhook bodies are resolved through discord.js
 * (discord-webhook.ts), so their formatter needs it.
 */
import { renderMessage } from './render-message';
import type { Alert } from '../domain/alert';
import type { TemplateEngine } from '../templates/engine';
import { fitDiscordMessage } from '../templates/fit-discord';
import type { MessageRef, PacingPolicy } from '../domain/delivery';
import { discordAllowedMentions } from '../routing/mentions';
import type { FormatContext, FormattedMessage, Formatter, ReminderView } from './types';
import { discordReminder, reminderAllowedMentions } from './reminder-format';
import { discordDigest, type DigestView } from './digest-format';
import { addDiscordTriage } from '../triage/render';
import { attachForumPost, forumPostTitle, forumTagNames, type ForumConfig, type ForumPostInfo } from './discord-forum-post';
import { layOutDiscordV2, type DiscordLayout } from '../templates/discord-v2-layout';
import { isComponentsV2 } from '../templates/fit-discord-v2';

export type DiscordBody = Record<string, unknown>;

/**
 * Discord's per-channel message bucket is about 5 per 5 s; discord.js also reads the X-RateLimit-* headers and,
 * with rejectOnRateLimit, refuses a request its bucket has no room for before sending it.
 */
export const DISCORD_DEFAULT_PACE: PacingPolicy = { limit: 5, windowMs: 5000 };

/**
 * The embed-layout body a V2 body carries for a forum (or media) post's starter message, which Discord lets set
 * only SUPPRESS_EMBEDS and SUPPRESS_NOTIFICATIONS (channel.mdx, "Forum and Media Thread Message Params"). A symbol
 * key, not enumerable: invisible to JSON (the wire, `render`) and to spreads.
 */
const FORUM_STARTER: unique symbol = Symbol('chatops-bridge.forumStarter');

/** The embed body a forum post must start with instead of `body` (a V2 body), if any. */
export function forumStarterOf(body: DiscordBody): DiscordBody | undefined {
  return (body as { [FORUM_STARTER]?: DiscordBody })[FORUM_STARTER];
}

/** Ref key a send records for a message posted in the Components V2 layout (absent: an embed message). */
export const V2_REF_KEY = 'layout';

/**
 * The ref a send records: `ref`, marked as V2 when the posted message is a Components V2 one (its edits must stay
 * V2). What Discord answered decides, when it says: a retry whose nonce matched an earlier post is answered with
 * that message, which keeps the layout it was posted in even if the layout changed since; else the body sent.
 */
export function postedRef(body: DiscordBody, ref: MessageRef, answer?: { flags?: unknown }): MessageRef {
  const v2 = typeof answer?.flags === 'number' ? isComponentsV2(answer) : isComponentsV2(body);
  return v2 ? { ...ref, [V2_REF_KEY]: 'v2' } : ref;
}

/**
 * The layout of this render: the posted message's own when it is an edit (a V2 message cannot lose its flag, and an
 * embed message is not turned into V2 behind its readers' backs), else the destination's.
 */
export function layoutFor(ctx: FormatContext, configured: DiscordLayout | undefined): DiscordLayout {
  if (ctx.editing) return ctx.editing[V2_REF_KEY] === 'v2' ? 'v2' : 'embed';
  return configured ?? 'embed';
}

/**
 * The Discord alert body shared by bot channels and webhooks: rendered and sanitised, fitted to the limits
 * (buttons only where `allowInteractive`), laid out as the destination's `layout` says (the embed message, or it
 * converted to Components V2), and `allowed_mentions` from the route's config alone — exactly its targets,
 * nothing a template wrote. In V2 the route's mentions sit in a text display instead of `content`, and ping the
 * same targets.
 */
export function formatDiscordAlert(
  templates: TemplateEngine,
  alert: Alert,
  ctx: FormatContext,
  destination: { name: string; template?: string; layout?: DiscordLayout },
  allowInteractive: boolean,
): FormattedMessage<DiscordBody> & { embed?: DiscordBody } {
  const rendered = renderMessage(templates, 'discord', alert, ctx, destination);
  if (ctx.triage) addDiscordTriage(rendered.value, ctx.triage, allowInteractive);
  const fitted = fitDiscordMessage(rendered.value, { allowInteractive });
  const allowed = discordAllowedMentions(ctx.mentions);
  if (layoutFor(ctx, destination.layout) === 'embed') {
    // Set on the fitted body (the fitter's own copy, which already has the key, so it keeps its place) rather than
    // spread into a new one: a copy of a message body cost ~1.5 µs.
    fitted.body.allowed_mentions = allowed;
    return { body: fitted.body, warnings: [...rendered.warnings, ...fitted.warnings] };
  }
  const laidOut = layOutDiscordV2(fitted.body, { allowInteractive });
  return {
    body: { ...laidOut.body, allowed_mentions: allowed },
    warnings: [...rendered.warnings, ...fitted.warnings, ...laidOut.warnings],
    // What a forum post starts with instead: the same message in the embed layout.
    embed: { ...fitted.body, allowed_mentions: allowed },
  };
}

/**
 * The fitted digest body, the same for bot channels and webhooks (link-only, mentions off), always an embed: a
 * digest pings no one, so V2's difference does not matter to it, and it is edited in place for as long as the
 * burst lasts, which in one layout never meets a layout change (docs/discord.md).
 */
export function formatDiscordDigest(view: DigestView): FormattedMessage<DiscordBody> {
  const fitted = fitDiscordMessage(discordDigest(view), { allowInteractive: false });
  return { body: fitted.body as DiscordBody, warnings: fitted.warnings };
}

/** The fitted reminder body, the same for bot channels and webhooks (a webhook drops what it cannot send). */
export function formatDiscordReminder(view: ReminderView): FormattedMessage<DiscordBody> {
  const fitted = fitDiscordMessage(discordReminder(view), { allowInteractive: false });
  return { body: { ...(fitted.body as DiscordBody), allowed_mentions: reminderAllowedMentions(view) }, warnings: fitted.warnings };
}

export type DiscordChannelSettings = { channel: string; template?: string; pace?: PacingPolicy; forum?: ForumConfig; layout?: DiscordLayout };

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
    // Set on the body formatDiscordAlert made for this call instead of a copy of it (~1.5 µs): same keys, same order.
    const body = message.body;
    body.nonce = ctx.deliveryKey.slice(0, 25);
    body.enforce_nonce = true;
    // What a forum channel needs besides the message (the channel's type is only known when sending).
    const tags = forumTagNames(alert, this.settings.forum);
    const resolved = alert.status === 'resolved' || ctx.triage?.view.status === 'resolved';
    const defang = ctx.defang !== false;
    const alertAtMs = alert.createdAtMs;
    // Made when a forum send asks for it (once): a text channel never does. Alerts are not changed once parsed.
    let post: ForumPostInfo | undefined;
    attachForumPost(body, () => (post ??= { title: forumPostTitle(alert, defang), tags: tags.names, resolved, alertAtMs }));
    if (message.embed) Object.defineProperty(body, FORUM_STARTER, { value: message.embed, enumerable: false });
    const dropped = tags.dropped.length > 0 ? [`forum post: Discord applies at most 5 tags; left out ${tags.dropped.join(', ')}`] : [];
    return { body, warnings: [...message.warnings, ...dropped] };
  }

  formatDigest(view: DigestView): FormattedMessage<DiscordBody> {
    return formatDiscordDigest(view);
  }

  formatReminder(view: ReminderView): FormattedMessage<DiscordBody> {
    const message = formatDiscordReminder(view);
    // The nonce makes a reminder sent again after a crash between posting and recording it come back as the first.
    return { body: { ...message.body, nonce: view.key.slice(0, 25), enforce_nonce: true }, warnings: message.warnings };
  }
}
