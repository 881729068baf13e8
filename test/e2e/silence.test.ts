/**
 * Silences from chat end to end, against a loopback Alertmanager API (test/helpers/fake-alertmanager.ts; the real
 * one is in interop/silence.interop.ts): a running bridge with the real Bolt receiver and discord.js posts
 * Alertmanager alerts to two Slack channels, a Discord bot channel and a Discord webhook; signed choices in the
 * Silence menu create silences with the configured credentials; every copy shows the silence, or its failure while
 * it is retried; without an API the control is a link to the source's own form; the allow list refuses; the
 * silence survives a restart (SQLite and PostgreSQL) and Unsilence then expires it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { startFakeAlertmanager, type FakeAlertmanager } from '../helpers/fake-alertmanager';
import { AM_TOKEN, harnessConfig, harnessYaml, PANTHER_TOKEN, postGroup, startHarnessBridge, tempStorePath, type HarnessOptions } from '../helpers/bridge-harness';
import { startServe, untilLogged } from '../helpers/serve-process';
import { discordClick, discordKeys, send, signSlack, slackClick, slackSelect, until, SLACK_SIGNING_SECRET } from '../helpers/interactions';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres';
import type { RunningBridge } from '../../src/bridge';

jest.setTimeout(30_000);

const keys = discordKeys();
const AM_API_TOKEN = 'am-api-token-0001';
let slack: FakeSlack;
let discord: FakeDiscord;
let am: FakeAlertmanager;
let bridge: RunningBridge | undefined;
/** The Discord webhook of the test (one: a restarted bridge must edit what the first one posted). */
let hookUrl: string;

const fixture = (source: string, file: string) => JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', source, file), 'utf8'));
const FIRING = () => fixture('alertmanager', 'v0.25-firing-two.json');
const API_1_LABELS = { alertname: 'HighErrorRate', instance: 'api-1:9100', job: 'api', severity: 'critical', team: 'payments' };

const ROUTES = `routes:
  - name: ops
    to: [soc-slack, soc-slack-2, soc-discord, lab-hook]
    digest: off`;

function config(alertmanagerYaml: string, extra: Partial<HarnessOptions> = {}) {
  return harnessConfig(
    {
      slackUrl: slack.url,
      discordApi: discord.api,
      webhookUrl: hookUrl,
      slackSigningSecret: SLACK_SIGNING_SECRET,
      discordPublicKey: keys.publicKeyHex,
      routesYaml: ROUTES,
      extraDestinations: '  soc-slack-2: { type: slack, channel: C0SECOND01, pace: { limit: 50, windowMs: 100 } }',
      alertmanagerYaml,
      ...extra,
    },
    { AM_API_TOKEN },
  );
}
const withApi = (auth = `auth: { bearer: "\${AM_API_TOKEN}" }`, more = '', apiMore = '') => `    api: { url: "${am.url}", ${auth}, headers: { X-Scope-OrgID: tenant-1 }${apiMore} }${more}`;

beforeEach(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
  hookUrl = discord.webhookUrl();
  am = await startFakeAlertmanager();
});
afterEach(async () => {
  await bridge?.stop();
  bridge = undefined;
  await Promise.all([slack.close(), discord.close(), am.close()]);
});

/** The creates the fake received (each create is preceded by a look-up of what a lost try may have made). */
const amPosts = () => am.requests.filter((r) => r.method === 'POST');
const posts = () => slack.messages.filter((m) => m.method === 'chat.postMessage');
const updates = () => slack.messages.filter((m) => m.method === 'chat.update');
const creates = () => discord.messages.filter((m) => m.kind === 'create');
const edits = () => discord.messages.filter((m) => m.kind === 'edit');
const isApi1 = (x: unknown) => JSON.stringify(x).includes('High 5xx rate on api-1');
const posts1 = () => posts().filter((p) => isApi1(p.args.blocks));
const bot1 = () => creates().find((c) => isApi1(c.body) && !c.webhookId)!;

type Element = { type: string; action_id?: string; value?: string; url?: string; options?: { value: string; text: { text: string } }[] };
const slackSilence = (args: Record<string, unknown>): Element | undefined =>
  ((args.blocks ?? []) as { block_id?: string; elements?: Element[] }[]).find((b) => b.block_id?.startsWith('silence.'))?.elements?.[0];
type Component = { type: number; style?: number; custom_id?: string; url?: string; label?: string; options?: { value: string; label: string }[] };
const components = (body: Record<string, unknown>): Component[] => ((body.components ?? []) as { components: Component[] }[]).flatMap((r) => r.components);

/** The latest content of each copy of alert api-1: two Slack channels, the Discord bot channel, the Discord webhook. */
function latestCopies(): string[] {
  const slackCopies = posts1().map((p) => JSON.stringify(updates().filter((u) => u.channel === p.channel && u.ts === p.ts).at(-1)?.args.blocks ?? p.args.blocks));
  const discordCopies = creates()
    .filter((c) => isApi1(c.body))
    .map((c) => JSON.stringify(edits().filter((e) => e.messageId === c.messageId).at(-1)?.body ?? c.body));
  return [...slackCopies, ...discordCopies];
}

async function postAndDeliver(b: RunningBridge) {
  expect((await postGroup(b, FIRING())).status).toBe(200);
  await until(() => posts().length === 4 && creates().length === 4, 10_000, 'the firing messages');
}

/** Chooses `label` in the Silence menu of alert api-1's first Slack copy, as `user`. */
async function chooseOnSlack(b: RunningBridge, label = '1 h', user = { userId: 'U0ALICE01', username: 'alice' }) {
  const post = posts1()[0]!;
  const option = slackSilence(post.args)!.options!.find((o) => o.text.text === label)!;
  return send(`${b.url}/slack/events`, signSlack(slackSelect({ actionId: 'silence_menu', value: option.value, label, channel: post.channel!, messageTs: post.ts!, ...user })));
}

describe('the Silence menu with the API configured', () => {
  it('is on every interactive copy; a Slack choice creates the silence with the bearer token, and every copy says so', async () => {
    bridge = await startHarnessBridge(config(withApi()));
    await postAndDeliver(bridge);
    for (const post of posts()) {
      expect(slackSilence(post.args)).toMatchObject({ type: 'static_select', action_id: 'silence_menu', options: [{ text: { text: '1 h' } }, { text: { text: '4 h' } }, { text: { text: '24 h' } }] });
    }
    const menu = components(bot1().body).find((c) => c.type === 3)!;
    expect(menu).toMatchObject({ custom_id: expect.stringMatching(/^sl:\d+$/), options: [{ label: '1 h', value: '3600000' }, { label: '4 h', value: '14400000' }, { label: '24 h', value: '86400000' }] });
    // A plain webhook cannot send the click back: a link to Alertmanager's own form instead of the menu.
    const hook = creates().find((c) => isApi1(c.body) && c.webhookId)!;
    expect(components(hook.body).some((c) => c.type === 3)).toBe(false);
    expect(components(hook.body).find((c) => c.label === 'Silence')).toMatchObject({ type: 2, style: 5, url: expect.stringMatching(/^http:\/\/alertmanager\.example\.com:9093\/#\/silences\/new\?filter=/) });

    const before = Date.now();
    expect((await chooseOnSlack(bridge)).status).toBe(200);
    await until(() => amPosts().length === 1, 5000, 'the silence request');
    // First the look-up (a create that was tried before is adopted), then the create.
    expect(am.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/v2/silences', 'POST /api/v2/silences']);
    const [request] = amPosts();
    expect(request).toMatchObject({ method: 'POST', path: '/api/v2/silences' });
    expect(request!.headers.authorization).toBe(`Bearer ${AM_API_TOKEN}`);
    expect(request!.headers['x-scope-orgid']).toBe('tenant-1');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.body.matchers).toEqual(Object.entries(API_1_LABELS).map(([name, value]) => ({ name, value, isRegex: false, isEqual: true })));
    expect(request!.body.createdBy).toBe('alice');
    const [startsAt, endsAt] = [Date.parse(request!.body.startsAt), Date.parse(request!.body.endsAt)];
    expect(endsAt - startsAt).toBe(3_600_000);
    expect(startsAt).toBeGreaterThanOrEqual(before - 1000);
    expect(request!.body.comment).toMatch(/^Silenced for 1 h from Slack by @alice \(U0ALICE01\) with chatops-bridge\. Alert: "High 5xx rate on api-1" \(fingerprint a1b2c3d4e5f60718\)\. Message: https:\/\/acme\.slack\.com\/archives\/C0123456789\/p\d+$/);

    // "18:00 UTC", with the date when the hour's silence ends on the next day (a run between 23:00 and 24:00 UTC).
    const [startDay, endIso] = [new Date(startsAt).toISOString().slice(0, 10), new Date(endsAt).toISOString()];
    const until1800 = endIso.slice(0, 10) === startDay ? endIso.slice(11, 16) : `${endIso.slice(0, 10)} ${endIso.slice(11, 16)}`;
    await until(() => latestCopies().every((copy) => copy.includes(`Silenced by @alice until ${until1800} UTC`)), 5000, 'every copy silenced');
    for (const post of posts1()) {
      const last = updates().filter((u) => u.channel === post.channel && u.ts === post.ts).at(-1)!;
      expect(slackSilence(last.args)).toMatchObject({ type: 'button', action_id: 'silence_unsilence', value: expect.stringMatching(/^su:\d+$/) });
      expect(last.args.parse).toBe('none');
    }
    const botEdit = edits().filter((e) => e.messageId === bot1().messageId).at(-1)!;
    expect(components(botEdit.body).find((c) => c.custom_id?.startsWith('su:'))).toMatchObject({ type: 2, label: 'Unsilence' });
    expect(botEdit.body.allowed_mentions).toEqual({ parse: [] });
    // The other alert of the group is not silenced.
    expect(JSON.stringify(updates().filter((u) => !isApi1(u.args.blocks)))).not.toContain('Silenced by');
    expect([...slack.violations, ...discord.violations]).toEqual([]);
  });

  it('sends basic auth, and a Discord choice creates the silence for the Discord user', async () => {
    bridge = await startHarnessBridge(config(withApi(`auth: { basic: { username: bridge, password: "\${AM_API_TOKEN}" } }`)));
    await postAndDeliver(bridge);
    const menu = components(bot1().body).find((c) => c.type === 3)!;
    const answer = await send(`${bridge.url}/discord/interactions`, keys.sign(discordClick({ customId: menu.custom_id!, values: ['14400000'], channelId: bot1().channelId, messageId: bot1().messageId, username: 'bob' })));
    expect(answer.body).toEqual({ type: 6 });
    await until(() => amPosts().length === 1, 5000, 'the silence request');
    expect(am.requests.every((r) => r.headers.authorization === `Basic ${Buffer.from(`bridge:${AM_API_TOKEN}`).toString('base64')}`)).toBe(true);
    expect(amPosts()[0]!.body.createdBy).toBe('bob');
    expect(Date.parse(amPosts()[0]!.body.endsAt) - Date.parse(amPosts()[0]!.body.startsAt)).toBe(14_400_000);
    expect(amPosts()[0]!.body.comment).toMatch(/from Discord by @bob .*Message: https:\/\/discord\.com\/channels\/1000000000000000001\/1100000000000000001\/\d+$/);
    await until(() => latestCopies().every((copy) => copy.includes('Silenced by @bob until')), 5000, 'every copy silenced');
  });

  it('a 401 shows "Silence failed: 401 from Alertmanager" in every copy and is retried until it works', async () => {
    bridge = await startHarnessBridge(config(withApi()));
    await postAndDeliver(bridge);
    am.failWith = 401;
    await chooseOnSlack(bridge);
    await until(() => am.requests.length >= 3, 5000, 'retried silence requests');
    await until(() => latestCopies().every((copy) => copy.includes('Silence failed: 401 from Alertmanager (retrying)')), 5000, 'the failure in every copy');
    expect(latestCopies().every((copy) => copy.includes('Silence for 1 h requested by @alice'))).toBe(true);
    // While a create is under way (retrying), Unsilence cancels it; the menu is not offered twice.
    expect(slackSilence(updates().filter((u) => isApi1(u.args.blocks)).at(-1)!.args)?.action_id).toBe('silence_unsilence');
    am.failWith = undefined;
    await until(() => am.silences.size === 1, 5000, 'the silence created');
    await until(() => latestCopies().every((copy) => copy.includes('Silenced by @alice until') && !copy.includes('Silence failed')), 5000, 'every copy silenced');
    // Every request carried the same silence, and no copy ever showed a credential.
    expect(new Set(am.requests.filter((r) => r.method === 'POST').map((r) => JSON.stringify(r.body))).size).toBe(1);
    // Each retry first looked for a silence the failed try might have made (there was none): one silence in all.
    expect(am.requests.filter((r) => r.method === 'GET').length).toBeGreaterThanOrEqual(2);
    expect(am.silences.size).toBe(1);
    expect(am.requests.every((r) => r.headers.authorization === `Bearer ${AM_API_TOKEN}`)).toBe(true);
    expect(JSON.stringify([slack.messages, discord.messages])).not.toContain(AM_API_TOKEN);
    expect([...slack.violations, ...discord.violations]).toEqual([]);
  });

  it('a create whose answer was lost is not made twice: the retry finds the silence and adopts it', async () => {
    bridge = await startHarnessBridge(config(withApi()));
    await postAndDeliver(bridge);
    am.loseCreateAnswers = 1;
    await chooseOnSlack(bridge);
    await until(() => latestCopies().every((copy) => copy.includes('Silenced by @alice until')), 5000, 'every copy silenced');
    expect(am.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/v2/silences', 'POST /api/v2/silences', 'GET /api/v2/silences']);
    expect([...am.silences.keys()]).toEqual(['fake-silence-1']);
    // …and Unsilence expires that one.
    const post = posts1()[0]!;
    const button = slackSilence(updates().filter((u) => u.channel === post.channel && u.ts === post.ts).at(-1)!.args)!;
    await send(`${bridge.url}/slack/events`, signSlack(slackClick({ actionId: button.action_id!, value: button.value!, channel: post.channel!, messageTs: post.ts! })));
    await until(() => am.silences.get('fake-silence-1')?.state === 'expired', 5000, 'the adopted silence expired');
  });

  it('Unsilence while a create whose answer was lost is retried expires the silence that create made', async () => {
    bridge = await startHarnessBridge(config(withApi()));
    await postAndDeliver(bridge);
    // Alertmanager makes the silence, the answer is lost (502), and then it is down for a while.
    am.loseCreateAnswers = 1;
    am.failAfterLostCreate = 503;
    await chooseOnSlack(bridge);
    await until(() => latestCopies().every((copy) => copy.includes('Silence failed: ')), 5000, 'the failure in every copy');
    expect(am.silences.get('fake-silence-1')?.state).toBe('active');
    const post = posts1()[0]!;
    const button = slackSilence(updates().filter((u) => u.channel === post.channel && u.ts === post.ts).at(-1)!.args)!;
    expect(button.action_id).toBe('silence_unsilence');
    await send(`${bridge.url}/slack/events`, signSlack(slackClick({ actionId: button.action_id!, value: button.value!, channel: post.channel!, messageTs: post.ts!, userId: 'U0BOB0001', username: 'bob' })));
    await until(() => latestCopies().every((copy) => copy.includes('Unsilence')), 5000, 'the Unsilence in every copy');
    am.failWith = undefined;
    // The silence the lost create made is found and expired: nothing of it stays in force after the copies said so.
    await until(() => am.silences.get('fake-silence-1')?.state === 'expired', 5000, 'the silence of the lost create expired').catch((e) => {
      throw new Error(`${(e as Error).message}; requests: ${am.requests.map((r) => `${r.method} ${r.path}`).join(', ')}; copies: ${latestCopies()[0]}`);
    });
    await until(() => latestCopies().every((copy) => /Unsilenced by @bob at \d\d:\d\d UTC/.test(copy)), 5000, 'every copy unsilenced');
    expect(am.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect([...am.silences.values()].every((s) => s.state === 'expired')).toBe(true);
  });

  it('a 400 is not retried: the copies say why and offer the menu again', async () => {
    bridge = await startHarnessBridge(config(withApi()));
    await postAndDeliver(bridge);
    am.failCreatesWith = 400;
    await chooseOnSlack(bridge);
    await until(() => latestCopies().every((copy) => copy.includes('Silence failed: 400 from Alertmanager: refused by the fake') && !copy.includes('retrying')), 5000, 'the failure in every copy');
    expect(amPosts()).toHaveLength(1);
    await until(() => slackSilence(updates().filter((u) => isApi1(u.args.blocks)).at(-1)!.args)?.type === 'static_select', 5000, 'the menu again');
  });

  it('refuses a user outside the allow list with an ephemeral answer, and a duration not offered', async () => {
    bridge = await startHarnessBridge(config(withApi(undefined, '\n    silence: { durations: [30m, 2h], allow: { slackUsers: [U0ONCALL1], discordUsers: ["1400000000000000009"] } }')));
    await postAndDeliver(bridge);
    expect(slackSilence(posts1()[0]!.args)!.options!.map((o) => o.text.text)).toEqual(['30 min', '2 h']);
    await chooseOnSlack(bridge, '30 min');
    await until(() => slack.ephemerals.length === 1, 5000, 'the ephemeral refusal');
    expect(slack.ephemerals[0]).toMatchObject({ user: 'U0ALICE01', text: 'You are not allowed to silence alerts of route "ops"; nothing was changed.' });
    const menu = components(bot1().body).find((c) => c.type === 3)!;
    const denied = await send(`${bridge.url}/discord/interactions`, keys.sign(discordClick({ customId: menu.custom_id!, values: ['1800000'], channelId: bot1().channelId, messageId: bot1().messageId })));
    expect(denied.body).toMatchObject({ type: 4, data: { flags: 64, content: 'You are not allowed to silence alerts of route "ops"; nothing was changed.' } });
    // The listed Discord user may; a duration the menu does not offer is refused even to them.
    const forged = await send(`${bridge.url}/discord/interactions`, keys.sign(discordClick({ customId: menu.custom_id!, values: ['3600000'], channelId: bot1().channelId, messageId: bot1().messageId, userId: '1400000000000000009' })));
    expect(forged.body.data.content).toBe('A silence of 1 h is not offered for these alerts; nothing was changed.');
    expect(am.requests).toEqual([]);
    const allowed = await send(`${bridge.url}/discord/interactions`, keys.sign(discordClick({ customId: menu.custom_id!, values: ['7200000'], channelId: bot1().channelId, messageId: bot1().messageId, userId: '1400000000000000009' })));
    expect(allowed.body).toEqual({ type: 6 });
    await until(() => amPosts().length === 1, 5000, 'the allowed silence');
  });

  it('is not offered on an alert that has none of the labels a silence matches on', async () => {
    bridge = await startHarnessBridge(config(withApi(undefined, '\n    silence: { matchers: [cluster] }')));
    await postAndDeliver(bridge);
    // Neither alert has a `cluster` label: a choice could only be refused ("cannot be silenced"), so no menu.
    for (const post of posts()) expect(slackSilence(post.args)).toBeUndefined();
    for (const copy of creates()) expect(components(copy.body).filter((c) => c.type === 3 || c.label === 'Silence')).toEqual([]);
  });

  it("a second choice is told who holds the silence, and a Discord name is plain text in Slack's answer", async () => {
    bridge = await startHarnessBridge(config(withApi()));
    await postAndDeliver(bridge);
    // A Discord display name is whatever its user typed (32 characters): here Slack link markup.
    const name = '<https://ev.il/x|Unsilence>';
    const menu = components(bot1().body).find((c) => c.type === 3)!;
    await send(`${bridge.url}/discord/interactions`, keys.sign(discordClick({ customId: menu.custom_id!, values: ['3600000'], channelId: bot1().channelId, messageId: bot1().messageId, username: name })));
    await until(() => amPosts().length === 1, 5000, 'the silence request');
    await chooseOnSlack(bridge);
    await until(() => slack.ephemerals.length === 1, 5000, 'the ephemeral answer');
    const text = slack.ephemerals[0]!.text;
    expect(text).toMatch(/^This alert is already silenced \(/);
    // Slack would draw `<url|label>` as a link labelled "Unsilence" in the bridge's own answer.
    expect(text).not.toContain('<https://');
    expect(text).toContain('&lt;https://ev.il/x|Unsilence&gt;');
  });

  it("a Discord name is plain text in Discord's answer too (no masked link, no mention)", async () => {
    bridge = await startHarnessBridge(config(withApi()));
    await postAndDeliver(bridge);
    const menu = components(bot1().body).find((c) => c.type === 3)!;
    const choose = (userId: string, username: string) =>
      send(`${bridge!.url}/discord/interactions`, keys.sign(discordClick({ customId: menu.custom_id!, values: ['3600000'], channelId: bot1().channelId, messageId: bot1().messageId, userId, username })));
    expect((await choose('1400000000000000001', '[Unsilence](https://ev.il/x)')).body).toEqual({ type: 6 });
    const answer = await choose('1400000000000000002', 'carol');
    expect(answer.body).toMatchObject({ type: 4, data: { flags: 64, allowed_mentions: { parse: [] } } });
    const content = answer.body.data.content as string;
    expect(content).toMatch(/^This alert is already silenced \(/);
    // Discord draws `[label](url)` from a bot as a link labelled "Unsilence".
    expect(content).not.toContain('[Unsilence](https://');
  });

  it("without an allow list of its own, the route's triage allow list decides", async () => {
    bridge = await startHarnessBridge(config(withApi(), { routesYaml: `${ROUTES}\n    triage: { allow: { slackUsers: [U0ONCALL1] } }` }));
    await postAndDeliver(bridge);
    await chooseOnSlack(bridge);
    await until(() => slack.ephemerals.length === 1, 5000, 'the ephemeral refusal');
    await chooseOnSlack(bridge, '1 h', { userId: 'U0ONCALL1', username: 'oncall' });
    await until(() => amPosts().length === 1, 5000, 'the allowed silence');
    expect(amPosts()[0]!.body.createdBy).toBe('oncall');
  });
});

describe('without an API', () => {
  it("the control is a link to Alertmanager's new-silence form with the alert's labels filled in", async () => {
    bridge = await startHarnessBridge(config('    silence: { matchers: [alertname, instance, cluster] }'));
    await postAndDeliver(bridge);
    const link = slackSilence(posts1()[0]!.args)!;
    expect(link).toMatchObject({ type: 'button', action_id: 'silence_link', text: { text: 'Silence' } });
    const url = new URL(link.url!);
    expect(`${url.origin}${url.pathname}`).toBe('http://alertmanager.example.com:9093/');
    const hash = new URLSearchParams(url.hash.replace(/^#\/silences\/new\?/, ''));
    expect(url.hash).toMatch(/^#\/silences\/new\?filter=/);
    // A named label the alert does not have is matched as empty: the silence stays as narrow as configured.
    expect(hash.get('filter')).toBe('{alertname="HighErrorRate",cluster="",instance="api-1:9100"}');
    expect(hash.get('comment')).toBe('chatops-bridge: "High 5xx rate on api-1" (fingerprint a1b2c3d4e5f60718)');
    // Discord, the bot channel and the webhook alike: a link button (it needs no interaction).
    for (const copy of creates().filter((c) => isApi1(c.body))) expect(components(copy.body)).toContainEqual({ type: 2, style: 5, label: 'Silence', url: link.url });
    // A click on a link is only acknowledged; nothing is silenced.
    const post = posts1()[0]!;
    expect((await send(`${bridge.url}/slack/events`, signSlack(slackClick({ actionId: 'silence_link', value: '', channel: post.channel!, messageTs: post.ts! })))).status).toBe(200);
    expect([...slack.violations, ...discord.violations]).toEqual([]);
  });

  it('a Grafana alert keeps Grafana\'s own Silence link; one without gets a link to Grafana\'s form', async () => {
    bridge = await startHarnessBridge(config('', { routesYaml: ROUTES }));
    const withOwn = fixture('grafana', 'v11-values-null-relative.json');
    const without = JSON.parse(JSON.stringify(withOwn));
    for (const alert of without.alerts) delete alert.silenceURL;
    for (const alert of without.alerts) alert.fingerprint = `${alert.fingerprint ?? 'x'}-2`;
    expect((await postGroup(bridge, withOwn, { source: 'grafana' })).status).toBe(200);
    await until(() => posts().length === 2, 5000, 'the Grafana message');
    const own = posts()[0]!;
    expect(slackSilence(own.args)).toBeUndefined();
    expect(JSON.stringify(own.args.blocks)).toContain('https://play.grafana.org/alerting/silence/new?alertmanager=grafana');
    expect((await postGroup(bridge, without, { source: 'grafana' })).status).toBe(200);
    await until(() => posts().length === 4, 5000, 'the second Grafana message');
    const built = new URL(slackSilence(posts()[2]!.args)!.url!);
    expect(`${built.origin}${built.pathname}`).toBe('https://grafana.example.com/alerting/silence/new');
    expect(built.searchParams.get('alertmanager')).toBe('grafana');
    expect(built.searchParams.get('orgId')).toBe('1');
    expect(built.searchParams.getAll('matcher').length).toBeGreaterThan(0);
    expect(built.searchParams.getAll('matcher').every((m) => /^[^=]+=/.test(m))).toBe(true);
  });
});

describe('Grafana with its API', () => {
  it("creates the silence through Grafana's Alertmanager-compatible API", async () => {
    await am.close();
    am = await startFakeAlertmanager('/api/alertmanager/grafana/api/v2');
    bridge = await startHarnessBridge(config('', { grafanaYaml: `    api: { url: "${am.url}/", auth: { bearer: "\${AM_API_TOKEN}" } }` }));
    expect((await postGroup(bridge, fixture('grafana', 'v11-values-null-relative.json'), { source: 'grafana' })).status).toBe(200);
    await until(() => posts().length === 2, 5000, 'the Grafana message');
    const post = posts()[0]!;
    const option = slackSilence(post.args)!.options![0]!;
    await send(`${bridge.url}/slack/events`, signSlack(slackSelect({ actionId: 'silence_menu', value: option.value, channel: post.channel!, messageTs: post.ts! })));
    await until(() => am.silences.size === 1, 5000, 'the Grafana silence');
    expect(amPosts()[0]).toMatchObject({ method: 'POST', path: '/api/alertmanager/grafana/api/v2/silences' });
    expect(am.requests.map((r) => r.path)).toEqual(['/api/alertmanager/grafana/api/v2/silences', '/api/alertmanager/grafana/api/v2/silences']);
    expect(amPosts()[0]!.headers.authorization).toBe(`Bearer ${AM_API_TOKEN}`);
  });
});

describe.each(['sqlite', 'postgres'] as const)('Unsilence while the create is under way (%s)', (engine) => {
  let db: TestDatabase | undefined;
  afterEach(async () => {
    await bridge?.stop();
    bridge = undefined;
    await db?.drop();
    db = undefined;
  });

  it('a create that times out after the click is followed at once by the expire of what it made', async () => {
    const store: Partial<HarnessOptions> = engine === 'postgres' ? { storeUrl: (db = await createTestDatabase()).url } : { storePath: tempStorePath() };
    bridge = await startHarnessBridge(config(withApi(undefined, '', ', timeoutMs: 1000'), store));
    await postAndDeliver(bridge);
    // Alertmanager makes the silence but its answer never comes: the call times out after 1 s.
    am.holdCreateAnswers = 1;
    await chooseOnSlack(bridge);
    await until(() => am.silences.size === 1, 5000, 'the silence made');
    const post = posts1()[0]!;
    await until(() => slackSilence(updates().filter((u) => u.channel === post.channel && u.ts === post.ts).at(-1)?.args ?? {})?.action_id === 'silence_unsilence', 5000, 'the Unsilence button');
    const button = slackSilence(updates().filter((u) => u.channel === post.channel && u.ts === post.ts).at(-1)!.args)!;
    await send(`${bridge.url}/slack/events`, signSlack(slackClick({ actionId: button.action_id!, value: button.value!, channel: post.channel!, messageTs: post.ts!, userId: 'U0BOB0001', username: 'bob' })));
    // The timed-out create's outcome no longer applies (the row is being expired); the expire must not wait for the
    // create's lease (two minutes) to run out.
    await until(() => am.silences.get('fake-silence-1')?.state === 'expired', 8000, 'the silence expired').catch((e) => {
      throw new Error(`${(e as Error).message}; requests: ${am.requests.map((r) => `${r.method} ${r.path}`).join(', ')}`);
    });
    await until(() => latestCopies().every((copy) => /Unsilenced by @bob at \d\d:\d\d UTC/.test(copy)), 5000, 'every copy unsilenced');
  });
});

describe.each(['sqlite', 'postgres'] as const)('a restart between Silence and Unsilence (%s)', (engine) => {
  let db: TestDatabase | undefined;
  afterEach(async () => {
    await bridge?.stop();
    bridge = undefined;
    await db?.drop();
    db = undefined;
  });

  it('the restarted bridge knows the silence: Unsilence expires it and every copy shows the menu again', async () => {
    const store: Partial<HarnessOptions> = engine === 'postgres' ? { storeUrl: (db = await createTestDatabase()).url } : { storePath: tempStorePath() };
    bridge = await startHarnessBridge(config(withApi(), store));
    await postAndDeliver(bridge);
    await chooseOnSlack(bridge);
    await until(() => latestCopies().every((copy) => copy.includes('Silenced by @alice')), 5000, 'every copy silenced');
    await bridge.stop();
    bridge = await startHarnessBridge(config(withApi(), store));

    const post = posts1()[1]!;
    const last = updates().filter((u) => u.channel === post.channel && u.ts === post.ts).at(-1)!;
    const button = slackSilence(last.args)!;
    await send(`${bridge.url}/slack/events`, signSlack(slackClick({ actionId: button.action_id!, value: button.value!, channel: post.channel!, messageTs: post.ts!, userId: 'U0BOB0001', username: 'bob' })));
    await until(() => am.requests.some((r) => r.method === 'DELETE'), 5000, 'the expire request');
    expect(am.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual(['/api/v2/silence/fake-silence-1']);
    expect(am.silences.get('fake-silence-1')?.state).toBe('expired');
    await until(() => latestCopies().every((copy) => /Unsilenced by @bob at \d\d:\d\d UTC \(silenced by @alice\)/.test(copy)), 5000, 'every copy unsilenced').catch((e) => {
      throw new Error(`${(e as Error).message}: ${latestCopies().join('\n')}`);
    });
    for (const p of posts1()) {
      expect(slackSilence(updates().filter((u) => u.channel === p.channel && u.ts === p.ts).at(-1)!.args)?.type).toBe('static_select');
    }
    // A second Unsilence finds nothing to lift and says so.
    await send(`${bridge.url}/slack/events`, signSlack(slackClick({ actionId: button.action_id!, value: button.value!, channel: post.channel!, messageTs: post.ts!, userId: 'U0BOB0001', username: 'bob' })));
    await until(() => slack.ephemerals.length === 1, 5000, 'the ephemeral answer');
    expect(slack.ephemerals[0]!.text).toBe('This alert is not silenced (any more), so nothing was changed.');
  });
});

describe('serve with delivery in its own thread (the built CLI)', () => {
  it('a choice recorded by the main thread is made by the thread\'s silence loop; the logs name it, never the token', async () => {
    const storePath = tempStorePath();
    const configFile = path.join(path.dirname(storePath), 'chatops-bridge.yaml');
    fs.writeFileSync(configFile, harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl: hookUrl, storePath, slackSigningSecret: SLACK_SIGNING_SECRET, discordPublicKey: keys.publicKeyHex, routesYaml: ROUTES.replace(', soc-slack-2', ''), alertmanagerYaml: withApi() }));
    const serve = await startServe(configFile, { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: hookUrl, AM_API_TOKEN });
    try {
      const res = await fetch(`${serve.url}/webhooks/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${AM_TOKEN}` }, body: JSON.stringify(FIRING()) });
      expect(res.status).toBe(200);
      await until(() => posts().length === 2 && creates().length === 4, 10_000, 'the firing messages');
      const post = posts1()[0]!;
      const option = slackSilence(post.args)!.options![1]!;
      await send(`${serve.url}/slack/events`, signSlack(slackSelect({ actionId: 'silence_menu', value: option.value, channel: post.channel!, messageTs: post.ts!, userId: 'U0ALICE01', username: 'alice' })));
      await until(() => am.silences.size === 1, 10_000, 'the silence created');
      await untilLogged(serve, '"operation":"create","outcome":"created"');
      await until(() => updates().some((u) => isApi1(u.args.blocks) && JSON.stringify(u.args.blocks).includes('Silenced by @alice until')), 10_000, 'the Slack copy silenced');
      expect(serve.stderr()).toMatch(/"msg":"silence click"/);
      expect(serve.stderr()).not.toContain(AM_API_TOKEN);
    } finally {
      await serve.stop();
    }
  });

  it('killed while Alertmanager was making the silence, the restarted bridge adopts it instead of making a second', async () => {
    const storePath = tempStorePath();
    const configFile = path.join(path.dirname(storePath), 'chatops-bridge.yaml');
    fs.writeFileSync(configFile, harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl: hookUrl, storePath, slackSigningSecret: SLACK_SIGNING_SECRET, discordPublicKey: keys.publicKeyHex, routesYaml: ROUTES.replace(', soc-slack-2', ''), alertmanagerYaml: withApi() }));
    const env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: hookUrl, AM_API_TOKEN };
    let serve = await startServe(configFile, env);
    try {
      const res = await fetch(`${serve.url}/webhooks/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${AM_TOKEN}` }, body: JSON.stringify(FIRING()) });
      expect(res.status).toBe(200);
      await until(() => posts().length === 2 && creates().length === 4, 10_000, 'the firing messages');
      // Alertmanager makes the silence but the bridge dies before the answer comes (OOM kill, node lost).
      am.holdCreateAnswers = 1;
      const post = posts1()[0]!;
      const option = slackSilence(post.args)!.options![0]!;
      await send(`${serve.url}/slack/events`, signSlack(slackSelect({ actionId: 'silence_menu', value: option.value, channel: post.channel!, messageTs: post.ts!, userId: 'U0ALICE01', username: 'alice' })));
      await until(() => am.silences.size === 1, 10_000, 'the silence made');
      await serve.stop('SIGKILL');
      serve = await startServe(configFile, env);
      await until(() => updates().some((u) => isApi1(u.args.blocks) && JSON.stringify(u.args.blocks).includes('Silenced by @alice until')), 10_000, 'the Slack copy silenced');
      // One silence in Alertmanager, the one the bridge tracks (an untracked second could not be lifted from chat).
      expect([...am.silences.keys()]).toEqual(['fake-silence-1']);
      expect(am.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    } finally {
      await serve.stop();
    }
  });
});

