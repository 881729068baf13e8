import type { Alert } from '../domain/alert';
import type { MessageRef, PacingPolicy } from '../domain/delivery';
import type { DigestView } from './digest-format';
import type { MentionConfig } from '../routing/mentions';
import type { TriageRenderContext } from '../triage/policy';
import type { EscapeTrace } from '../templates/escape-report';

/** What one destination would send for one alert: the exact request body plus what fitting/sanitising changed. */
export interface FormattedMessage<Body = unknown> {
  body: Body;
  /** Human-readable notes: truncations, dropped buttons, template fallbacks. Never contains secrets. */
  warnings: string[];
}

/**
 * The outcome of one send attempt, as a value (never thrown):
 * - ok: delivered; `ref` identifies the posted message.
 * - retryable: try again later (network, 5xx, 429); `retryAfterMs` when the platform said how long to wait,
 *   `rateLimited` when this was a 429 (does not count as a failed attempt); `globalLimit` when the limit was the
 *   client's or platform's global one (Discord's 50 requests/s per bot), which says nothing about this channel.
 * - permanent: retrying cannot help (bad token, unknown channel, 400); the delivery is dead. `bodyRejected`
 *   when the platform refused this message's content: the worker then tries once with the minimal template.
 */
export type SendOutcome =
  | { kind: 'ok'; ref: MessageRef; threadRef?: MessageRef; notThreaded?: boolean }
  | { kind: 'retryable'; reason: string; retryAfterMs?: number; rateLimited?: boolean; globalLimit?: boolean }
  | { kind: 'permanent'; reason: string; bodyRejected?: boolean };

/** Everything format() needs besides the alert. */
export interface FormatContext {
  /** Route that selected this destination. */
  route: string;
  /** Template chosen by the route, if any; the chain continues with the destination's, then "default". */
  template?: string;
  /** Stable per (alert, destination) key, usable as an idempotency nonce. */
  deliveryKey: string;
  /** Render the built-in minimal message (after the platform rejected the full one). */
  minimal?: boolean;
  /** The route's configured mentions that apply to this alert (already filtered by severity). */
  mentions?: MentionConfig;
  /**
   * False for a route with `defang: false`: URLs in alert data stay live links. Otherwise (absent or true) every
   * URL in alert text that is not on the alert's own hosts is defanged (`hxxps://evil[.]example/x`).
   */
  defang?: boolean;
  /** Triage state and buttons (routes with triage on); destinations without interactivity show the state only. */
  triage?: TriageRenderContext;
  /** Collects what escaping did to alert text (the console's preview); never changes the formatted body. */
  trace?: EscapeTrace;
  /**
   * The posted message this render replaces (an edit), as its send recorded it. A formatter keeps what the posted
   * message cannot change: a Discord message posted in the Components V2 layout (`layout: 'v2'` in its ref) stays
   * V2, one posted as an embed stays an embed, whatever the destination's layout is now.
   */
  editing?: MessageRef;
}

/**
 * The pure half of a destination: what it would send, with no client to send it (`render`, the console's
 * previews). `format` is pure: same input, same output, and exactly the body the live destination posts.
 */
export interface Formatter<Body = unknown> {
  readonly name: string;
  readonly type: string;
  format(alert: Alert, ctx: FormatContext): FormattedMessage<Body>;
  /** Burst digest body (optional capability): counts by severity, top alerts with links, "+N more". */
  formatDigest?(view: DigestView): FormattedMessage<Body>;
}

/**
 * A configured destination: a {@link Formatter} with the platform client to post what it formats. `send`
 * performs one attempt and reports the outcome as a value. Clients belong to the registry's PlatformClients,
 * which closes them; a destination holds none of its own.
 */
export interface Destination<Body = unknown> extends Formatter<Body> {
  /** The channel this destination posts into; destinations sharing a channel share its pace. */
  readonly pacingKey: string;
  /** How fast this channel may be posted to (Slack ~1/s per channel; Discord 5 per 5 s). */
  readonly pacing: PacingPolicy;
  send(body: Body): Promise<SendOutcome>;
  /** Posts a digest, or edits `existing` in place while the burst lasts. */
  sendDigest?(body: Body, existing: MessageRef | null): Promise<SendOutcome>;
  /**
   * Posts `body` as a reply in the thread of `parent` (optional capability: Slack thread_ts, Discord bot
   * threads). `thread` is the thread created earlier from that parent, if any; an ok outcome may carry the
   * thread it created (`threadRef`) so later replies reuse it.
   */
  sendReply?(body: Body, parent: MessageRef, thread: MessageRef | null): Promise<SendOutcome>;
  /** Replaces a posted message's content in place (optional capability), never pinging anyone. */
  edit?(ref: MessageRef, body: Body): Promise<SendOutcome>;
}
