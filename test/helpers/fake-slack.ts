/**
 * A fake Slack Web API on 127.0.0.1 for tests that drive the real `@slack/web-api` / Bolt client over HTTP
 * (platform-limits.md A2 wire format, A4 rate limits, A5 test seams). Point a client at it with
 * `new WebClient(token, { slackApiUrl: fake.url })` or Bolt's `clientOptions: { slackApiUrl: fake.url }`.
 *
 * Every chat.postMessage / chat.update is checked with validateSlackMessage (A1 limits, A3 mention rules);
 * violations are answered the way Slack would (`ok:false`) and recorded in `fake.violations`.
 */
import type http from 'node:http';
import { FakeHttpServer, type BaseFault, type FaultShorthand, type RecordedRequest } from './fake-http';
import { collectSlackIssues } from './fake-slack-validate';

export { validateSlackMessage, collectSlackIssues, SLACK_LIVE_MENTION } from './fake-slack-validate';
export type { SlackIssue, SlackValidateOptions } from './fake-slack-validate';
export type { RecordedRequest, FakeCounters } from './fake-http';

/** Faults: the shared ones plus a Slack `200 {ok:false, error}` answer (invalid_auth, ratelimited, internal_error…). */
export type SlackFault = BaseFault | { kind: 'error'; error: string };

/** Per-channel rate limiting for chat.postMessage: more than `perChannel` posts within `windowMs` → 429. */
export interface SlackRateLimit {
  perChannel: number;
  /** Default 1000 ms (Slack's "1 message per second to a specific channel"). */
  windowMs?: number;
}

export interface FakeSlackOptions {
  /** Valid bot tokens. Default `['xoxb-test']`. */
  tokens?: string[];
  /** Known channel ids. Default `['C0123456789', 'C0SECOND01']`. */
  channels?: string[];
  /** Enables per-channel rate limiting from the start. */
  rateLimit?: SlackRateLimit;
  /** When false, violating messages are recorded (and listed in violations) but answered `ok:true`. Default true. */
  rejectViolations?: boolean;
  /** Substrings that must never appear in any posted string (checked like a violation). */
  forbiddenSubstrings?: string[];
}

/** One accepted chat.postMessage or chat.update. */
export interface SlackMessage {
  method: 'chat.postMessage' | 'chat.update';
  channel: string;
  /** Parsed arguments: blocks/attachments/metadata as objects, known boolean flags as booleans. */
  args: Record<string, unknown>;
  ts: string;
  receivedAt: number;
}

/** Identity returned by auth.test (Bolt needs user_id and bot_id). */
export const FAKE_SLACK_IDENTITY = {
  url: 'https://fake-workspace.slack.com/',
  team: 'Fake Workspace',
  user: 'chatops-bridge',
  team_id: 'T0FAKETEAM1',
  user_id: 'U0FAKEBOT01',
  bot_id: 'B0FAKEBOT01',
  is_enterprise_install: false,
} as const;

/** Arguments that are JSON-stringified into form fields by @slack/web-api (A2 wire format). */
const JSON_ARGS = new Set(['blocks', 'attachments', 'metadata']);
/** Boolean arguments, which arrive as the strings "true"/"false" in a form body. */
const BOOL_ARGS = new Set(['unfurl_links', 'unfurl_media', 'mrkdwn', 'as_user', 'reply_broadcast', 'link_names']);

/** The fake Slack server; create it with {@link startFakeSlack}. */
export class FakeSlack extends FakeHttpServer<SlackMessage, SlackFault> {
  /** Valid tokens (mutable). */
  readonly tokens: Set<string>;
  /** Known channels (mutable). */
  readonly channels: Set<string>;
  /** Per-channel limit for chat.postMessage, or undefined for none. Mutable; see also setRateLimit(). */
  rateLimit: SlackRateLimit | undefined;
  rejectViolations: boolean;
  forbiddenSubstrings: string[];

  /** chat.postEphemeral calls, in order. */
  readonly ephemerals: { channel: string; user: string; text: string }[] = [];
  /** usergroups.users.list answers: group id → member user ids. */
  readonly userGroups = new Map<string, string[]>();
  /** users.info answers: user id → profile email. */
  readonly userEmails = new Map<string, string>();
  /** Latest state of every posted message, by `${channel}/${ts}` (chat.update edits it). */
  private readonly store = new Map<string, Record<string, unknown>>();
  private readonly postTimes = new Map<string, number[]>();
  private tsCounter = 0;

  constructor(opts: FakeSlackOptions = {}) {
    super();
    this.tokens = new Set(opts.tokens ?? ['xoxb-test']);
    this.channels = new Set(opts.channels ?? ['C0123456789', 'C0SECOND01']);
    this.rateLimit = opts.rateLimit;
    this.rejectViolations = opts.rejectViolations ?? true;
    this.forbiddenSubstrings = opts.forbiddenSubstrings ?? [];
  }

  /** @internal used by startFakeSlack */
  async start(): Promise<this> {
    await this.listen();
    return this;
  }

  /** The value for `slackApiUrl`: `http://127.0.0.1:PORT/api/`. */
  get url(): string {
    return `${this.origin}/api/`;
  }

  /** Turns per-channel rate limiting on (or off with `undefined`). */
  setRateLimit(limit: SlackRateLimit | undefined): void {
    this.rateLimit = limit;
    this.postTimes.clear();
  }

  /** Messages accepted for one channel, in order. */
  messagesFor(channel: string): SlackMessage[] {
    return this.messages.filter((m) => m.channel === channel);
  }

  /** Current (post-update) arguments of a posted message, if it exists. */
  stored(channel: string, ts: string): Record<string, unknown> | undefined {
    return this.store.get(`${channel}/${ts}`);
  }

  protected override normalizeFault(f: SlackFault | FaultShorthand): SlackFault {
    if (f === 'hang' || f === 'reset') return { kind: f };
    if (typeof f === 'number') return f === 429 ? { kind: 'rateLimit', retryAfterSec: 1 } : { kind: 'http', status: f };
    return f;
  }

  protected override classify(req: http.IncomingMessage, rec: RecordedRequest, raw: Buffer): Promise<void> {
    rec.route = rec.path.startsWith('/api/') ? rec.path.slice('/api/'.length) : rec.path;
    return parseSlackBody(String(req.headers['content-type'] ?? ''), raw).then((body) => {
      rec.body = { ...rec.query, ...body };
    });
  }

  protected override renderFault(res: http.ServerResponse, rec: RecordedRequest, f: SlackFault): void {
    if (f.kind === 'rateLimit') {
      this.sendJson(res, rec, 429, { ok: false, error: 'ratelimited' }, { 'Retry-After': String(f.retryAfterSec) });
    } else if (f.kind === 'error') {
      this.sendJson(res, rec, 200, { ok: false, error: f.error });
    } else if (f.kind === 'http') {
      const body = f.body ?? (f.status >= 500 ? '<html><body>Internal Server Error</body></html>' : { ok: false });
      if (typeof body === 'string') this.sendText(res, rec, f.status, body, 'text/html');
      else this.sendJson(res, rec, f.status, body, f.headers);
    }
  }

  protected override describeMessage(m: SlackMessage): string {
    const text = typeof m.args.text === 'string' ? m.args.text.slice(0, 60) : '';
    return `${m.method} ${m.channel} ts=${m.ts} text=${JSON.stringify(text)}`;
  }

  protected override handle(_req: http.IncomingMessage, res: http.ServerResponse, rec: RecordedRequest): void {
    const args = (rec.body ?? {}) as Record<string, unknown>;
    const fail = (error: string, extra: Record<string, unknown> = {}): void => {
      this.counters.rejected++;
      this.sendJson(res, rec, 200, { ok: false, error, ...extra });
    };
    if (!rec.path.startsWith('/api/')) {
      this.counters.rejected++;
      this.sendText(res, rec, 404, 'Not Found');
      return;
    }
    const auth = String(rec.headers.authorization ?? '');
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : typeof args.token === 'string' ? args.token : '';
    if (token === '') return fail('not_authed');
    if (!this.tokens.has(token)) return fail('invalid_auth');

    switch (rec.route) {
      case 'api.test':
        this.sendJson(res, rec, 200, { ok: true, args });
        return;
      case 'auth.test':
        this.sendJson(res, rec, 200, { ok: true, ...FAKE_SLACK_IDENTITY });
        return;
      case 'conversations.info': {
        const channel = String(args.channel ?? '');
        if (!this.channels.has(channel)) return fail('channel_not_found');
        this.sendJson(res, rec, 200, { ok: true, channel: channelInfo(channel) });
        return;
      }
      case 'chat.postMessage':
      case 'chat.update':
        this.chat(rec.route, args, res, rec, fail);
        return;
      case 'chat.postEphemeral': {
        const channel = String(args.channel ?? '');
        if (!this.channels.has(channel)) return fail('channel_not_found');
        this.ephemerals.push({ channel, user: String(args.user ?? ''), text: String(args.text ?? '') });
        this.sendJson(res, rec, 200, { ok: true, message_ts: this.nextTs() });
        return;
      }
      case 'usergroups.users.list': {
        const members = this.userGroups.get(String(args.usergroup ?? ''));
        if (!members) return fail('no_such_subteam');
        this.sendJson(res, rec, 200, { ok: true, users: members });
        return;
      }
      case 'users.info': {
        const user = String(args.user ?? '');
        const email = this.userEmails.get(user);
        if (email === undefined) return fail('user_not_found');
        this.sendJson(res, rec, 200, { ok: true, user: { id: user, name: user.toLowerCase(), profile: { email } } });
        return;
      }
      default:
        fail('unknown_method', { req_method: rec.route });
    }
  }

  private chat(
    method: 'chat.postMessage' | 'chat.update',
    args: Record<string, unknown>,
    res: http.ServerResponse,
    rec: RecordedRequest,
    fail: (error: string, extra?: Record<string, unknown>) => void,
  ): void {
    const channel = typeof args.channel === 'string' ? args.channel : '';
    if (!this.channels.has(channel)) return fail('channel_not_found');
    if (method === 'chat.postMessage' && this.rateLimit && this.overRateLimit(channel, res, rec)) return;
    const key = `${channel}/${String(args.ts ?? '')}`;
    if (method === 'chat.update' && !this.store.has(key)) return fail('message_not_found');

    const issues = collectSlackIssues(args, { method, forbiddenSubstrings: this.forbiddenSubstrings });
    if (issues.length > 0) {
      this.recordViolations(issues.map((i) => `${method} ${channel} ${i.path}: ${i.message}`));
      if (this.rejectViolations) {
        // Slack reports block problems as "[ERROR] <text> [json-pointer:<path>]" in response_metadata.messages.
        const messages = issues.map((i) => `[ERROR] ${i.message} [json-pointer:${i.path}]`);
        return fail(issues[0]!.error, { response_metadata: { messages } });
      }
    }

    const ts = method === 'chat.update' ? String(args.ts) : this.nextTs();
    const clean = { ...args };
    delete clean.token;
    const message = {
      type: 'message',
      subtype: 'bot_message',
      text: clean.text ?? '',
      user: FAKE_SLACK_IDENTITY.user_id,
      bot_id: FAKE_SLACK_IDENTITY.bot_id,
      team: FAKE_SLACK_IDENTITY.team_id,
      ts,
      ...(clean.blocks !== undefined ? { blocks: clean.blocks } : {}),
      ...(clean.attachments !== undefined ? { attachments: clean.attachments } : {}),
      ...(method === 'chat.update' ? { edited: { user: FAKE_SLACK_IDENTITY.user_id, ts: this.nextTs() } } : {}),
    };
    // chat.update keeps blocks that were omitted (A2), so merge into the stored state.
    this.store.set(`${channel}/${ts}`, { ...(this.store.get(`${channel}/${ts}`) ?? {}), ...clean });
    this.recordMessage({ method, channel, args: clean, ts, receivedAt: rec.receivedAt }, channel);
    const body =
      method === 'chat.update'
        ? { ok: true, channel, ts, text: message.text, message }
        : { ok: true, channel, ts, message };
    this.sendJson(res, rec, 200, body);
  }

  /** Sliding-window check; answers 429 + Retry-After (whole seconds, as Slack does) when over the limit. */
  private overRateLimit(channel: string, res: http.ServerResponse, rec: RecordedRequest): boolean {
    const limit = this.rateLimit!;
    const windowMs = limit.windowMs ?? 1000;
    const now = Date.now();
    const times = (this.postTimes.get(channel) ?? []).filter((t) => now - t < windowMs);
    this.postTimes.set(channel, times);
    if (times.length < limit.perChannel) {
      times.push(now);
      return false;
    }
    const waitMs = times[0]! + windowMs - now;
    this.counters.rateLimited++;
    this.sendJson(res, rec, 429, { ok: false, error: 'ratelimited' }, { 'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1000))) });
    return true;
  }

  /** Unique, increasing Slack-style ts ("1700000000.000100", "1700000000.000200", …): deterministic for snapshots. */
  private nextTs(): string {
    this.tsCounter++;
    const micros = 1_700_000_000_000_000 + this.tsCounter * 100;
    return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
  }
}

/** Starts a fake Slack Web API on 127.0.0.1 (random port). Remember `await fake.close()`. */
export function startFakeSlack(opts: FakeSlackOptions = {}): Promise<FakeSlack> {
  return new FakeSlack(opts).start();
}

function channelInfo(id: string): Record<string, unknown> {
  return {
    id,
    name: `fake-${id.toLowerCase()}`,
    is_channel: true,
    is_private: false,
    is_archived: false,
    is_member: true,
    created: 1_600_000_000,
  };
}

/**
 * Parses a Web API request body: form-urlencoded (what @slack/web-api 8 sends), JSON or multipart.
 * JSON-typed fields are decoded so validators see objects; an undecodable field is kept as the raw string so the
 * validator reports it instead of the fake crashing.
 */
async function parseSlackBody(contentType: string, raw: Buffer): Promise<Record<string, unknown>> {
  const ct = contentType.toLowerCase();
  if (raw.length === 0) return {};
  if (ct.startsWith('application/json')) {
    try {
      const v: unknown = JSON.parse(raw.toString('utf8'));
      return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }
  const fields: [string, string][] = [];
  if (ct.startsWith('multipart/form-data')) {
    const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    form.forEach((v, k) => fields.push([k, typeof v === 'string' ? v : '[file]']));
  } else {
    for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) fields.push([k, v]);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of fields) {
    if (JSON_ARGS.has(k)) {
      try {
        out[k] = JSON.parse(v);
      } catch {
        out[k] = v;
      }
    } else if (BOOL_ARGS.has(k) && (v === 'true' || v === 'false')) out[k] = v === 'true';
    else out[k] = v;
  }
  return out;
}
