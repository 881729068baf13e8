/**
 * Triage from chat, end to end: a running bridge (real Bolt ExpressReceiver, real discord.js REST) posts an alert
 * to two Slack channels and a Discord channel; signed clicks from either platform update every copy once, with
 * mentions suppressed; bad, stale, future and replayed signatures change nothing; allow-lists hold; state
 * survives a restart.
 */
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessConfig, postAlert, startHarnessBridge, tempStorePath } from '../helpers/bridge-harness';
import { discordClick, discordKeys, send, signSlack, slackClick, until, SLACK_SIGNING_SECRET } from '../helpers/interactions';
import type { RunningBridge } from '../../src/bridge';
import { countInStore } from '../helpers/store-query';

jest.setTimeout(30_000);

const keys = discordKeys();
let slack: FakeSlack;
let discord: FakeDiscord;
let bridge: RunningBridge | undefined;

const ROUTES = `routes:
  - name: soc
    to: [soc-slack, soc-slack-2, soc-discord]
    digest: off
    mentions: { slack: { users: [U0ONCALL1] }, discord: { users: ["1600000000000000001"] } }`;

function config(storePath = tempStorePath(), routesYaml = ROUTES) {
  return harnessConfig({
    slackUrl: slack.url,
    discordApi: discord.api,
    webhookUrl: discord.webhookUrl(),
    storePath,
    slackSigningSecret: SLACK_SIGNING_SECRET,
    discordPublicKey: keys.publicKeyHex,
    routesYaml,
    extraDestinations: '  soc-slack-2: { type: slack, channel: C0SECOND01, pace: { limit: 50, windowMs: 100 } }',
  });
}


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

const posts = () => slack.messages.filter((m) => m.method === 'chat.postMessage');
const updates = () => slack.messages.filter((m) => m.method === 'chat.update');
const discordCreates = () => discord.messages.filter((m) => m.kind === 'create');
const discordEdits = () => discord.messages.filter((m) => m.kind === 'edit');

async function postAndDeliver(b: RunningBridge, overrides = {}) {
  const res = await postAlert(b, makeAlertPayload({ alertId: 'alert-triage-0001', ...overrides }));
  expect(res.status).toBe(200);
  await until(() => b.store!.counts().pending === 0 && posts().length >= 2 && discordCreates().length >= 1, 5000, 'delivery').catch((e) => {
    throw new Error(`${(e as Error).message}: ${JSON.stringify(b.store!.ledger().list().map((d) => [d.destination, d.status, d.lastReason]))} ${JSON.stringify([...slack.violations, ...discord.violations])}`);
  });
}

function slackButtons(args: Record<string, unknown>): { action_id: string; value: string }[] {
  const blocks = (args.blocks ?? []) as { type: string; block_id?: string; elements?: { action_id: string; value: string }[] }[];
  return blocks.filter((b) => b.type === 'actions' && b.block_id?.startsWith('triage')).flatMap((b) => b.elements ?? []);
}
const slackText = (args: Record<string, unknown>) => JSON.stringify(args.blocks);

describe('triage buttons', () => {
  it('posts Acknowledge / Resolve / Assign to me on Slack and Discord bot messages', async () => {
    bridge = await startHarnessBridge(config());
    await postAndDeliver(bridge);
    for (const post of posts()) expect(slackButtons(post.args).map((b) => b.action_id)).toEqual(['triage_acknowledge', 'triage_resolve', 'triage_assign']);
    const rows = discordCreates()[0]!.body.components as { components: { custom_id?: string; style: number }[] }[];
    expect(rows[0]!.components.map((c) => c.custom_id)).toEqual([expect.stringMatching(/^cb:acknowledge:\d+$/), expect.stringMatching(/^cb:resolve:\d+$/), expect.stringMatching(/^cb:assign:\d+$/)]);
    // The link buttons are still there, in their own row.
    expect(rows[1]!.components.every((c) => c.style === 5)).toBe(true);
  });

  it('a Slack click updates every copy once, with parse none, new block ids and no mentions', async () => {
    // The fakes flag every live mention; here the route's own mention is wanted on the first post, so they
    // record instead of refusing, and the test checks that only the first posts carried one.
    slack.rejectViolations = false;
    discord.rejectViolations = false;
    bridge = await startHarnessBridge(config());
    await postAndDeliver(bridge);
    const first = posts()[0]!;
    // The first post pings the route's on-call user; the edits must not.
    expect(String(first.args.text)).toMatch(/<@U0ONCALL1>/);
    const ack = slackButtons(first.args).find((b) => b.action_id === 'triage_acknowledge')!;
    const signed = signSlack(slackClick({ actionId: ack.action_id, value: ack.value, channel: first.channel, messageTs: first.ts }));
    // With a charset parameter, as some proxies forward it.
    const res = await send(`${bridge.url}/slack/events`, { ...signed, headers: { ...signed.headers, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } });
    expect(res.status).toBe(200);
    await until(() => updates().length === 2 && discordEdits().length === 1, 5000, 'edits');
    await new Promise((r) => setTimeout(r, 300));
    expect(updates()).toHaveLength(2);
    expect(discordEdits()).toHaveLength(1);
    expect(new Set(updates().map((u) => `${u.channel}/${u.ts}`))).toEqual(new Set(posts().map((p) => `${p.channel}/${p.ts}`)));
    for (const update of updates()) {
      expect(update.args.parse).toBe('none');
      expect(slackText(update.args)).toMatch(/Acknowledged by @alice at \d\d:\d\d UTC/);
      expect(slackText(update.args)).not.toMatch(/<@U0ONCALL1>/);
      expect(String(update.args.text)).not.toMatch(/<@U0ONCALL1>/);
      expect(slackButtons(update.args).map((b) => b.action_id)).toEqual(['triage_resolve', 'triage_assign']);
      const ids = (update.args.blocks as { block_id?: string }[]).map((b) => b.block_id).filter(Boolean);
      expect(ids.every((id) => /\.r1$/.test(id!))).toBe(true);
    }
    expect(slack.violations.every((v) => v.startsWith('chat.postMessage'))).toBe(true);
    expect(discord.violations.every((v) => v.startsWith('POST'))).toBe(true);
    const edit = discordEdits()[0]!;
    expect(edit.body.allowed_mentions).toEqual({ parse: [] });
    expect(edit.body.content).toBeUndefined();
    expect(JSON.stringify(edit.body.embeds)).toMatch(/Acknowledged by @alice/);
  });

  it('a Discord click answers type 6 and updates all copies; PING gets PONG', async () => {
    bridge = await startHarnessBridge(config());
    await postAndDeliver(bridge);
    const url = `${bridge.url}/discord/interactions`;
    expect(await send(url, keys.sign({ id: '1', type: 1, application_id: '1200000000000000001', token: 't', version: 1 }))).toEqual({ status: 200, body: { type: 1 } });
    const created = discordCreates()[0]!;
    const rows = created.body.components as { components: { custom_id?: string }[] }[];
    const resolve = rows[0]!.components.find((c) => c.custom_id?.startsWith('cb:resolve:'))!;
    const res = await send(url, keys.sign(discordClick({ customId: resolve.custom_id!, channelId: created.channelId, messageId: created.messageId, username: 'bob' })));
    expect(res).toEqual({ status: 200, body: { type: 6 } });
    await until(() => updates().length === 2 && discordEdits().length === 1, 5000, 'edits');
    for (const update of updates()) {
      expect(slackText(update.args)).toMatch(/Resolved by @bob/);
      expect(slackButtons(update.args).map((b) => b.action_id)).toEqual(['triage_assign']);
    }
    expect(JSON.stringify(discordEdits()[0]!.body.embeds)).toMatch(/Resolved by @bob/);
  });

  it('rejects bad, stale, future and replayed signatures with 401 and changes nothing', async () => {
    bridge = await startHarnessBridge(config());
    await postAndDeliver(bridge);
    const first = posts()[0]!;
    const ack = slackButtons(first.args)[0]!;
    const click = slackClick({ actionId: ack.action_id, value: ack.value, channel: first.channel, messageTs: first.ts });
    const slackUrl = `${bridge.url}/slack/events`;
    expect((await send(slackUrl, signSlack(click, 'wrong-secret'))).status).toBe(401);
    expect((await send(slackUrl, signSlack(click, SLACK_SIGNING_SECRET, -301))).status).toBe(401);
    expect((await send(slackUrl, signSlack(click, SLACK_SIGNING_SECRET, +301))).status).toBe(401);
    const unsigned = signSlack(click);
    expect((await send(slackUrl, { body: unsigned.body, headers: { 'content-type': unsigned.headers['content-type']! } })).status).toBe(401);

    const created = discordCreates()[0]!;
    const customId = (created.body.components as { components: { custom_id?: string }[] }[])[0]!.components[0]!.custom_id!;
    const discordUrl = `${bridge.url}/discord/interactions`;
    const dclick = discordClick({ customId, channelId: created.channelId, messageId: created.messageId });
    const other = discordKeys();
    expect((await send(discordUrl, other.sign(dclick))).status).toBe(401);
    expect((await send(discordUrl, keys.sign(dclick, -301))).status).toBe(401);
    expect((await send(discordUrl, keys.sign(dclick, +301))).status).toBe(401);
    const tampered = keys.sign(dclick);
    expect((await send(discordUrl, { ...tampered, body: tampered.body.replace('acknowledge', 'resolve') })).status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(updates()).toHaveLength(0);
    expect(discordEdits()).toHaveLength(0);

    // A valid click once, then the identical request again: the replay is refused and nothing changes twice.
    const valid = signSlack(click);
    expect((await send(slackUrl, valid)).status).toBe(200);
    expect((await send(slackUrl, valid)).status).toBe(401);
    const validDiscord = keys.sign(dclick);
    expect((await send(discordUrl, validDiscord)).status).toBe(200);
    expect((await send(discordUrl, validDiscord)).status).toBe(401);
    await until(() => updates().length >= 2, 5000, 'edits');
    await new Promise((r) => setTimeout(r, 400));
    const events = countInStore(bridge!, 'SELECT COUNT(*) AS n FROM triage_events');
    expect(events).toBe(2);
  });

  it('keeps the state and answers clicks after a restart between post and click', async () => {
    const storePath = tempStorePath();
    bridge = await startHarnessBridge(config(storePath));
    await postAndDeliver(bridge);
    await bridge.stop();
    bridge = await startHarnessBridge(config(storePath));
    const first = posts()[0]!;
    const assign = slackButtons(first.args).find((b) => b.action_id === 'triage_assign')!;
    expect((await send(`${bridge.url}/slack/events`, signSlack(slackClick({ actionId: assign.action_id, value: assign.value, channel: first.channel, messageTs: first.ts, username: 'carol' })))).status).toBe(200);
    await until(() => updates().length === 2 && discordEdits().length === 1, 5000, 'edits after restart');
    expect(slackText(updates()[0]!.args)).toMatch(/Assigned to @carol/);
    await bridge.stop();
    // A second restart re-edits nothing: every copy already shows the last state.
    bridge = await startHarnessBridge(config(storePath));
    await new Promise((r) => setTimeout(r, 500));
    expect(updates()).toHaveLength(2);
    expect(discordEdits()).toHaveLength(1);
  });

  it('concurrent clicks on both platforms end with every copy showing both actions and the same last state', async () => {
    bridge = await startHarnessBridge(config());
    await postAndDeliver(bridge);
    const first = posts()[0]!;
    const ack = slackButtons(first.args)[0]!;
    const created = discordCreates()[0]!;
    const resolveId = (created.body.components as { components: { custom_id?: string }[] }[])[0]!.components[1]!.custom_id!;
    const answers = await Promise.all([
      send(`${bridge.url}/slack/events`, signSlack(slackClick({ actionId: ack.action_id, value: ack.value, channel: first.channel, messageTs: first.ts }))),
      send(`${bridge.url}/discord/interactions`, keys.sign(discordClick({ customId: resolveId, channelId: created.channelId, messageId: created.messageId }))),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(answers[1]!.body).toEqual({ type: 6 });
    await until(() => countInStore(bridge!, 'SELECT COUNT(*) AS n FROM deliveries WHERE edit_wanted > edit_done') === 0 && updates().length >= 2, 5000, 'settled');
    const finalSlack = posts().map((p) => slack.stored(p.channel, p.ts)!);
    const states = finalSlack.map((args) => slackText(args).match(/(Acknowledged by @alice|Resolved by @Bob)/g));
    expect(states[0]).toEqual(states[1]);
    expect(states[0]).toHaveLength(2);
    const last = states[0]![1]!.startsWith('Resolved') ? '✅ Resolved' : '👀 Acknowledged';
    for (const args of finalSlack) expect(slackText(args)).toContain(last);
  });
});

describe('webhook copies', () => {
  it('carry link buttons only and still show the state after a click elsewhere', async () => {
    bridge = await startHarnessBridge(config(tempStorePath(), 'routes:\n  - name: soc\n    to: [soc-slack, lab-hook]\n    digest: off'));
    await postAlert(bridge, makeAlertPayload());
    await until(() => bridge!.store!.counts().pending === 0 && posts().length === 1 && discordCreates().length === 1, 5000, 'delivery');
    const hook = discordCreates()[0]!;
    expect(hook.webhookId).toBeDefined();
    expect(JSON.stringify(hook.body.components)).not.toMatch(/custom_id/);
    const first = posts()[0]!;
    const ack = slackButtons(first.args)[0]!;
    expect((await send(`${bridge.url}/slack/events`, signSlack(slackClick({ actionId: ack.action_id, value: ack.value, channel: first.channel, messageTs: first.ts })))).status).toBe(200);
    await until(() => discordEdits().length === 1, 5000, 'webhook edit');
    const edit = discordEdits()[0]!;
    expect(edit.webhookId).toBe(hook.webhookId);
    expect(JSON.stringify(edit.body.embeds)).toMatch(/Acknowledged by @alice/);
    expect(JSON.stringify(edit.body.components ?? [])).not.toMatch(/custom_id/);
    expect(edit.body.allowed_mentions).toEqual({ parse: [] });
    expect(discord.violations).toEqual([]);
  });
});

describe('other requests', () => {
  it('acknowledges link-button payloads without changing anything', async () => {
    bridge = await startHarnessBridge(config());
    await postAndDeliver(bridge);
    const first = posts()[0]!;
    const res = await send(`${bridge.url}/slack/events`, signSlack(slackClick({ actionId: 'view_alert', value: '', channel: first.channel, messageTs: first.ts })));
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(updates()).toHaveLength(0);
  });

  it('answers 404 on the interaction endpoints when interactivity is not configured', async () => {
    bridge = await startHarnessBridge(harnessConfig({ slackUrl: slack.url, discordApi: discord.api, webhookUrl: discord.webhookUrl() }));
    const click = signSlack(slackClick({ actionId: 'triage_resolve', value: 'cb:resolve:1', channel: 'C0123456789', messageTs: '1.2' }));
    expect((await send(`${bridge.url}/slack/events`, click)).status).toBe(404);
    expect((await send(`${bridge.url}/discord/interactions`, keys.sign({ type: 1 }))).status).toBe(404);
    // Without interactivity the messages carry no triage buttons.
    await postAlert(bridge, makeAlertPayload());
    await until(() => bridge!.store!.counts().pending === 0 && posts().length === 1, 5000, 'delivery');
    expect(slackButtons(posts()[0]!.args)).toEqual([]);
  });
});

describe('who may act', () => {
  const restricted = `routes:
  - name: soc
    to: [soc-slack, soc-discord]
    digest: off
    triage:
      allow: { slackUsers: [U0ALLOWED1], discordRoles: ["1500000000000000001"] }`;

  it('answers others with an ephemeral "not allowed" and changes nothing', async () => {
    bridge = await startHarnessBridge(config(tempStorePath(), restricted));
    await postAlert(bridge, makeAlertPayload({ alertId: 'restricted-1' }));
    await until(() => bridge!.store!.counts().pending === 0 && posts().length === 1, 5000, 'delivery');
    const first = posts()[0]!;
    const ack = slackButtons(first.args)[0]!;
    expect((await send(`${bridge.url}/slack/events`, signSlack(slackClick({ actionId: ack.action_id, value: ack.value, channel: first.channel, messageTs: first.ts, userId: 'U0MALLORY' })))).status).toBe(200);
    await until(() => slack.ephemerals.length === 1, 5000, 'ephemeral');
    expect(slack.ephemerals[0]).toMatchObject({ channel: first.channel, user: 'U0MALLORY', text: expect.stringMatching(/not allowed/) });

    const created = discordCreates()[0]!;
    const customId = (created.body.components as { components: { custom_id?: string }[] }[])[0]!.components[0]!.custom_id!;
    const denied = await send(`${bridge.url}/discord/interactions`, keys.sign(discordClick({ customId, channelId: created.channelId, messageId: created.messageId, roles: ['1500000000000000999'] })));
    expect(denied.body).toMatchObject({ type: 4, data: { flags: 64, allowed_mentions: { parse: [] }, content: expect.stringMatching(/not allowed/) } });
    await new Promise((r) => setTimeout(r, 300));
    expect(updates()).toHaveLength(0);
    expect(discordEdits()).toHaveLength(0);

    const allowed = await send(`${bridge.url}/discord/interactions`, keys.sign(discordClick({ customId, channelId: created.channelId, messageId: created.messageId, roles: ['1500000000000000001'] })));
    expect(allowed.body).toEqual({ type: 6 });
    await until(() => updates().length === 1 && discordEdits().length === 1, 5000, 'edits');
  });
});
