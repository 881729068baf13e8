/**
 * Wire-level pieces of the fake Discord API (split from fake-discord.ts to keep files small): rate-limit buckets and
 * headers (platform-limits.md B4), snowflakes, API object shapes and body parsing.
 */
import { createHash } from 'node:crypto';

const DISCORD_EPOCH = 1_420_070_400_000n;
export const FAKE_GUILD_ID = '1000000000000000010';

/** Identity returned by `GET /users/@me` and used as author of bot-token messages. */
export const FAKE_DISCORD_BOT = {
  id: '1000000000000000001',
  username: 'chatops-bridge',
  discriminator: '0',
  global_name: null,
  avatar: null,
  bot: true,
};

/** Result of counting one request against its bucket. */
export interface BucketResult {
  limited: boolean;
  /** Seconds until the bucket resets (float). */
  resetAfter: number;
  /** X-RateLimit-* headers to send with the response. */
  headers: Record<string, string>;
}

/** Discord's per-route bucket id is a hash of the route template (the major parameter splits buckets further). */
export const bucketHash = (template: string): string => createHash('sha1').update(template).digest('hex').slice(0, 32);

/**
 * Fixed-window buckets keyed by (route template, major id = channel or webhook), like Discord's: `limit` requests
 * per window, then 429 until the window resets.
 */
export class RateBuckets {
  private readonly buckets = new Map<string, { start: number; count: number }>();

  clear(): void {
    this.buckets.clear();
  }

  /** Counts a request (unless over the limit) and returns the headers describing the bucket afterwards. */
  hit(template: string, major: string, limit: number, windowMs: number): BucketResult {
    const key = `${template}|${major}`;
    const now = Date.now();
    let b = this.buckets.get(key);
    if (!b || now - b.start >= windowMs) {
      b = { start: now, count: 0 };
      this.buckets.set(key, b);
    }
    const resetAt = b.start + windowMs;
    const resetAfter = Math.max(0.001, (resetAt - now) / 1000);
    const over = b.count >= limit;
    if (!over) b.count++;
    return {
      limited: over,
      resetAfter,
      headers: {
        'X-RateLimit-Limit': String(limit),
        'X-RateLimit-Remaining': String(Math.max(0, limit - b.count)),
        'X-RateLimit-Reset': (resetAt / 1000).toFixed(3),
        'X-RateLimit-Reset-After': resetAfter.toFixed(3),
        'X-RateLimit-Bucket': bucketHash(template),
      },
    };
  }
}

/**
 * Headers and body of Discord's 429 (B4): JSON `{message, retry_after (float s), global}`, `Retry-After` in whole
 * seconds, `X-RateLimit-Scope`, and `X-RateLimit-Global` only when global (discord.js tests for its presence).
 */
export function rateLimitResponse(
  retryAfter: number,
  global: boolean,
  template: string,
  base?: Record<string, string>,
): { headers: Record<string, string>; body: { message: string; retry_after: number; global: boolean } } {
  const headers: Record<string, string> = {
    ...(base ?? {
      'X-RateLimit-Limit': '5',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': ((Date.now() + retryAfter * 1000) / 1000).toFixed(3),
      'X-RateLimit-Reset-After': retryAfter.toFixed(3),
      'X-RateLimit-Bucket': bucketHash(template),
    }),
    'Retry-After': String(Math.max(1, Math.ceil(retryAfter))),
    'X-RateLimit-Scope': global ? 'global' : 'user',
    ...(global ? { 'X-RateLimit-Global': 'true' } : {}),
  };
  return { headers, body: { message: 'You are being rate limited.', retry_after: Number(retryAfter.toFixed(3)), global } };
}

/** Increasing snowflakes (17–19 digits) from the current time and a per-server sequence. */
export function snowflake(seq: number): string {
  return (((BigInt(Date.now()) - DISCORD_EPOCH) << 22n) | BigInt(seq & 0xfff)).toString();
}

/** A guild text channel as `GET /channels/:id` returns it. */
export function channelObject(id: string): Record<string, unknown> {
  return {
    id,
    type: 0,
    guild_id: FAKE_GUILD_ID,
    name: `fake-${id.slice(-4)}`,
    position: 0,
    permission_overwrites: [],
    nsfw: false,
    parent_id: null,
    topic: null,
    last_message_id: null,
    rate_limit_per_user: 0,
  };
}

/** The API message object for a newly created message. */
export function newMessageObject(args: {
  id: string;
  channelId: string;
  body: Record<string, unknown>;
  webhookId?: string;
  dropComponents: boolean;
}): Record<string, unknown> {
  const { id, channelId, body, webhookId, dropComponents } = args;
  return {
    id,
    type: 0,
    channel_id: channelId,
    guild_id: FAKE_GUILD_ID,
    content: typeof body.content === 'string' ? body.content : '',
    embeds: Array.isArray(body.embeds) ? body.embeds : [],
    components: dropComponents || !Array.isArray(body.components) ? [] : body.components,
    author: webhookId
      ? { id: webhookId, username: typeof body.username === 'string' ? body.username : 'Fake Webhook', discriminator: '0000', avatar: null, bot: true }
      : { ...FAKE_DISCORD_BOT },
    attachments: [],
    mentions: [],
    mention_roles: [],
    mention_everyone: false,
    pinned: false,
    tts: body.tts === true,
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    flags: typeof body.flags === 'number' ? body.flags : 0,
    ...(webhookId ? { webhook_id: webhookId } : {}),
    ...(body.nonce !== undefined ? { nonce: body.nonce } : {}),
  };
}

/** JSON body, or multipart with a `payload_json` field (what discord.js sends when files are attached). */
export async function parseDiscordBody(contentType: string, raw: Buffer): Promise<unknown> {
  if (raw.length === 0) return undefined;
  let text = raw.toString('utf8');
  if (contentType.toLowerCase().startsWith('multipart/form-data')) {
    const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    const pj = form.get('payload_json');
    text = typeof pj === 'string' ? pj : '{}';
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
