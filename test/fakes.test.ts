/**
 * Proves the loopback fakes behave like the platforms for the real SDKs (@slack/web-api via Bolt's re-export,
 * discord.js REST and WebhookClient) and that the fixture corpus is well-formed. Other suites rely on these fakes,
 * so a regression here should be the first thing to fail.
 */
import { App, webApi } from '@slack/bolt';
import { DiscordAPIError, HTTPError, RateLimitError, REST, Routes, WebhookClient } from 'discord.js';
import { startFakeDiscord, validateDiscordMessage, type FakeDiscord } from './helpers/fake-discord';
import { startFakeSlack, validateSlackMessage, type FakeSlack } from './helpers/fake-slack';
import { bytesVariants, defaultedExpectations, hostileStrings, invalidFixtures, loadFixture, makeAlertPayload, validFixtures } from './helpers/fixtures';

const { WebClient, ErrorCode } = webApi;
const quiet: webApi.Logger = {
  debug: () => {}, info: () => {}, warn: () => {}, error: () => {},
  setLevel: () => {}, getLevel: () => webApi.LogLevel.ERROR, setName: () => {},
};
const C1 = 'C0123456789';
const safeBlocks = [
  { type: 'header', text: { type: 'plain_text', text: 'Root activity', emoji: false } },
  { type: 'section', text: { type: 'mrkdwn', text: '*Severity:* HIGH &lt;!channel&gt;', verbatim: true } },
  { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'View in Panther' }, url: 'https://acme.runpanther.net/alerts/x', action_id: 'open' }] },
];

describe('fake Slack with the real WebClient', () => {
  let fake: FakeSlack;
  const client = (opts: webApi.WebClientOptions = {}): webApi.WebClient =>
    new WebClient('xoxb-test', { slackApiUrl: fake.url, retryConfig: { retries: 0 }, logger: quiet, ...opts });
  beforeEach(async () => {
    fake = await startFakeSlack();
  });
  afterEach(() => fake.close());

  it('records chat.postMessage with parsed blocks and returns an increasing ts', async () => {
    const a = await client().chat.postMessage({ channel: C1, text: 'Root activity', blocks: safeBlocks, unfurl_links: false });
    const b = await client().chat.postMessage({ channel: C1, text: 'second' });
    expect(a.ok).toBe(true);
    expect(a.ts).toBe('1700000000.000100');
    expect(Number(b.ts)).toBeGreaterThan(Number(a.ts));
    const [m] = await fake.waitForMessages(2);
    expect(m).toMatchObject({ method: 'chat.postMessage', channel: C1, ts: a.ts });
    expect(m!.args.blocks).toEqual(safeBlocks);
    expect(m!.args.unfurl_links).toBe(false);
    expect(fake.requests[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(fake.violations).toEqual([]);
  });

  it('answers auth.test, conversations.info, bad tokens and unknown channels like Slack', async () => {
    await expect(client().auth.test()).resolves.toMatchObject({ ok: true, user_id: 'U0FAKEBOT01', bot_id: 'B0FAKEBOT01' });
    await expect(client().conversations.info({ channel: C1 })).resolves.toMatchObject({ channel: { id: C1 } });
    const bad = new WebClient('xoxb-wrong', { slackApiUrl: fake.url, retryConfig: { retries: 0 }, logger: quiet });
    await expect(bad.chat.postMessage({ channel: C1, text: 'x' })).rejects.toMatchObject({ code: ErrorCode.PlatformError, data: { error: 'invalid_auth' } });
    await expect(client().chat.postMessage({ channel: 'CNOPE', text: 'x' })).rejects.toMatchObject({ data: { error: 'channel_not_found' } });
    expect(fake.messages).toHaveLength(0);
  });

  it('rejects and records A1/A3 violations with json paths', async () => {
    const blocks = [
      { type: 'header', text: { type: 'plain_text', text: 'h'.repeat(200) } },
      { type: 'section', text: { type: 'mrkdwn', text: 'hi @here' } },
    ];
    const err = await client().chat.postMessage({ channel: C1, text: 'alert <!channel>', blocks }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.PlatformError, data: { error: 'invalid_blocks' } });
    expect(fake.violations).toEqual(
      expect.arrayContaining([
        expect.stringContaining('/blocks/0/text/text: must be at most 150'),
        expect.stringContaining('/blocks/1/text/verbatim'),
        expect.stringContaining('/text: contains live mention sequence(s) <!channel>'),
      ]),
    );
    expect(fake.messages).toHaveLength(0);
  });

  it('requires parse:none on chat.update and message_not_found for unknown ts', async () => {
    const { ts } = await client().chat.postMessage({ channel: C1, text: 'x' });
    await expect(client().chat.update({ channel: C1, ts: ts!, text: 'acked' })).rejects.toMatchObject({ data: { error: 'invalid_arguments' } });
    await expect(client().chat.update({ channel: C1, ts: ts!, text: 'acked', parse: 'none' })).resolves.toMatchObject({ ok: true, ts });
    await expect(client().chat.update({ channel: C1, ts: '1.2', text: 'x', parse: 'none' })).rejects.toMatchObject({ data: { error: 'message_not_found' } });
    expect(fake.violations).toEqual([expect.stringContaining("/parse: chat.update must carry parse:'none'")]);
    expect(fake.stored(C1, ts!)).toMatchObject({ text: 'acked' });
  });

  it('turns an injected 429 into WebAPIRateLimitedError with rejectRateLimitedCalls', async () => {
    fake.failNext(1, { kind: 'rateLimit', retryAfterSec: 7 }, 'chat.postMessage');
    const err = await client({ rejectRateLimitedCalls: true }).chat.postMessage({ channel: C1, text: 'x' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 7 });
    expect(fake.requests[0]).toMatchObject({ status: 429, fault: 'rateLimit' });
  });

  it('injects 500, ok:false errors, socket resets and hangs', async () => {
    fake.failNext(1, 500);
    await expect(client().chat.postMessage({ channel: C1, text: 'x' })).rejects.toMatchObject({ code: ErrorCode.HTTPError, statusCode: 500 });
    fake.failNext(1, { kind: 'error', error: 'internal_error' });
    await expect(client().chat.postMessage({ channel: C1, text: 'x' })).rejects.toMatchObject({ data: { error: 'internal_error' } });
    fake.failNext(1, 'reset');
    await expect(client().chat.postMessage({ channel: C1, text: 'x' })).rejects.toMatchObject({ code: ErrorCode.RequestError });
    fake.behaviour = (r) => (r.route === 'chat.postMessage' ? 'hang' : undefined);
    await expect(client({ timeout: 300 }).chat.postMessage({ channel: C1, text: 'x' })).rejects.toMatchObject({ code: ErrorCode.RequestError });
    expect(fake.requests.map((r) => r.outcome)).toEqual(['responded', 'responded', 'reset', 'hang']);
    expect(fake.counters.faults).toBe(4);
  });

  it('rate-limits per channel when enabled', async () => {
    fake.setRateLimit({ perChannel: 1, windowMs: 1000 });
    const c = client({ rejectRateLimitedCalls: true });
    await c.chat.postMessage({ channel: C1, text: 'one' });
    await c.chat.postMessage({ channel: 'C0SECOND01', text: 'other channel' });
    await expect(c.chat.postMessage({ channel: C1, text: 'two' })).rejects.toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 1 });
    expect(fake.counters).toMatchObject({ rateLimited: 1, accepted: 2, perChannel: { [C1]: 1, C0SECOND01: 1 } });
  });

  it('serves a Bolt App (auth.test at init, then app.client) via clientOptions', async () => {
    const app = new App({ token: 'xoxb-test', signingSecret: 'secret', clientOptions: { slackApiUrl: fake.url, retryConfig: { retries: 0 } }, deferInitialization: true, logger: quiet });
    await app.init();
    await app.client.chat.postMessage({ channel: C1, text: 'from bolt' });
    expect(fake.requests.map((r) => r.route)).toEqual(['auth.test', 'chat.postMessage']);
    expect(fake.violations).toEqual([]);
  });

  it('explains what arrived when waitForMessages times out', async () => {
    await client().chat.postMessage({ channel: C1, text: 'only one' });
    await expect(fake.waitForMessages(2, 50)).rejects.toThrow(/waiting for 2 message\(s\)[\s\S]*only one/);
  });

  it('exports validateSlackMessage as a pure function', () => {
    expect(validateSlackMessage({ channel: C1, text: 'fallback', blocks: safeBlocks })).toEqual([]);
    expect(validateSlackMessage({ channel: C1, blocks: safeBlocks, link_names: true })).toEqual([
      expect.stringMatching(/^\/link_names/),
      expect.stringMatching(/^\/text: fallback text is required/),
    ]);
    const tooMany = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    expect(validateSlackMessage({ text: 'x', blocks: tooMany })).toEqual(['/blocks: at most 50 blocks (got 51)']);
    // A static_select (the Silence menu): options with plain_text ≤75 and unique values ≤150.
    const select = (options: unknown[]) => ({ text: 'x', blocks: [{ type: 'actions', elements: [{ type: 'static_select', action_id: 's', placeholder: { type: 'plain_text', text: 'Pick' }, options }] }] });
    const option = (value: string, text = value) => ({ text: { type: 'plain_text', text }, value });
    expect(validateSlackMessage(select([option('a'), option('b')]))).toEqual([]);
    expect(validateSlackMessage(select([]))).toEqual([expect.stringMatching(/options: must be a list of 1–100 options/)]);
    expect(validateSlackMessage(select([option('a'), option('a'), option('x'.repeat(151), 'y')]))).toEqual([
      expect.stringMatching(/options\/1\/value: duplicate option value/),
      expect.stringMatching(/options\/2\/value: must be a string of 1–150 characters/),
    ]);
  });
});

describe('fake Discord with the real discord.js REST and WebhookClient', () => {
  let fake: FakeDiscord;
  const rests: REST[] = [];
  const hooks: WebhookClient[] = [];
  const CH = '1100000000000000001';
  const rest = (opts: Partial<ConstructorParameters<typeof REST>[0]> = {}): REST => {
    const r = new REST({ version: '10', api: fake.api, retries: 0, ...opts }).setToken('discord-test-token');
    rests.push(r);
    return r;
  };
  const hook = (url: string): WebhookClient => {
    const [, id, token] = /webhooks\/(\d+)\/([\w-]+)$/.exec(url)!;
    const h = new WebhookClient({ id: id!, token: token! }, { rest: { api: fake.api, retries: 0 } });
    hooks.push(h);
    return h;
  };
  const safe = { content: 'Alert', allowed_mentions: { parse: [] } };
  beforeEach(async () => {
    fake = await startFakeDiscord();
  });
  afterEach(async () => {
    for (const r of rests.splice(0)) {
      r.clearHashSweeper();
      r.clearHandlerSweeper();
    }
    for (const h of hooks.splice(0)) h.destroy();
    await fake.close();
  });

  it('records rest.post(channelMessages) and returns an API message', async () => {
    const body = { ...safe, embeds: [{ title: 'Root activity', color: 0xcb2e2e, fields: [{ name: 'Severity', value: 'HIGH' }] }] };
    const msg = (await rest().post(Routes.channelMessages(CH), { body })) as { id: string; channel_id: string };
    expect(msg.channel_id).toBe(CH);
    const [m] = await fake.waitForMessages(1);
    expect(m).toMatchObject({ route: 'POST /channels/:id/messages', kind: 'create', channelId: CH, messageId: msg.id, body });
    expect(fake.requests[0]!.headers.authorization).toBe('Bot discord-test-token');
    expect(fake.violations).toEqual([]);
    await expect(rest().get(Routes.user())).resolves.toMatchObject({ bot: true });
    await expect(rest().get(Routes.channel(CH))).resolves.toMatchObject({ id: CH, type: 0 });
    const edited = (await rest().patch(Routes.channelMessage(CH, msg.id), { body: { content: 'Acked', allowed_mentions: { parse: [] } } })) as { content: string };
    expect(edited.content).toBe('Acked');
  });

  it('answers 400 50035 for limit and mention violations and records them', async () => {
    const body = { content: '@everyone', embeds: [{ title: 't'.repeat(300) }] };
    const err = await rest().post(Routes.channelMessages(CH), { body }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiscordAPIError);
    expect(err).toMatchObject({ status: 400, code: 50035, rawError: { errors: { embeds: { 0: { title: { _errors: [expect.objectContaining({ code: 'BASE_TYPE_MAX_LENGTH' })] } } } } } });
    expect(fake.violations).toEqual([
      expect.stringContaining('embeds[0].title: Must be 256 or fewer in length (got 300 code points)'),
      expect.stringContaining('allowed_mentions: allowed_mentions must be present'),
      expect.stringContaining('content: would ping: @everyone'),
    ]);
  });

  it('rejects bad tokens (401) and unknown channels (10003)', async () => {
    await expect(rest().post(Routes.channelMessages('999'), { body: safe })).rejects.toMatchObject({ status: 404, code: 10003 });
    const bad = new REST({ version: '10', api: fake.api, retries: 0 }).setToken('nope');
    rests.push(bad);
    await expect(bad.post(Routes.channelMessages(CH), { body: safe })).rejects.toMatchObject({ status: 401, code: 0 });
  });

  it('records WebhookClient.send with with_components and flags plain-webhook component misuse', async () => {
    const url = fake.webhookUrl();
    expect(url).toMatch(/^https:\/\/discord\.com\/api\/webhooks\/\d{17,19}\/[\w-]{68}$/);
    const link = { type: 1, components: [{ type: 2, style: 5, label: 'View in Panther', url: 'https://acme.runpanther.net/alerts/x' }] };
    await hook(url).send({ content: 'Alert', components: [link], withComponents: true, allowedMentions: { parse: [] } });
    const [m] = await fake.waitForMessages(1);
    expect(m).toMatchObject({ route: 'POST /webhooks/:id/:token', withComponents: true, query: { wait: 'true', with_components: 'true' } });
    expect(m!.body.allowed_mentions).toEqual({ parse: [] });
    expect(fake.violations).toEqual([]);

    await hook(url).editMessage(m!.messageId, { content: 'Acked', components: [link], withComponents: true, allowedMentions: { parse: [] } });
    expect(fake.messages[1]).toMatchObject({ route: 'PATCH /webhooks/:id/:token/messages/:mid', kind: 'edit', messageId: m!.messageId, withComponents: true });

    const ack = { type: 1, components: [{ type: 2, style: 1, label: 'Acknowledge', custom_id: 'ack:1' }] };
    await expect(hook(url).send({ content: 'x', components: [ack], withComponents: true, allowedMentions: { parse: [] } })).rejects.toMatchObject({ code: 50035 });
    await expect(hook(url).send({ content: 'x', components: [link], allowedMentions: { parse: [] } })).rejects.toMatchObject({ code: 50035 });
    expect(fake.violations).toEqual([
      expect.stringContaining('plain (non-application-owned) webhooks cannot send interactive buttons'),
      expect.stringContaining('without ?with_components=true'),
    ]);
    await expect(hook(`https://discord.com/api/webhooks/123456789012345678/${'x'.repeat(68)}`).send({ content: 'x' })).rejects.toMatchObject({ code: 10015 });
  });

  it('throws RateLimitError on an injected 429 with rejectOnRateLimit', async () => {
    fake.failNext(1, { kind: 'rateLimit', retryAfterSec: 2.5 }, 'POST /channels');
    const err = await rest({ rejectOnRateLimit: ['/channels'] }).post(Routes.channelMessages(CH), { body: safe }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err).toMatchObject({ global: false });
    // Retry-After header is whole seconds (3); discord.js adds its 50 ms offset.
    expect((err as RateLimitError).retryAfter).toBeGreaterThanOrEqual(3000);
    expect(fake.requests[0]!.responseBody).toEqual({ message: 'You are being rate limited.', retry_after: 2.5, global: false });
  });

  it('enforces the per-channel rate-limit mode (discord.js then limits itself from the headers)', async () => {
    fake.setRateLimit({ limit: 2, windowMs: 5000 });
    const r = rest({ rejectOnRateLimit: () => true });
    await r.post(Routes.channelMessages(CH), { body: safe });
    await r.post(Routes.channelMessages(CH), { body: safe });
    expect(fake.requests[1]!.status).toBe(200);
    await expect(r.post(Routes.channelMessages(CH), { body: safe })).rejects.toBeInstanceOf(RateLimitError);
    // A fresh client without bucket knowledge hits the server and gets a real 429.
    await expect(rest({ rejectOnRateLimit: () => true }).post(Routes.channelMessages(CH), { body: safe })).rejects.toBeInstanceOf(RateLimitError);
    expect(fake.counters.rateLimited).toBe(1);
    expect(fake.messages).toHaveLength(2);
  });

  it('sends realistic bucket headers: discord.js paces itself instead of hitting 429s', async () => {
    fake.setRateLimit({ limit: 2, windowMs: 800 });
    const r = rest();
    const started = Date.now();
    for (let i = 0; i < 3; i++) await r.post(Routes.channelMessages(CH), { body: safe });
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(fake.counters).toMatchObject({ rateLimited: 0, accepted: 3 });
    expect(fake.requests[0]!.status).toBe(200);
  });

  it('dedupes a repeated nonce with enforce_nonce like Discord', async () => {
    const body = { ...safe, nonce: 'delivery-42', enforce_nonce: true };
    const a = (await rest().post(Routes.channelMessages(CH), { body })) as { id: string };
    const b = (await rest().post(Routes.channelMessages(CH), { body })) as { id: string };
    expect(b.id).toBe(a.id);
    expect(fake.messages).toHaveLength(1);
    expect(fake.requests).toHaveLength(2);
    expect(fake.nonceDuplicates).toBe(1);
  });

  it('injects 5xx, resets and hangs', async () => {
    fake.failNext(1, 502);
    await expect(rest().post(Routes.channelMessages(CH), { body: safe })).rejects.toBeInstanceOf(HTTPError);
    fake.failNext(1, 'reset');
    await expect(rest().post(Routes.channelMessages(CH), { body: safe })).rejects.toThrow();
    fake.failNext(1, 'hang');
    await expect(rest({ timeout: 300 }).post(Routes.channelMessages(CH), { body: safe })).rejects.toThrow();
    expect(fake.requests.map((r) => r.outcome)).toEqual(['responded', 'reset', 'hang']);
  });

  it('exports validateDiscordMessage (code points vs UTF-16)', () => {
    const body = { embeds: [{ title: '🚨'.repeat(200) }], allowed_mentions: { parse: [] } };
    expect(validateDiscordMessage(body, { webhook: false, withComponents: false, count: 'codepoints' })).toEqual([]);
    expect(validateDiscordMessage(body, { webhook: false, withComponents: false })).toEqual([expect.stringMatching(/^embeds\[0\]\.title: 400 UTF-16 units > 256/)]);
    expect(validateDiscordMessage({ content: '<@123>', allowed_mentions: { parse: ['users'] } }, { webhook: true, withComponents: false })).toEqual([
      expect.stringMatching(/^allowed_mentions\.parse: must be \[\]/),
      'content: would ping: <@123>',
    ]);
    // A string select (the Silence menu): alone in its row, 1–25 options with unique values.
    const select = (options: unknown[], beside: unknown[] = []) => ({ content: 'x', allowed_mentions: { parse: [] }, components: [{ type: 1, components: [{ type: 3, custom_id: 's', options }, ...beside] }] });
    const bot = { webhook: false, withComponents: false };
    expect(validateDiscordMessage(select([{ label: '1 h', value: '1' }]), bot)).toEqual([]);
    expect(validateDiscordMessage(select([]), bot)).toEqual([expect.stringMatching(/options: .*1 to 25 options/)]);
    expect(validateDiscordMessage(select(Array.from({ length: 26 }, (_, i) => ({ label: 'o', value: String(i) }))), bot)).toEqual([expect.stringMatching(/1 to 25 options/)]);
    expect(validateDiscordMessage(select([{ label: 'a', value: '1' }, { label: 'b', value: '1' }]), bot)).toEqual([expect.stringMatching(/duplicate option value/)]);
    expect(validateDiscordMessage(select([{ label: 'a', value: '1' }], [{ type: 2, style: 1, label: 'B', custom_id: 'b' }]), bot)).toContainEqual(expect.stringMatching(/must be alone in its action row/));
  });
});

describe('fake Discord forum channels (discord-api-docs: Start Thread in Forum or Media Channel) with the real discord.js REST', () => {
  const FORUM = '1100000000000000009';
  const STRICT = '1100000000000000008';
  const TAGS = [{ id: '2200000000000000001', name: 'critical' }, { id: '2200000000000000002', name: 'high', moderated: true }];
  let fake: FakeDiscord;
  let rest: REST;
  const message = { embeds: [{ title: 'Root login' }], allowed_mentions: { parse: [] } };
  const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: DiscordAPIError) => [e.status, e.code]);
  beforeEach(async () => {
    fake = await startFakeDiscord({ forums: [{ id: FORUM, tags: TAGS }, { id: STRICT, type: 16, requireTag: true, tags: TAGS }] });
    rest = new REST({ version: '10', api: fake.api, retries: 0 }).setToken('discord-test-token');
  });
  afterEach(async () => {
    rest.clearHashSweeper();
    rest.clearHandlerSweeper();
    await fake.close();
  });

  it('describes the forum, refuses plain messages in it, and makes a post whose starter has the thread id', async () => {
    expect(await rest.get(Routes.channel(FORUM))).toMatchObject({ type: 15, flags: 0, last_message_id: null, available_tags: [{ id: TAGS[0]!.id, name: 'critical', moderated: false }, { name: 'high', moderated: true }] });
    expect(await rest.get(Routes.channel(STRICT))).toMatchObject({ type: 16, flags: 1 << 4 });
    expect(await refusal(rest.post(Routes.channelMessages(FORUM), { body: message }))).toEqual([400, 40058]);
    const thread = (await rest.post(Routes.threads(FORUM), { body: { name: 'Root login', applied_tags: [TAGS[0]!.id], message } })) as { id: string; type: number; message: { id: string } };
    expect(thread).toMatchObject({ type: 11, parent_id: FORUM, applied_tags: [TAGS[0]!.id] });
    expect(thread.message.id).toBe(thread.id);
    expect(await rest.get(Routes.channel(FORUM))).toMatchObject({ last_message_id: thread.id });
    expect(await rest.get(Routes.guildActiveThreads('1000000000000000010'))).toMatchObject({ threads: [{ id: thread.id, owner_id: '1000000000000000001', parent_id: FORUM }] });
    expect(fake.violations).toEqual([]);
  });

  it('validates the post: name 1–100, message required with documented fields only, tags of the forum and at most 5, REQUIRE_TAG', async () => {
    const post = (body: Record<string, unknown>, forum = FORUM) => refusal(rest.post(Routes.threads(forum), { body }));
    expect(await post({ message })).toEqual([400, 50035]);
    expect(await post({ name: 'x'.repeat(101), message })).toEqual([400, 50035]);
    expect(await post({ name: 'ok' })).toEqual([400, 50035]);
    expect(await post({ name: 'ok', message: { ...message, nonce: 'n', enforce_nonce: true } })).toEqual([400, 50035]);
    expect(await post({ name: 'ok', message, applied_tags: ['2200000000000000099'] })).toEqual([400, 50035]);
    expect(await post({ name: 'ok', message, applied_tags: Array(6).fill(TAGS[0]!.id) })).toEqual([400, 50035]);
    expect(await post({ name: 'ok', message, auto_archive_duration: 30 })).toEqual([400, 50035]);
    expect(await post({ name: 'ok', message: { embeds: [], allowed_mentions: { parse: [] } } })).toEqual([400, 50035]);
    expect(fake.violations).toHaveLength(9);
    expect(await post({ name: 'ok', message }, STRICT)).toEqual([400, 40067]);
    expect(await post({ name: 'x'.repeat(100), message, applied_tags: [TAGS[1]!.id] }, STRICT)).toBeUndefined();
  });

  it('refuses edits in an archived post (50083), and a message sent into it unarchives it', async () => {
    const thread = (await rest.post(Routes.threads(FORUM), { body: { name: 'p', message } })) as { id: string };
    expect(await rest.patch(Routes.channel(thread.id), { body: { archived: true } })).toMatchObject({ thread_metadata: { archived: true } });
    expect(await refusal(rest.patch(Routes.channelMessage(thread.id, thread.id), { body: message }))).toEqual([400, 50083]);
    await rest.post(Routes.channelMessages(thread.id), { body: message });
    expect(fake.forums.posts.get(thread.id)!.archived).toBe(false);
    await expect(rest.patch(Routes.channelMessage(thread.id, thread.id), { body: message })).resolves.toMatchObject({ id: thread.id });
    expect(await refusal(rest.post(Routes.threads(thread.id, thread.id), { body: { name: 'nested' } }))).toEqual([400, 50024]);
  });
});

describe('Panther fixture corpus', () => {
  it('has well-formed valid fixtures with unique alertIds', () => {
    const all = validFixtures();
    expect(Object.keys(all).length).toBeGreaterThan(100);
    const ids = new Set<string>();
    for (const [name, p] of Object.entries(all)) {
      // defaulted/ breaks the documented shape on purpose (see defaulted.expect.json).
      if (!name.startsWith('defaulted/')) for (const k of ['id', 'createdAt', 'severity', 'type', 'link', 'title'] as const) expect([name, typeof p[k]]).toEqual([name, 'string']);
      if (typeof p.alertId === 'string' && p.alertId !== 'Test.Alert') {
        expect(ids.has(p.alertId)).toBe(false);
        ids.add(p.alertId);
      }
    }
    expect(all['real/send-test-alert']).toEqual(loadFixture('valid/real/send-test-alert.json'));
    expect(Object.keys(hostileStrings()).every((n) => `hostile/${n}` in all)).toBe(true);
  });

  it('pairs every invalid fixture with an expectation, and every defaulted one with its fields', () => {
    const all = invalidFixtures();
    expect(Object.keys(all).length).toBeGreaterThanOrEqual(8);
    for (const f of Object.values(all)) expect(f.expect.path).toEqual([]);
    const defaulted = defaultedExpectations();
    expect(Object.keys(defaulted).length).toBeGreaterThan(40);
    expect(Object.keys(defaulted).sort()).toEqual(Object.keys(validFixtures()).filter((n) => n.startsWith('defaulted/')).sort());
  });

  it('bytes-variants differ in bytes but parse to one alert', () => {
    const texts = Object.values(bytesVariants());
    expect(new Set(texts).size).toBe(texts.length);
    const sortKeys = (v: unknown): unknown =>
      v && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sortKeys(x)]))
        : v;
    const parsed = texts.map((t) => JSON.stringify(sortKeys(JSON.parse(t))));
    expect(new Set(parsed).size).toBe(1);
  });

  it('hostile fixtures: escaped output passes the validators, naive output does not', () => {
    const esc = (x: string): string => x.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const slackFor = (t: string, e: (x: string) => string, verbatim: boolean): Record<string, unknown> => ({
      channel: C1,
      text: e(t),
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: e(t).slice(0, 3000), verbatim } }],
    });
    for (const [name, attack] of Object.entries(hostileStrings())) {
      const p = validFixtures()[`hostile/${name}`]!;
      expect([name, validateSlackMessage(slackFor(p.title, esc, true), { forbiddenSubstrings: /[<>&]/.test(attack) ? [attack] : [] })]).toEqual([name, []]);
      expect([name, validateDiscordMessage({ content: p.title, allowed_mentions: { parse: [] } }, { webhook: true, withComponents: false })]).toEqual([name, []]);
    }
    const raw = validFixtures()['hostile/all-attacks-every-field']!.title;
    expect(validateSlackMessage(slackFor(raw, (x) => x, false)).join('\n')).toMatch(/<!channel>[\s\S]*verbatim/);
    expect(validateDiscordMessage({ content: raw }, { webhook: true, withComponents: false }).join('\n')).toMatch(/would ping: <@80351110224678912>/);
  });

  it('makeAlertPayload gives fresh 32-hex alertIds and honours overrides', () => {
    const a = makeAlertPayload();
    const b = makeAlertPayload({ severity: 'LOW', runbook: undefined });
    expect(a.alertId).toMatch(/^[0-9a-f]{32}$/);
    expect(b.alertId).not.toBe(a.alertId);
    expect(b.severity).toBe('LOW');
    expect('runbook' in b).toBe(false);
  });
});
