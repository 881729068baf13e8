/**
 * Threads for repeats: a second alert of the same detection within the window is posted as a reply under the
 * first message (Slack thread_ts; Discord: a thread started from the first message), and the first message
 * shows "N more in thread". A resolved first alert, another detection, or a route with threads off start anew.
 */
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessConfig, postAlert, startHarnessBridge } from '../helpers/bridge-harness';
import { discordClick, discordKeys, send, until } from '../helpers/interactions';
import type { RunningBridge } from '../../src/bridge';
import { countInStore } from '../helpers/store-query';

jest.setTimeout(30_000);

const keys = discordKeys();
let slack: FakeSlack;
let discord: FakeDiscord;
let bridge: RunningBridge | undefined;

beforeEach(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
});
afterEach(async () => {
  await bridge?.stop();
  bridge = undefined;
  await slack.close();
  await discord.close();
});

function start(threads = 'on') {
  return startHarnessBridge(
    harnessConfig({
      slackUrl: slack.url,
      discordApi: discord.api,
      webhookUrl: discord.webhookUrl(),
      discordPublicKey: keys.publicKeyHex,
      routesYaml: `routes:\n  - name: soc\n    to: [soc-slack, soc-discord]\n    digest: off\n    threads: ${threads}`,
    }),
  );
}

const posts = () => slack.messages.filter((m) => m.method === 'chat.postMessage');
const creates = () => discord.messages.filter((m) => m.kind === 'create');

async function deliver(b: RunningBridge, alertId: string, detection = 'AWS.CloudTrail.RootActivity') {
  expect((await postAlert(b, makeAlertPayload({ alertId, id: detection, title: `Alert ${alertId}` }))).status).toBe(200);
  await until(() => b.store!.counts().pending === 0, 5000, `delivery of ${alertId}`);
}

async function settled(b: RunningBridge) {
  await until(() => countInStore(b, 'SELECT COUNT(*) AS n FROM deliveries WHERE edit_wanted > edit_done') === 0, 5000, 'edits');
}

describe('threads for repeats', () => {
  it('replies under the first message on Slack and in a thread on Discord, with a counter on the first', async () => {
    bridge = await start();
    await deliver(bridge, 'first');
    await deliver(bridge, 'second');
    await deliver(bridge, 'third');
    await deliver(bridge, 'other-detection', 'AWS.IAM.Other');
    await settled(bridge);

    const [first, second, third, other] = posts();
    expect(first!.args.thread_ts).toBeUndefined();
    expect(second!.args.thread_ts).toBe(first!.ts);
    expect(third!.args.thread_ts).toBe(first!.ts);
    expect(other!.args.thread_ts).toBeUndefined();
    expect(JSON.stringify(slack.stored(first!.channel, first!.ts)!.blocks)).toContain('2 more in thread');

    const [dFirst, dSecond, dThird, dOther] = creates();
    expect(dFirst!.channelId).toBe('1100000000000000001');
    // One thread, started from the first message (its id), holding both repeats.
    expect(discord.threads.get(dFirst!.messageId)).toEqual({ parentId: '1100000000000000001', name: expect.stringContaining('Alert second') });
    expect(dSecond!.channelId).toBe(dFirst!.messageId);
    expect(dThird!.channelId).toBe(dFirst!.messageId);
    expect(dOther!.channelId).toBe('1100000000000000001');
    const lastEdit = discord.messages.filter((m) => m.kind === 'edit' && m.messageId === dFirst!.messageId).at(-1)!;
    expect(JSON.stringify(lastEdit.body.embeds)).toContain('2 more in thread');
    expect(lastEdit.body.allowed_mentions).toEqual({ parse: [] });
    expect(slack.violations).toEqual([]);
    expect(discord.violations).toEqual([]);
  });

  it('starts a new message once the first alert is resolved', async () => {
    bridge = await start();
    await deliver(bridge, 'first');
    const dFirst = creates()[0]!;
    const resolveId = (dFirst.body.components as { components: { custom_id?: string }[] }[])[0]!.components.find((c) => c.custom_id?.startsWith('cb:resolve:'))!.custom_id!;
    expect((await send(`${bridge.url}/discord/interactions`, keys.sign(discordClick({ customId: resolveId, channelId: dFirst.channelId, messageId: dFirst.messageId })))).body).toEqual({ type: 6 });
    await settled(bridge);
    await deliver(bridge, 'after-resolve');
    expect(posts()[1]!.args.thread_ts).toBeUndefined();
    expect(creates()[1]!.channelId).toBe('1100000000000000001');
  });

  it('threads repeats of a layout: v2 destination too: the thread is named from the V2 title, the counter edit stays V2', async () => {
    bridge = await startHarnessBridge(
      harnessConfig({
        slackUrl: slack.url,
        discordApi: discord.api,
        webhookUrl: discord.webhookUrl(),
        discordPublicKey: keys.publicKeyHex,
        extraDestinations: '  v2-discord: { type: discord, channel: "1100000000000000002", layout: v2, pace: { limit: 50, windowMs: 100 } }',
        routesYaml: 'routes:\n  - name: soc\n    to: [v2-discord]\n    digest: off\n    threads: on',
      }),
    );
    await deliver(bridge, 'first');
    await deliver(bridge, 'second');
    await settled(bridge);
    const [first, second] = creates();
    expect(discord.threads.get(first!.messageId)).toEqual({ parentId: '1100000000000000002', name: '🔴 Alert second' });
    expect(second!.channelId).toBe(first!.messageId);
    expect(second!.body.flags).toBe(1 << 15);
    const edit = discord.messages.filter((m) => m.kind === 'edit' && m.messageId === first!.messageId).at(-1)!;
    expect(edit.body.flags).toBe(1 << 15);
    expect(JSON.stringify(edit.body.components)).toContain('1 more in thread');
    expect(discord.violations).toEqual([]);
  });

  it('posts repeats as new messages when the route has threads off', async () => {
    bridge = await start('off');
    await deliver(bridge, 'first');
    await deliver(bridge, 'second');
    expect(posts().map((p) => p.args.thread_ts)).toEqual([undefined, undefined]);
    expect(creates().map((c) => c.channelId)).toEqual(['1100000000000000001', '1100000000000000001']);
  });
});
