/**
 * Per-channel pacing, measured from the fake's receive times (never from timers in the code under test):
 * a Slack channel gets at most one message per second, a channel held to 1 message/s by the fake sees no 429
 * (one request per delivered message), and a slow channel does not hold up another.
 */
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessConfig, harnessYaml, PANTHER_TOKEN, peakInWindow, postAlert, startHarnessBridge } from '../helpers/bridge-harness';
import { loadConfigText } from '../../src/config/load';
import type { RunningBridge } from '../../src/bridge';

jest.setTimeout(30_000);

let slack: FakeSlack;
let discord: FakeDiscord;
let bridge: RunningBridge;

beforeEach(async () => {
  slack = await startFakeSlack({ rateLimit: { perChannel: 1, windowMs: 1000 } });
  discord = await startFakeDiscord();
});
afterEach(async () => {
  await bridge?.stop();
  await slack.close();
  await discord.close();
});


describe('per-channel pacing', () => {
  it('sends one message per second to a Slack channel held to 1/s, with no 429 and no wasted request', async () => {
    bridge = await startHarnessBridge(
      harnessConfig({
        slackUrl: slack.url,
        discordApi: discord.api,
        webhookUrl: discord.webhookUrl(),
        realPace: true,
        routesYaml: 'routes:\n  - name: r\n    to: [soc-slack, soc-discord]',
      }),
    );
    const count = 4;
    for (let i = 0; i < count; i++) await postAlert(bridge, makeAlertPayload());
    // The Discord channel (5 per 5 s) is not held up by Slack's slower pace.
    await discord.waitForMessages(count, 3000);
    expect(slack.messages.length).toBeLessThan(count);
    await slack.waitForMessages(count, 10_000);
    const posts = slack.requests.filter((r) => r.route === 'chat.postMessage');
    expect(posts.map((r) => r.status)).toEqual(Array(count).fill(200));
    const times = slack.messages.map((m) => m.receivedAt);
    expect(peakInWindow(times, 1000)).toBe(1);
  });

  it('keeps a Discord channel within its bucket', async () => {
    bridge = await startHarnessBridge(
      harnessConfig({
        slackUrl: slack.url,
        discordApi: discord.api,
        webhookUrl: discord.webhookUrl(),
        realPace: true,
        routesYaml: 'routes:\n  - name: r\n    to: [soc-discord]',
      }),
    );
    const count = 7;
    for (let i = 0; i < count; i++) await postAlert(bridge, makeAlertPayload());
    await discord.waitForMessages(count, 10_000);
    const times = discord.messages.map((m) => m.receivedAt);
    expect(peakInWindow(times, 5000)).toBe(5);
    expect(discord.requests.filter((r) => r.status === 429)).toHaveLength(0);
  });

  it('learns a tighter limit than its pace from a 429 with no X-RateLimit headers, and spends one request on it', async () => {
    await discord.close();
    // Held to 1 message/s while the destination's pace allows 5 per 5 s; nothing but the 429 tells the bridge.
    discord = await startFakeDiscord({ rateLimit: { limit: 1, windowMs: 1000, headers: false } });
    bridge = await startHarnessBridge(
      harnessConfig({
        slackUrl: slack.url,
        discordApi: discord.api,
        webhookUrl: discord.webhookUrl(),
        realPace: true,
        routesYaml: 'routes:\n  - name: r\n    digest: off\n    to: [soc-discord]',
      }),
    );
    const count = 6;
    for (let i = 0; i < count; i++) await postAlert(bridge, makeAlertPayload());
    await discord.waitForMessages(count, 15_000);
    const posts = discord.requests.filter((r) => r.method === 'POST');
    // The first burst meets one 429; after it, sends are spaced and none is refused.
    expect(posts.filter((r) => r.status === 429)).toHaveLength(1);
    expect(posts).toHaveLength(count + 1);
    expect(peakInWindow(discord.messages.map((m) => m.receivedAt), 1000)).toBe(1);
  });
});

describe('a channel shared by two destinations', () => {
  it('keeps one pace for the channel, digests included', async () => {
    const yaml = harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl: discord.webhookUrl(), realPace: true })
      .replace('destinations:\n', 'destinations:\n  soc-slack-2: { type: slack, channel: C0123456789 }\n')
      .replace(/routes:[\s\S]*$/, 'routes:\n  - name: a\n    to: [soc-slack]\n    digest: { backlog: 2, maxWaitMs: 30000 }\n    continue: true\n  - name: b\n    to: [soc-slack-2]\n    digest: off\n');
    const loaded = loadConfigText(yaml, { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: discord.webhookUrl() });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    bridge = await startHarnessBridge(loaded.config);
    for (let i = 0; i < 5; i++) await postAlert(bridge, makeAlertPayload());
    for (let i = 0; i < 300 && bridge.store!.counts().pending > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(bridge.store!.counts().pending).toBe(0);
    const times = slack.requests.filter((r) => r.route.startsWith('chat.')).map((r) => r.receivedAt);
    expect(peakInWindow(times, 1000)).toBe(1);
    expect(slack.requests.filter((r) => r.status === 429)).toHaveLength(0);
  });
});
