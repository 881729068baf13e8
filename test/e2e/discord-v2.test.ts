/**
 * `layout: v2` end to end, through the built CLI (`node dist/main.js serve`, delivering in its thread) and the real
 * discord.js REST and WebhookClient, against the fake Discord that refuses anything Discord's documented V2 rules
 * refuse (fake-discord-components.ts): a Panther alert reaches a bot channel and a plain webhook as valid V2
 * messages; a hostile alert stays within the limits and pings no one; the route's mentions ping exactly their
 * targets; an Acknowledge click edits every copy and each stays V2, with allowed_mentions resent; SIGHUP and a
 * restart both apply a layout change to new messages while posted messages keep theirs.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type DiscordMessage, type FakeDiscord } from '../helpers/fake-discord';
import { textDisplays } from '../helpers/fake-discord-components';
import { harnessYaml, PANTHER_TOKEN, tempStorePath } from '../helpers/bridge-harness';
import { discordClick, discordKeys, send, until } from '../helpers/interactions';
import { startServe, untilLogged, type ServeProcess } from '../helpers/serve-process';

jest.setTimeout(60_000);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;
const V2 = 1 << 15;
const CH = '1100000000000000002';
const FORUM = '1100000000000000009';
const ONCALL = '1600000000000000001';
const keys = discordKeys();
let slack: FakeSlack;
let discord: FakeDiscord;
let serve: ServeProcess | undefined;

beforeEach(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord({ forums: [{ id: FORUM, name: 'alerts-forum', tags: [] }] });
});
afterEach(async () => {
  await serve?.stop();
  serve = undefined;
  await slack.close();
  await discord.close();
});

/** Writes the config (bot channel CH and a plain webhook, both in `layout`) and returns what serve needs. */
function setUp(options: { layout?: string; routes?: string; forum?: boolean } = {}) {
  const storePath = tempStorePath();
  const configFile = path.join(path.dirname(storePath), 'bridge.yaml');
  const hookUrl = discord.webhookUrl(undefined, undefined, { channelId: CH });
  const labHook = discord.webhookUrl();
  const pace = 'pace: { limit: 50, windowMs: 100 }';
  const write = (layout = options.layout ?? 'v2') =>
    writeFileSync(configFile, harnessYaml({
      slackUrl: slack.url,
      discordApi: discord.api,
      webhookUrl: labHook,
      storePath,
      discordPublicKey: keys.publicKeyHex,
      extraDestinations: `  v2-bot: { type: discord, channel: "${CH}", layout: ${layout}, ${pace} }\n  v2-hook: { type: discord-webhook, url: "${hookUrl}", layout: ${layout}, ${pace} }` +
        (options.forum ? `\n  v2-forum: { type: discord, channel: "${FORUM}", layout: ${layout}, ${pace} }` : ''),
      routesYaml: options.routes ?? 'routes:\n  - name: soc\n    to: [v2-bot, v2-hook]\n    digest: off',
    }));
  write();
  const env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: labHook };
  return { configFile, env, write };
}

async function post(payload: Obj): Promise<void> {
  const res = await fetch(`${serve!.url}/webhooks/panther`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-panther-token': PANTHER_TOKEN }, body: JSON.stringify(payload) });
  expect(res.status).toBe(200);
}
const creates = () => discord.messages.filter((m) => m.kind === 'create');
const edits = () => discord.messages.filter((m) => m.kind === 'edit');
const all = (components: unknown): Obj[] => (Array.isArray(components) ? components.flatMap((c: Obj) => [c, ...all(c.components), ...(c.accessory ? [c.accessory] : [])]) : []);
const count = (body: Obj) => all(body.components).length;
const textOf = (m: DiscordMessage) => textDisplays(m.body.components).join('\n');
const ofTitle = (title: string) => (m: DiscordMessage) => textOf(m).includes(title);
/** Waits for `n` creates (the fake refuses invalid ones, so a refused V2 body never arrives), failing with what it refused. */
const arrived = (n: number, what: string) => until(() => creates().length >= n, 15_000, `${what}: ${JSON.stringify(discord.violations)}`);

describe('layout: v2 through serve', () => {
  it('posts a Panther alert to a bot channel and a plain webhook as valid V2 messages; an Ack click edits both and both stay V2', async () => {
    const { configFile, env } = setUp();
    serve = await startServe(configFile, env);
    await post(makeAlertPayload({ title: 'Root console login without MFA', severity: 'HIGH' }));
    await arrived(2, 'both copies');
    expect(discord.violations).toEqual([]);
    const bot = creates().find((m) => !m.webhookId)!;
    const hook = creates().find((m) => m.webhookId)!;
    for (const m of [bot, hook]) {
      expect(m.body.flags).toBe(V2);
      expect(m.body.content ?? null).toBeNull();
      expect(m.body.embeds ?? []).toEqual([]);
      expect(m.body.allowed_mentions).toEqual({ parse: [] });
      const container = (m.body.components as Obj[]).find((c) => c.type === 17)!;
      expect(container.accent_color).toBe(0xcb2e2e);
      expect(container.components[0]).toMatchObject({ type: 9, components: [{ content: '### 🔴 Root console login without MFA' }], accessory: { type: 2, style: 5, label: 'View in Panther' } });
      expect(container.components.some((c: Obj) => c.type === 14)).toBe(true);
    }
    expect(hook.withComponents).toBe(true);
    expect(all(hook.body.components).filter((c) => c.type === 2).every((b) => b.style === 5)).toBe(true);
    const ack = all(bot.body.components).find((c) => typeof c.custom_id === 'string' && c.custom_id.startsWith('cb:acknowledge:'))!;

    const res = await send(`${serve.url}/discord/interactions`, keys.sign(discordClick({ customId: ack.custom_id, channelId: bot.channelId, messageId: bot.messageId, username: 'bob' })));
    expect(res).toEqual({ status: 200, body: { type: 6 } });
    await until(() => edits().length === 2, 15_000, `edits: ${JSON.stringify(discord.violations)}`);
    expect(discord.violations).toEqual([]);
    for (const edit of edits()) {
      expect(edit.body.flags).toBe(V2);
      expect(edit.body.allowed_mentions).toEqual({ parse: [] });
      expect(textOf(edit)).toMatch(/Acknowledged by @bob at \d\d:\d\d UTC/);
      expect(discord.stored(edit.messageId)!.flags).toBe(V2);
    }
    const botEdit = edits().find((m) => !m.webhookId)!;
    expect(all(botEdit.body.components).filter((c) => c.custom_id).map((c) => c.custom_id.split(':')[1])).toEqual(['resolve', 'assign']);
    expect(edits().find((m) => m.webhookId)!.withComponents).toBe(true);
  });

  it('keeps a hostile alert within the limits, pinging no one', async () => {
    const { configFile, env } = setUp();
    serve = await startServe(configFile, env);
    const huge = (s: string) => `${s} `.repeat(500);
    await post(makeAlertPayload({
      title: `@everyone <@123> <@&223344556677889900> [Open](https://evil.example/x) ${huge('@here')}`,
      description: huge('<@123456789012345678> [bank](https://evil.example/steal) https://evil.example/y'),
      alertContext: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`field${i}`, huge(`@everyone <@${i}>`)])),
      tags: Array.from({ length: 60 }, (_, i) => `t${i} @here`),
      runbook: `https://runbooks.example.com/${'r'.repeat(600)}`,
    }));
    await arrived(2, 'both copies');
    expect(discord.violations).toEqual([]);
    for (const m of creates()) {
      expect(m.body.flags).toBe(V2);
      expect(count(m.body)).toBeLessThanOrEqual(40);
      const texts = textDisplays(m.body.components);
      expect(texts.reduce((n, t) => n + t.length, 0)).toBeLessThanOrEqual(4000);
      // The full layout, shortened; not the minimal fallback after a refusal.
      expect(texts[0]).toMatch(/^### 🔴 @\u200beveryone <\u200b@123>/);
      expect(texts.join('\n')).toContain('… (truncated)');
      expect(m.body.allowed_mentions).toEqual({ parse: [] });
      expect(JSON.stringify(m.body)).not.toContain('https://evil.example');
    }
    expect(discord.requests.filter((r) => r.status === 400)).toHaveLength(0);
  });

  it("pings exactly the route's configured targets, from a text display", async () => {
    // The fake records every live ping as a violation; here the route's own ping is wanted, so it records instead of refusing.
    discord.rejectViolations = false;
    const { configFile, env } = setUp({ routes: `routes:\n  - name: soc\n    to: [v2-bot]\n    digest: off\n    mentions: { discord: { users: ["${ONCALL}"] } }` });
    serve = await startServe(configFile, env);
    await post(makeAlertPayload({ title: 'Hi <@123456789012345678> @everyone' }));
    await arrived(1, 'the bot copy');
    const [m] = creates();
    expect((m!.body.components as Obj[])[0]).toEqual({ type: 10, content: `<@${ONCALL}>` });
    expect(m!.body.allowed_mentions).toEqual({ parse: [], users: [ONCALL] });
    expect(discord.violations).toEqual([expect.stringMatching(new RegExp(`components: would ping: <@${ONCALL}>$`))]);
  });

  it("pings every one of the route's targets however long the alert is: its text is shortened, never the mentions", async () => {
    discord.rejectViolations = false;
    const users = Array.from({ length: 6 }, (_, i) => `160000000000000001${i}`);
    const role = '1700000000000000001';
    const { configFile, env } = setUp({ routes: `routes:\n  - name: soc\n    to: [v2-bot]\n    digest: off\n    mentions: { discord: { roles: ["${role}"], users: ${JSON.stringify(users)} } }` });
    serve = await startServe(configFile, env);
    // Long text everywhere the shipped template shows alert data: the 4,000 characters of text displays are shared.
    await post(makeAlertPayload({
      title: 't'.repeat(300),
      description: 'd'.repeat(5000),
      tags: Array.from({ length: 40 }, (_, i) => `tag-${i}-`.repeat(5)),
      alertContext: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`.repeat(100), 'v'.repeat(400)])),
    }));
    await arrived(1, 'the bot copy');
    const [m] = creates();
    expect(textDisplays(m!.body.components).reduce((n, t) => n + t.length, 0)).toBeLessThanOrEqual(4000);
    expect((m!.body.components as Obj[])[0]).toEqual({ type: 10, content: [`<@&${role}>`, ...users.map((u) => `<@${u}>`)].join(' ') });
    expect(discord.violations).toHaveLength(1);
    const pinged = discord.violations[0]!.replace(/^.*would ping: /, '').split(', ').sort();
    expect(pinged).toEqual([`<@&${role}>`, ...users.map((u) => `<@${u}>`)].sort());
  });

  it("posts to a forum channel with an embed starter (a forum post's first message cannot be V2); repeats in the post are V2", async () => {
    const { configFile, env } = setUp({ routes: 'routes:\n  - name: soc\n    to: [v2-forum]\n    digest: off\n    threads: on' , forum: true });
    serve = await startServe(configFile, env);
    await post(makeAlertPayload({ title: 'Forum alert', alertId: undefined }));
    await until(() => discord.forums.posts.size === 1, 15_000, `the post: ${JSON.stringify(discord.violations)}`);
    await post(makeAlertPayload({ title: 'Forum alert' }));
    await until(() => creates().length === 2, 15_000, `the repeat: ${JSON.stringify(discord.violations)}`);
    const [starter, repeat] = creates();
    expect(starter!.route).toBe('POST /channels/:id/threads');
    // The fake records a post's starter message as the create's body.
    const message = starter!.body as Obj;
    expect(message.flags ?? 0).toBe(0);
    expect(message.embeds[0].title).toBe('🔴 Forum alert');
    expect(repeat!.channelId).toBe([...discord.forums.posts.keys()][0]);
    expect(repeat!.body.flags).toBe(V2);
    // The starter's "1 more in thread" edit stays an embed, as it was posted.
    await until(() => edits().some((m) => m.messageId === starter!.messageId), 15_000, 'the starter edit');
    for (const edit of edits().filter((m) => m.messageId === starter!.messageId)) expect(edit.body.flags).toBeUndefined();
    expect(discord.violations).toEqual([]);
  });

  it('records the layout Discord posted, not the one the retry asked for: a V2 post whose answer was lost, retried as an embed after a restart, is edited as V2', async () => {
    const { configFile, env, write } = setUp({ routes: 'routes:\n  - name: soc\n    to: [v2-bot]\n    digest: off' });
    serve = await startServe(configFile, env);
    // Discord creates the V2 message, but its answer never arrives: the send times out and is retried.
    discord.loseMessageAnswers = 1;
    await post(makeAlertPayload({ title: 'Answer lost' }));
    await until(() => creates().length === 1, 15_000, 'the V2 create');
    await serve.stop();
    // Restarted with the layout back to embed, the retry (same nonce) is answered with the V2 message Discord has.
    write('embed');
    serve = await startServe(configFile, env);
    await until(() => discord.nonceDuplicates === 1, 15_000, `the retry: ${JSON.stringify(discord.violations)}`);
    const [posted] = creates();
    expect(discord.stored(posted!.messageId)!.flags).toBe(V2);
    const ack = all(posted!.body.components).find((c) => c.custom_id?.startsWith('cb:acknowledge:'))!.custom_id as string;
    const res = await send(`${serve.url}/discord/interactions`, keys.sign(discordClick({ customId: ack, channelId: posted!.channelId, messageId: posted!.messageId, username: 'dana' })));
    expect(res).toEqual({ status: 200, body: { type: 6 } });
    await until(() => edits().length === 1 || discord.violations.length > 0, 15_000, 'the edit');
    expect(discord.violations).toEqual([]);
    expect(edits()[0]!.body.flags).toBe(V2);
    expect(textOf(edits()[0]!)).toMatch(/Acknowledged by @dana/);
  });

  it('applies a layout change on SIGHUP and on restart to new messages; posted messages keep their own layout when edited', async () => {
    const { configFile, env, write } = setUp({ layout: 'embed' });
    serve = await startServe(configFile, env);
    await post(makeAlertPayload({ title: 'Posted as embed' }));
    await arrived(2, 'embed copies');
    expect(creates().every((m) => m.body.flags === undefined && (m.body.embeds as Obj[]).length === 1)).toBe(true);

    write('v2');
    serve.child.kill('SIGHUP');
    await untilLogged(serve, '"msg":"config reloaded"');
    await post(makeAlertPayload({ title: 'Posted as V2' }));
    await arrived(4, 'V2 copies after SIGHUP');
    const v2Bot = creates().filter(ofTitle('Posted as V2'));
    expect(v2Bot.map((m) => m.body.flags)).toEqual([V2, V2]);

    // Acknowledge the embed alert under the V2 config: its copies are edited as embeds (no flag to upgrade them).
    const embedBot = creates().find((m) => !m.webhookId && (m.body.embeds as Obj[] | undefined)?.[0]?.title?.includes('Posted as embed'))!;
    const embedAck = (embedBot.body.components as Obj[])[0]!.components[0]!.custom_id as string;
    await send(`${serve.url}/discord/interactions`, keys.sign(discordClick({ customId: embedAck, channelId: embedBot.channelId, messageId: embedBot.messageId })));
    await until(() => edits().length === 2, 15_000, `embed edits: ${JSON.stringify(discord.violations)}`);
    for (const edit of edits()) {
      expect(edit.body.flags).toBeUndefined();
      expect(JSON.stringify(edit.body.embeds)).toMatch(/Acknowledged by @Bob/);
    }

    // Restart with the layout back to embed: new alerts are embeds, the V2 messages stay V2 when edited.
    await serve.stop();
    write('embed');
    serve = await startServe(configFile, env);
    await post(makeAlertPayload({ title: 'After restart' }));
    await arrived(6, 'copies after restart');
    expect(creates().filter((m) => (m.body.embeds as Obj[] | undefined)?.[0]?.title?.includes('After restart')).length).toBe(2);
    const v2Message = v2Bot.find((m) => !m.webhookId)!;
    const v2Ack = all(v2Message.body.components).find((c) => c.custom_id?.startsWith('cb:acknowledge:'))!.custom_id as string;
    await send(`${serve.url}/discord/interactions`, keys.sign(discordClick({ customId: v2Ack, channelId: v2Message.channelId, messageId: v2Message.messageId, username: 'carol' })));
    await until(() => edits().length === 4, 15_000, `V2 edits: ${JSON.stringify(discord.violations)}`);
    for (const edit of edits().slice(2)) {
      expect(edit.body.flags).toBe(V2);
      expect(textOf(edit)).toMatch(/Acknowledged by @carol/);
    }
    expect(discord.violations).toEqual([]);
  });
});
