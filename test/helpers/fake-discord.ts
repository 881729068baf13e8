/**
 * A fake Discord REST API (v10) on 127.0.0.1 for tests that drive the real discord.js `REST` / `WebhookClient`
 * over HTTP (platform-limits.md B2 webhooks, B4 rate limits, B5 test seams):
 *   new REST({ version: '10', api: fake.api }).setToken('discord-test-token')
 *   new WebhookClient({ id, token }, { rest: { api: fake.api } })
 *
 * Every create/edit is checked with validateDiscordMessage (B1, B3, PART C, and the Components V2 rules of
 * fake-discord-components.ts, an edit also against the stored message: the V2 flag stays); violations get Discord's
 * `400 {code:50035}` and are recorded in `fake.violations`.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { FakeHttpServer, type BaseFault, type FaultShorthand, type RecordedRequest } from './fake-http';
import { collectDiscordIssues, discordErrorsObject, formatDiscordPath } from './fake-discord-validate';
import { editStateIssues, isV2 } from './fake-discord-components';
import {
  FAKE_DISCORD_BOT,
  RateBuckets,
  channelObject,
  newMessageObject,
  parseDiscordBody,
  rateLimitResponse,
  snowflake,
} from './fake-discord-wire';
import { FakeForums, type FakeForumOptions, type FakeRefusal, type FakeThread } from './fake-discord-forum';

export { validateDiscordMessage, collectDiscordIssues, discordErrorsObject } from './fake-discord-validate';
export type { DiscordIssue, DiscordValidateOptions } from './fake-discord-validate';
export type { RecordedRequest, FakeCounters } from './fake-http';
export { FAKE_DISCORD_BOT } from './fake-discord-wire';
export type { FakeForumOptions, FakeForumTag, FakeThread } from './fake-discord-forum';

/** Faults: the shared ones plus an arbitrary Discord JSON error (`{code, message}` with an HTTP status). */
export type DiscordFault = BaseFault | { kind: 'error'; status: number; code: number; message: string; errors?: unknown };

/** Per-bucket (channel or webhook) limit for message creates: `limit` per `windowMs`, fixed window like Discord. */
export interface DiscordRateLimit {
  /** Default 5. */
  limit?: number;
  /** Default 5000 ms. */
  windowMs?: number;
  /**
   * Send X-RateLimit-* headers (default true, as Discord does). False: a 429 with Retry-After and its body is the
   * only sign of the limit, as from a proxy or a stricter fake; the client cannot see the bucket coming.
   */
  headers?: boolean;
}

export interface FakeWebhook {
  id: string;
  token: string;
  /** Channel the webhook posts into. */
  channelId: string;
  /** Application-owned webhooks may send interactive components (B2). Default false. */
  applicationOwned?: boolean;
}

export interface FakeDiscordOptions {
  /** Valid bot tokens (sent as `Authorization: Bot <token>`). Default `['discord-test-token']`. */
  tokens?: string[];
  /** Known channel ids. Default {@link DEFAULT_DISCORD_CHANNELS}. */
  channels?: string[];
  /** Pre-registered webhooks. Default: none (use `fake.webhookUrl()` / `fake.addWebhook()`). */
  webhooks?: FakeWebhook[];
  /** Enable the per-channel/per-webhook rate limit (`true` = 5 per 5 s). */
  rateLimit?: DiscordRateLimit | boolean;
  /** When false, violating messages are recorded as violations but still accepted. Default true. */
  rejectViolations?: boolean;
  /** Length counting for validation (default 'utf16' = code points and UTF-16). */
  count?: 'utf16' | 'codepoints';
  forbiddenSubstrings?: string[];
  /** Forum and media channels (fake-discord-forum.ts). */
  forums?: FakeForumOptions[];
}

/** One accepted create or edit. */
export interface DiscordMessage {
  /** Route template, e.g. `POST /channels/:id/messages`, `POST /webhooks/:id/:token`. */
  route: string;
  kind: 'create' | 'edit';
  /** Channel the message lives in (a webhook's channel for webhook messages). */
  channelId: string;
  /** Set for webhook executes/edits. */
  webhookId?: string;
  body: Record<string, unknown>;
  query: Record<string, string>;
  /** `with_components=true` was in the query. */
  withComponents: boolean;
  messageId: string;
  receivedAt: number;
}

export const DEFAULT_DISCORD_CHANNELS = ['1100000000000000001', '1100000000000000002'];
const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

type Route = { template: string; re: RegExp; auth: 'bot' | 'webhook' };
const ROUTES: Route[] = [
  { template: 'GET /users/@me', re: /^GET \/users\/@me$/, auth: 'bot' },
  { template: 'GET /channels/:id', re: /^GET \/channels\/(\d+)$/, auth: 'bot' },
  { template: 'POST /channels/:id/messages', re: /^POST \/channels\/(\d+)\/messages$/, auth: 'bot' },
  { template: 'GET /channels/:id/messages/:mid', re: /^GET \/channels\/(\d+)\/messages\/(\d+)$/, auth: 'bot' },
  { template: 'PATCH /channels/:id/messages/:mid', re: /^PATCH \/channels\/(\d+)\/messages\/(\d+)$/, auth: 'bot' },
  { template: 'POST /channels/:id/messages/:mid/threads', re: /^POST \/channels\/(\d+)\/messages\/(\d+)\/threads$/, auth: 'bot' },
  { template: 'POST /channels/:id/threads', re: /^POST \/channels\/(\d+)\/threads$/, auth: 'bot' },
  { template: 'PATCH /channels/:id', re: /^PATCH \/channels\/(\d+)$/, auth: 'bot' },
  { template: 'GET /guilds/:id/threads/active', re: /^GET \/guilds\/(\d+)\/threads\/active$/, auth: 'bot' },
  { template: 'GET /webhooks/:id/:token', re: /^GET \/webhooks\/(\d+)\/([^/]+)$/, auth: 'webhook' },
  { template: 'POST /webhooks/:id/:token', re: /^POST \/webhooks\/(\d+)\/([^/]+)$/, auth: 'webhook' },
  { template: 'PATCH /webhooks/:id/:token/messages/:mid', re: /^PATCH \/webhooks\/(\d+)\/([^/]+)\/messages\/(\d+)$/, auth: 'webhook' },
];

/** The fake Discord server; create it with {@link startFakeDiscord}. */
export class FakeDiscord extends FakeHttpServer<DiscordMessage, DiscordFault> {
  readonly tokens: Set<string>;
  readonly channels: Set<string>;
  readonly webhooks = new Map<string, FakeWebhook>();
  /** Threads started from messages: thread id (= starter message id) → parent channel and name. */
  readonly threads = new Map<string, { parentId: string; name: string }>();
  /** Forum and media channels and their posts. */
  readonly forums = new FakeForums();
  /** Current rate limit for message creates, or undefined when off (headers still sent with a roomy bucket). */
  rateLimit: Required<DiscordRateLimit> | undefined;
  rejectViolations: boolean;
  count: 'utf16' | 'codepoints';
  forbiddenSubstrings: string[];

  /** Latest state of every message by id. */
  private readonly store = new Map<string, { channelId: string; webhookId?: string; data: Record<string, unknown> }>();
  private readonly nonces = new Map<string, { messageId: string; at: number }>();
  private readonly buckets = new RateBuckets();
  private seq = 0;
  /** Creates answered with an existing message because of a repeated nonce (enforce_nonce). */
  nonceDuplicates = 0;
  /**
   * Forum posts to make without ever answering (the request hangs until close()): what a crash or a lost answer
   * right after Discord created the post looks like to the client.
   */
  losePostAnswers = 0;
  /**
   * Forum posts Discord makes late: the request hangs unanswered and the post is only made just before the next
   * post in the same forum (what a client sees when Discord is slow: its timeout fires, then the post appears).
   */
  latePosts = 0;
  private readonly lateCommits = new Map<string, (() => void)[]>();
  /**
   * Channel message creates (not webhook executes) to make without ever answering, as {@link losePostAnswers}: the
   * message exists, and a repeat with its nonce is answered with it.
   */
  loseMessageAnswers = 0;

  constructor(opts: FakeDiscordOptions = {}) {
    super();
    this.tokens = new Set(opts.tokens ?? ['discord-test-token']);
    this.channels = new Set(opts.channels ?? DEFAULT_DISCORD_CHANNELS);
    for (const w of opts.webhooks ?? []) this.addWebhook(w);
    for (const f of opts.forums ?? []) this.addForum(f);
    this.setRateLimit(opts.rateLimit);
    this.rejectViolations = opts.rejectViolations ?? true;
    this.count = opts.count ?? 'utf16';
    this.forbiddenSubstrings = opts.forbiddenSubstrings ?? [];
  }

  /** @internal used by startFakeDiscord */
  async start(): Promise<this> {
    await this.listen();
    return this;
  }

  /** The value for discord.js `REST({ api })` / `rest.api`: `http://127.0.0.1:PORT/api`. */
  get api(): string {
    return `${this.origin}/api`;
  }

  /** Enables (`true` = 5 per 5 s, or custom) or disables (`false`/undefined) per-channel rate limiting. */
  setRateLimit(limit: DiscordRateLimit | boolean | undefined): void {
    this.rateLimit = limit ? { limit: 5, windowMs: 5000, headers: true, ...(limit === true ? {} : limit) } : undefined;
    this.buckets.clear();
  }

  /** Adds a forum (or media) channel. */
  addForum(options: FakeForumOptions): void {
    this.forums.add(options);
    this.channels.add(options.id);
  }

  /** Registers a webhook (plain unless `applicationOwned`). Its channel must be known (added if not). */
  addWebhook(w: FakeWebhook): FakeWebhook {
    this.channels.add(w.channelId);
    this.webhooks.set(w.id, { ...w });
    return w;
  }

  /**
   * Registers a webhook and returns a realistic `https://discord.com/api/webhooks/<id>/<token>` URL for configs
   * (17–19 digit id, 68-char token). The bridge must parse id/token itself and pass `rest.api` (B5).
   */
  webhookUrl(id?: string, token?: string, opts: { channelId?: string; applicationOwned?: boolean } = {}): string {
    const wid = id ?? snowflake(++this.seq);
    const wtoken = token ?? Array.from(randomBytes(68), (b) => TOKEN_ALPHABET[b % 64]).join('');
    this.addWebhook({ id: wid, token: wtoken, channelId: opts.channelId ?? [...this.channels][0]!, applicationOwned: opts.applicationOwned });
    return `https://discord.com/api/webhooks/${wid}/${wtoken}`;
  }

  /** Accepted messages (creates and edits) in one channel. */
  messagesFor(channelId: string): DiscordMessage[] {
    return this.messages.filter((m) => m.channelId === channelId);
  }

  /** Current (post-edit) API message object. */
  stored(messageId: string): Record<string, unknown> | undefined {
    return this.store.get(messageId)?.data;
  }

  protected override normalizeFault(f: DiscordFault | FaultShorthand): DiscordFault {
    if (f === 'hang' || f === 'reset') return { kind: f };
    if (typeof f === 'number') return f === 429 ? { kind: 'rateLimit', retryAfterSec: 1 } : { kind: 'http', status: f };
    return f;
  }

  protected override classify(req: http.IncomingMessage, rec: RecordedRequest, raw: Buffer): Promise<void> {
    const sub = rec.path.replace(/^\/api\/v10(?=\/)/, '');
    const key = `${rec.method} ${sub}`;
    rec.route = ROUTES.find((r) => r.re.test(key))?.template ?? key;
    return parseDiscordBody(String(req.headers['content-type'] ?? ''), raw).then((b) => {
      rec.body = b;
    });
  }

  protected override renderFault(res: http.ServerResponse, rec: RecordedRequest, f: DiscordFault): void {
    if (f.kind === 'rateLimit') {
      const r = rateLimitResponse(f.retryAfterSec, f.global ?? false, rec.route);
      return this.sendJson(res, rec, 429, r.body, r.headers);
    }
    if (f.kind === 'error') return this.sendJson(res, rec, f.status, { message: f.message, code: f.code, ...(f.errors ? { errors: f.errors } : {}) });
    if (f.kind !== 'http') return;
    if (f.body !== undefined) {
      if (typeof f.body === 'string') this.sendText(res, rec, f.status, f.body, 'text/html');
      else this.sendJson(res, rec, f.status, f.body, f.headers);
      return;
    }
    // Bodies as Discord / its Cloudflare front would send them.
    if (f.status === 502 || f.status === 503) return this.sendText(res, rec, f.status, `<html><body>${f.status} Bad Gateway</body></html>`, 'text/html');
    const known: Record<number, object> = {
      400: { message: 'Invalid Form Body', code: 50035, errors: {} },
      401: { message: '401: Unauthorized', code: 0 },
      403: { message: 'Missing Access', code: 50001 },
      404: { message: 'Unknown Channel', code: 10003 },
    };
    this.sendJson(res, rec, f.status, known[f.status] ?? { message: `${f.status}: Internal Server Error`, code: 0 }, f.headers);
  }

  protected override describeMessage(m: DiscordMessage): string {
    const content = typeof m.body.content === 'string' ? m.body.content.slice(0, 60) : '';
    return `${m.kind} ${m.route} channel=${m.channelId} id=${m.messageId} content=${JSON.stringify(content)}`;
  }

  protected override handle(_req: http.IncomingMessage, res: http.ServerResponse, rec: RecordedRequest): void {
    const err = (status: number, code: number, message: string): void => {
      this.counters.rejected++;
      this.sendJson(res, rec, status, { message, code });
    };
    if (!rec.path.startsWith('/api/v10/')) return err(404, 0, '404: Not Found');
    // Like Discord, match on the decoded path: discord.js sends /users/%40me.
    const sub = decodeURIComponent(rec.path.slice('/api/v10'.length));
    const key = `${rec.method} ${sub}`;
    const route = ROUTES.find((r) => r.re.test(key));
    if (!route) return err(404, 0, '404: Not Found');
    const m = route.re.exec(key)!;
    let channelId = m[1]!;
    let webhook: FakeWebhook | undefined;
    if (route.auth === 'bot') {
      const auth = String(rec.headers.authorization ?? '');
      if (!auth.startsWith('Bot ') || !this.tokens.has(auth.slice(4))) return err(401, 0, '401: Unauthorized');
      const guildRoute = route.template === 'GET /users/@me' || route.template.startsWith('GET /guilds/');
      if (!guildRoute && !this.channels.has(channelId)) return err(404, 10003, 'Unknown Channel');
    } else {
      webhook = this.webhooks.get(m[1]!);
      if (!webhook) return err(404, 10015, 'Unknown Webhook');
      if (webhook.token !== m[2]) return err(401, 50027, 'Invalid Webhook Token');
      channelId = webhook.channelId;
    }
    const rl = this.bucket(route, webhook?.id ?? channelId);
    if (rl.limited) {
      this.counters.rateLimited++;
      const r = rateLimitResponse(rl.resetAfter, false, route.template, rl.headers);
      return this.sendJson(res, rec, 429, r.body, r.headers);
    }
    const mid = route.template.endsWith(':mid') ? m[m.length - 1]! : undefined;
    switch (route.template) {
      case 'GET /users/@me':
        return this.sendJson(res, rec, 200, FAKE_DISCORD_BOT, rl.headers);
      case 'GET /channels/:id':
        return this.sendJson(res, rec, 200, this.forums.channelObject(channelId) ?? channelObject(channelId), rl.headers);
      case 'GET /guilds/:id/threads/active':
        return this.sendJson(res, rec, 200, this.forums.activeThreads(), rl.headers);
      case 'POST /channels/:id/threads':
        return this.startPost(rec, res, channelId, rl.headers);
      case 'PATCH /channels/:id': {
        if (!this.forums.posts.has(channelId)) return err(400, 50024, 'Cannot execute action on this channel type');
        const patched = this.forums.patchThread(channelId, rec.body);
        return 'status' in patched ? this.refuse(res, rec, patched as FakeRefusal, rl.headers) : this.sendJson(res, rec, 200, patched, rl.headers);
      }
      case 'GET /webhooks/:id/:token':
        return this.sendJson(res, rec, 200, { id: webhook!.id, type: 1, channel_id: channelId, name: 'fake webhook' }, rl.headers);
      case 'POST /channels/:id/messages/:mid/threads': {
        // A thread started from a message has the message's id; a second start is refused (160004).
        const starter = m[2]!;
        const s = this.store.get(starter);
        if (!s || s.channelId !== channelId) return err(404, 10008, 'Unknown Message');
        // Threads do not nest: a message in a forum post (a thread) cannot start one.
        if (this.forums.posts.has(channelId)) return err(400, 50024, 'Cannot execute action on this channel type');
        if (this.channels.has(starter)) return err(400, 160004, 'A thread has already been created for this message');
        const name = (rec.body as { name?: unknown } | undefined)?.name;
        if (typeof name !== 'string' || name.length < 1 || name.length > 100) return err(400, 50035, 'Invalid Form Body');
        this.channels.add(starter);
        this.threads.set(starter, { parentId: channelId, name });
        return this.sendJson(res, rec, 201, { id: starter, type: 11, parent_id: channelId, name }, rl.headers);
      }
      case 'GET /channels/:id/messages/:mid': {
        const s = this.store.get(mid!);
        if (!s || s.channelId !== channelId) return err(404, 10008, 'Unknown Message');
        return this.sendJson(res, rec, 200, s.data, rl.headers);
      }
      default:
        return this.write(route, rec, res, channelId, webhook, mid, rl.headers, err);
    }
  }

  /** Creates or edits a message after validation and nonce handling. */
  private write(
    route: Route,
    rec: RecordedRequest,
    res: http.ServerResponse,
    channelId: string,
    webhook: FakeWebhook | undefined,
    mid: string | undefined,
    headers: Record<string, string>,
    err: (status: number, code: number, message: string) => void,
  ): void {
    const body = (rec.body ?? {}) as Record<string, unknown>;
    const withComponents = rec.query.with_components === 'true';
    const edit = mid !== undefined;
    const existing = edit ? this.store.get(mid) : undefined;
    if (edit && (!existing || existing.channelId !== channelId)) return err(404, 10008, 'Unknown Message');
    if (edit && existing!.webhookId !== webhook?.id) return err(403, 50005, 'Cannot edit a message authored by another user');
    if (!edit && !webhook && this.forums.isForum(channelId)) return err(400, 40058, 'Cannot send a message in a forum channel');
    const threadState = edit ? this.forums.editIn(channelId) : this.forums.messageInto(channelId);
    if (threadState) return this.refuse(res, rec, threadState, headers);

    const storedV2 = edit && isV2(existing!.data.flags);
    const issues = collectDiscordIssues(body, {
      webhook: webhook !== undefined,
      withComponents,
      applicationOwned: webhook?.applicationOwned ?? false,
      edit,
      count: this.count,
      forbiddenSubstrings: this.forbiddenSubstrings,
      messageIsV2: storedV2,
    });
    if (edit) issues.push(...editStateIssues(existing!.data, body));
    if (issues.length > 0) {
      this.recordViolations(issues.map((i) => `${route.template} ${webhook ? `webhook=${webhook.id}` : `channel=${channelId}`} ${formatDiscordPath(i.path)}: ${i.message}`));
      if (this.rejectViolations) {
        this.counters.rejected++;
        if (issues.length === 1 && issues[0]!.code === 'EMPTY_MESSAGE') {
          return this.sendJson(res, rec, 400, { message: 'Cannot send an empty message', code: 50006 }, headers);
        }
        return this.sendJson(res, rec, 400, { message: 'Invalid Form Body', code: 50035, errors: discordErrorsObject(issues) }, headers);
      }
    }

    // enforce_nonce (B1): a repeated nonce in the same channel returns the existing message, records nothing new.
    const nonceKey = !webhook && body.enforce_nonce === true && body.nonce !== undefined ? `${channelId}:${String(body.nonce)}` : undefined;
    if (nonceKey && !edit) {
      const seen = this.nonces.get(nonceKey);
      if (seen && Date.now() - seen.at < 5 * 60_000 && this.store.has(seen.messageId)) {
        this.nonceDuplicates++;
        return this.sendJson(res, rec, 200, this.store.get(seen.messageId)!.data, headers);
      }
    }

    // Plain webhooks without with_components: Discord silently drops components (B2).
    const dropComponents = webhook !== undefined && !webhook.applicationOwned && !withComponents;
    let data: Record<string, unknown>;
    const messageId = mid ?? snowflake(++this.seq);
    if (existing) {
      data = { ...existing.data, ...pick(body, ['content', 'embeds', 'flags']), edited_timestamp: new Date().toISOString() };
      if (body.components !== undefined && !dropComponents) data.components = body.components;
    } else {
      data = newMessageObject({ id: messageId, channelId, body, webhookId: webhook?.id, dropComponents });
    }
    this.store.set(messageId, { channelId, webhookId: webhook?.id, data });
    if (nonceKey && !edit) this.nonces.set(nonceKey, { messageId, at: Date.now() });
    this.recordMessage(
      {
        route: route.template,
        kind: edit ? 'edit' : 'create',
        channelId,
        ...(webhook ? { webhookId: webhook.id } : {}),
        body,
        query: rec.query,
        withComponents,
        messageId,
        receivedAt: rec.receivedAt,
      },
      channelId,
    );
    if (!edit && !webhook && this.loseMessageAnswers > 0) {
      this.loseMessageAnswers--;
      rec.outcome = 'hang';
      return;
    }
    // Webhook execute without ?wait=true answers 204 with no body (B2).
    if (route.template === 'POST /webhooks/:id/:token' && rec.query.wait !== 'true') {
      rec.status = 204;
      rec.outcome = 'responded';
      res.writeHead(204, headers).end();
      return;
    }
    this.sendJson(res, rec, 200, data, headers);
  }

  /** Answers a refusal as Discord would, recording its violations (rules the bridge must never break). */
  private refuse(res: http.ServerResponse, rec: RecordedRequest, refusal: FakeRefusal, headers: Record<string, string>): void {
    this.counters.rejected++;
    if (refusal.violations) this.recordViolations(refusal.violations);
    this.sendJson(res, rec, refusal.status, { message: refusal.message, code: refusal.code, ...(refusal.errors ? { errors: refusal.errors } : {}) }, headers);
  }

  /** `POST /channels/{forum}/threads`: a post with its starter message (which has the thread's id). */
  private startPost(rec: RecordedRequest, res: http.ServerResponse, forumId: string, headers: Record<string, string>): void {
    if (!this.forums.isForum(forumId)) return this.refuse(res, rec, { status: 400, code: 50024, message: 'Cannot execute action on this channel type' }, headers);
    const checked = this.forums.checkPost(forumId, rec.body, this.count);
    if ('status' in checked) return this.refuse(res, rec, checked, headers);
    const late = this.lateCommits.get(forumId) ?? [];
    this.lateCommits.delete(forumId);
    for (const commit of late) commit();
    if (this.latePosts > 0) {
      this.latePosts--;
      rec.outcome = 'hang';
      this.lateCommits.set(forumId, [() => this.makePost(rec, forumId, checked)]);
      return;
    }
    const post = this.makePost(rec, forumId, checked);
    if (this.losePostAnswers > 0) {
      this.losePostAnswers--;
      rec.outcome = 'hang';
      return;
    }
    this.sendJson(res, rec, 201, { ...this.forums.threadObject(post), message: this.store.get(post.id)!.data }, headers);
  }

  /** Makes an accepted post: the thread, its starter message (with the thread's id), and the record of both. */
  private makePost(rec: RecordedRequest, forumId: string, checked: { name: string; appliedTags: string[]; message: Record<string, unknown> }): FakeThread {
    const threadId = snowflake(++this.seq);
    const data = newMessageObject({ id: threadId, channelId: threadId, body: checked.message, dropComponents: false });
    this.store.set(threadId, { channelId: threadId, data });
    this.channels.add(threadId);
    const post = this.forums.addPost(forumId, threadId, checked.name, checked.appliedTags);
    this.recordMessage(
      { route: 'POST /channels/:id/threads', kind: 'create', channelId: threadId, body: checked.message, query: rec.query, withComponents: false, messageId: threadId, receivedAt: rec.receivedAt },
      threadId,
    );
    return post;
  }

  /**
   * Counts the request in its (route, channel/webhook) bucket. Only message creates are limited when rate limiting
   * is on; every other route (and creates when it is off) gets a roomy bucket so discord.js never pre-emptively waits.
   */
  private bucket(route: Route, major: string): ReturnType<RateBuckets['hit']> {
    const limited = this.rateLimit !== undefined && route.template.startsWith('POST');
    const result = limited
      ? this.buckets.hit(route.template, major, this.rateLimit!.limit, this.rateLimit!.windowMs)
      : this.buckets.hit(route.template, major, 1000, 1000);
    return this.rateLimit?.headers === false ? { ...result, headers: {} } : result;
  }
}

/** Starts a fake Discord REST API on 127.0.0.1 (random port). Remember `await fake.close()`. */
export function startFakeDiscord(opts: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  return new FakeDiscord(opts).start();
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}
