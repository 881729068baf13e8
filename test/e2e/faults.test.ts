/**
 * Outcomes as values under faults: retryable failures (5xx, network reset, timeouts, 429) are retried with
 * backoff or Retry-After until delivered; permanent ones (invalid_auth, channel_not_found, 400) stop at once
 * with the reason recorded; one destination's trouble never blocks another.
 */
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessConfig, postAlert, startHarnessBridge } from '../helpers/bridge-harness';
import type { RunningBridge } from '../../src/bridge';
import { queryStore } from '../helpers/store-query';

jest.setTimeout(30_000);

let slack: FakeSlack;
let discord: FakeDiscord;
let bridge: RunningBridge;

beforeEach(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
  bridge = await startHarnessBridge(harnessConfig({ slackUrl: slack.url, discordApi: discord.api, webhookUrl: discord.webhookUrl() }));
});

afterEach(async () => {
  await bridge?.stop();
  await slack.close();
  await discord.close();
});

type Row = { destination: string; status: string; attempts: number; rate_limited: number; last_reason: string | null };
const rows = () => queryStore<Row>(bridge, 'SELECT destination, status, attempts, rate_limited, last_reason FROM deliveries ORDER BY id');
const waitSettled = async (expected: number) => {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const counts = bridge.store!.counts();
    if (counts.pending === 0 && counts.delivered + counts.dead === expected) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`deliveries did not settle: ${JSON.stringify(rows())}`);
};

describe('delivery under faults', () => {
  it('retries 5xx and connection resets, then delivers once', async () => {
    slack.failNext(2, 500, 'chat.postMessage');
    slack.failNext(1, 'reset', 'chat.postMessage');
    discord.failNext(2, 502, 'POST /channels');
    await postAlert(bridge, makeAlertPayload());
    await waitSettled(3);
    expect(slack.messages).toHaveLength(1);
    expect(discord.messages).toHaveLength(2);
    const bySlack = rows().find((r) => r.destination === 'soc-slack')!;
    expect(bySlack).toMatchObject({ status: 'delivered', attempts: 4 });
  });

  it('retries a request that times out', async () => {
    slack.failNext(1, 'hang', 'chat.postMessage');
    await postAlert(bridge, makeAlertPayload());
    await waitSettled(3);
    expect(slack.messages).toHaveLength(1);
    expect(rows().find((r) => r.destination === 'soc-slack')).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it('honours Retry-After for that destination only, without counting it as a failure', async () => {
    slack.failNext(1, { kind: 'rateLimit', retryAfterSec: 1 }, 'chat.postMessage');
    discord.failNext(1, { kind: 'rateLimit', retryAfterSec: 1 }, 'POST /webhooks');
    await postAlert(bridge, makeAlertPayload());
    await waitSettled(3);
    const slackPosts = slack.requests.filter((r) => r.route === 'chat.postMessage');
    // The bot channel was not held up by the webhook's or Slack's 429: it landed before either retry.
    const botMessage = discord.messages.find((m) => !m.webhookId)!;
    expect(botMessage.receivedAt).toBeLessThan(slackPosts[1]!.receivedAt);
    expect(slackPosts).toHaveLength(2);
    expect(slackPosts[1]!.receivedAt - slackPosts[0]!.receivedAt).toBeGreaterThanOrEqual(950);
    expect(rows().find((r) => r.destination === 'soc-slack')).toMatchObject({ status: 'delivered', attempts: 1, rate_limited: 1 });
    expect(rows().find((r) => r.destination === 'lab-hook')).toMatchObject({ status: 'delivered', rate_limited: 1 });
  });

  it('stops at once on permanent errors and records the reason', async () => {
    slack.failNext(1, { kind: 'error', error: 'channel_not_found' }, 'chat.postMessage');
    discord.failNext(1, { kind: 'error', status: 403, code: 50013, message: 'Missing Permissions' }, 'POST /channels');
    discord.failNext(1, 404, 'POST /webhooks');
    await postAlert(bridge, makeAlertPayload());
    await waitSettled(3);
    const byDestination = Object.fromEntries(rows().map((r) => [r.destination, r]));
    expect(byDestination['soc-slack']).toMatchObject({ status: 'dead', attempts: 1, last_reason: 'channel_not_found' });
    expect(byDestination['soc-discord']).toMatchObject({ status: 'dead', attempts: 1 });
    expect(byDestination['soc-discord']!.last_reason).toContain('50013');
    expect(byDestination['lab-hook']).toMatchObject({ status: 'dead', attempts: 1 });
    // The webhook token never reaches a stored reason.
    expect(JSON.stringify(rows())).not.toMatch(/webhooks\/\d+\/[A-Za-z0-9_-]{20,}/);
  });

  it('marks a revoked Slack token dead per delivery and keeps other destinations flowing', async () => {
    slack.tokens.clear();
    await postAlert(bridge, makeAlertPayload());
    await postAlert(bridge, makeAlertPayload());
    await waitSettled(6);
    const slackRows = rows().filter((r) => r.destination === 'soc-slack');
    expect(slackRows.map((r) => [r.status, r.last_reason])).toEqual([
      ['dead', 'invalid_auth'],
      ['dead', 'invalid_auth'],
    ]);
    expect(discord.messages).toHaveLength(4);
  });

  it('recovers after a Discord 401 poisons the REST client token', async () => {
    discord.failNext(1, 401, 'POST /channels');
    await postAlert(bridge, makeAlertPayload());
    await waitSettled(3);
    await postAlert(bridge, makeAlertPayload());
    await waitSettled(6);
    const bot = rows().filter((r) => r.destination === 'soc-discord');
    expect(bot.map((r) => r.status)).toEqual(['dead', 'delivered']);
  });
});

describe('content refused by the platform', () => {
  let s: FakeSlack;
  let d: FakeDiscord;
  let b: RunningBridge;
  beforeEach(async () => {
    s = await startFakeSlack();
    d = await startFakeDiscord();
    b = await startHarnessBridge(harnessConfig({ slackUrl: s.url, discordApi: d.api, webhookUrl: d.webhookUrl() }));
  });
  afterEach(async () => {
    await b.stop();
    await s.close();
    await d.close();
  });

  it('falls back to the minimal message once, so the alert is still seen', async () => {
    s.failNext(1, { kind: 'error', error: 'invalid_blocks' }, 'chat.postMessage');
    d.failNext(1, 400, 'POST /channels');
    const payload = makeAlertPayload();
    await postAlert(b, payload);
    await s.waitForMessages(1);
    await d.waitForMessages(2);
    const slackBlocks = s.messages[0]!.args.blocks as { type: string; elements?: { url?: string }[] }[];
    expect(slackBlocks).toHaveLength(2);
    expect(slackBlocks[1]!.elements![0]!.url).toBe(payload.link);
    const bot = d.messages.find((m) => !m.webhookId)!.body as { content: string; embeds?: unknown };
    expect(bot.content).toContain(payload.id);
    expect(bot.embeds).toBeUndefined();
  });
});
