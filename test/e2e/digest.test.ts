/**
 * Burst digest end to end on both platforms: 1,000 alerts in about a second into one Slack channel held to
 * 1 message/s and one Discord channel (5 per 5 s) become a few messages plus one digest edited in place; every
 * alert is visible, every delivery is recorded delivered (by message or by digest), and no channel sees more
 * than its limit. Measured from the fakes' receive times.
 */
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessConfig, peakInWindow, postAlert, startHarnessBridge } from '../helpers/bridge-harness';
import type { RunningBridge } from '../../src/bridge';
import { countInStore } from '../helpers/store-query';

jest.setTimeout(60_000);

let slack: FakeSlack;
let discord: FakeDiscord;
let bridge: RunningBridge;

beforeEach(async () => {
  slack = await startFakeSlack({ rateLimit: { perChannel: 1, windowMs: 1000 } });
  discord = await startFakeDiscord({ rateLimit: true });
});
afterEach(async () => {
  await bridge?.stop();
  await slack.close();
  await discord.close();
});


async function burst(total: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const res = await postAlert(bridge, makeAlertPayload({ title: `Burst ${i}`, severity: i % 100 === 0 ? 'CRITICAL' : 'MEDIUM' }));
      expect(res.status).toBe(200);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

describe('burst digest', () => {
  it('makes 1,000 alerts visible within the channel limits on Slack and Discord', async () => {
    bridge = await startHarnessBridge(
      harnessConfig({
        slackUrl: slack.url,
        discordApi: discord.api,
        webhookUrl: discord.webhookUrl(),
        realPace: true,
        routesYaml: 'routes:\n  - name: r\n    to: [soc-slack, soc-discord]',
      }),
    );
    const total = 1000;
    await burst(total);
    for (let i = 0; i < 600 && bridge.store!.counts().pending > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(bridge.store!.counts()).toEqual({ pending: 0, delivered: total * 2, dead: 0 });

    // Slack: individual posts + the digest's final count cover every alert; never more than 1 request/s.
    const slackPosts = slack.messages.filter((m) => m.method === 'chat.postMessage');
    const slackDigest = slackPosts.find((m) => /Alert burst/.test(String(m.args.text)))!;
    const finalDigest = slack.stored('C0123456789', slackDigest.ts) as { args?: { text?: string }; text?: string };
    const digestCount = Number(/Alert burst: (\d+) alerts/.exec(JSON.stringify(finalDigest))![1]);
    expect(slackPosts.length - 1 + digestCount).toBe(total);
    expect(peakInWindow(slack.requests.filter((r) => r.route.startsWith('chat.')).map((r) => r.receivedAt), 1000)).toBeLessThanOrEqual(1);
    expect(slack.requests.filter((r) => r.status === 429)).toHaveLength(0);
    expect(slack.violations).toEqual([]);

    // Discord: the same, within 5 per 5 s, edits carrying allowed_mentions.
    const creates = discord.messages.filter((m) => m.kind === 'create');
    const edits = discord.messages.filter((m) => m.kind === 'edit');
    const digestCreate = creates.find((m) => /Alert burst/.test(JSON.stringify(m.body)))!;
    const lastVersion = [digestCreate, ...edits.filter((m) => m.messageId === digestCreate.messageId)].pop()!;
    const discordDigestCount = Number(/Alert burst: (\d+) alerts/.exec(JSON.stringify(lastVersion.body))![1]);
    expect(creates.length - 1 + discordDigestCount).toBe(total);
    expect(peakInWindow(discord.messages.map((m) => m.receivedAt), 5000)).toBeLessThanOrEqual(5);
    expect(discord.violations).toEqual([]);
    for (const edit of edits) expect((edit.body as { allowed_mentions?: unknown }).allowed_mentions).toEqual({ parse: [] });

    const viaDigest = countInStore(bridge, `SELECT COUNT(*) AS n FROM deliveries WHERE via = 'digest'`);
    expect(viaDigest).toBe(digestCount + discordDigestCount);
  });
});

describe('digest failures', () => {
  const fastConfig = (routeDigest: string) =>
    harnessConfig({
      slackUrl: slack.url,
      discordApi: discord.api,
      webhookUrl: discord.webhookUrl(),
      routesYaml: `routes:\n  - name: r\n    to: [soc-slack]\n    digest: ${routeDigest}`,
    });
  const isDigest = (r: { body: unknown }) => /Alert burst/.test(JSON.stringify(r.body));

  it('sends the alerts one by one when the platform refuses the digest body', async () => {
    slack.setRateLimit(undefined);
    slack.failNext(1000, { kind: 'error', error: 'invalid_blocks' }, isDigest);
    bridge = await startHarnessBridge(fastConfig('{ backlog: 2, maxWaitMs: 30000 }'));
    await burst(15);
    for (let i = 0; i < 200 && bridge.store!.counts().pending > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(bridge.store!.counts()).toEqual({ pending: 0, delivered: 15, dead: 0 });
    expect(slack.messages).toHaveLength(15);
    expect(slack.requests.filter(isDigest).length).toBeLessThanOrEqual(2);
  });

  it('dead-letters the covered alerts when the channel itself is unusable, instead of looping', async () => {
    slack.setRateLimit(undefined);
    slack.failNext(1000, { kind: 'error', error: 'not_in_channel' }, 'chat.postMessage');
    bridge = await startHarnessBridge(fastConfig('{ backlog: 2, maxWaitMs: 30000 }'));
    await burst(15);
    for (let i = 0; i < 200 && bridge.store!.counts().pending > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(bridge.store!.counts()).toEqual({ pending: 0, delivered: 0, dead: 15 });
    expect(slack.requests.length).toBeLessThan(15);
  });
});
