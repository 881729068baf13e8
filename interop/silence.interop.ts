/**
 * Silences from chat against the real Alertmanager: it notifies the bridge (and a recorder of every notification)
 * with a short repeat interval; a signed Slack choice in the Silence menu makes the bridge create a silence that
 * Alertmanager lists with the alert's labels as matchers and the Slack user as createdBy, Alertmanager stops
 * notifying that alert (while it keeps notifying another), every copy of the message says who silenced it until
 * when, and a signed Discord Unsilence expires it (Alertmanager lists it expired and notifies the alert again).
 * Then the other way round: a Discord choice creates one, a Slack Unsilence expires it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFakeSlack, type FakeSlack } from '../test/helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../test/helpers/fake-discord';
import { AM_TOKEN, harnessConfig, startHarnessBridge } from '../test/helpers/bridge-harness';
import { discordClick, discordKeys, send, signSlack, slackClick, slackSelect, until, SLACK_SIGNING_SECRET } from '../test/helpers/interactions';
import type { RunningBridge } from '../src/bridge';
import { freePort, fireAlerts, startAlertmanager, type RunningAlertmanager } from './alertmanager-process';

jest.setTimeout(120_000);

const keys = discordKeys();
let slack: FakeSlack;
let discord: FakeDiscord;
let bridge: RunningBridge;
let am: RunningAlertmanager;
let recorder: http.Server;
/**
 * In front of Alertmanager's API: passes every request through, except that it can lose the answer of the next
 * create (Alertmanager makes the silence, the bridge gets a 502), as a proxy timing out would.
 */
let proxy: http.Server;
let loseNextCreateAnswer = false;
/** Every alert Alertmanager notified the recorder of (firing ones), by `instance` label, in order. */
const notified: string[] = [];

/** Alertmanager's silences as `GET /api/v2/silences` lists them. */
interface AmSilence {
  id: string;
  status: { state: string };
  matchers: { name: string; value: string; isRegex: boolean; isEqual?: boolean }[];
  createdBy: string;
  comment: string;
  startsAt: string;
  endsAt: string;
}

async function silences(): Promise<AmSilence[]> {
  const res = await fetch(`${am.url}/api/v2/silences`);
  if (!res.ok) throw new Error(`GET /api/v2/silences: HTTP ${res.status}`);
  return (await res.json()) as AmSilence[];
}

/** Polls an async check (Alertmanager's API) until it holds. */
async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nalertmanager log:\n${am.log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
  recorder = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw || '{}') as { alerts?: { status: string; labels: Record<string, string> }[] };
      for (const alert of body.alerts ?? []) if (alert.status === 'firing') notified.push(alert.labels.instance ?? '');
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
  const amPort = await freePort();
  proxy = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !['host', 'connection', 'content-length'].includes(name))) as Record<string, string>;
      void fetch(`http://127.0.0.1:${amPort}${req.url}`, { method: req.method!, headers, ...(raw ? { body: raw } : {}) }).then(async (answer) => {
        const text = await answer.text();
        if (req.method === 'POST' && loseNextCreateAnswer) {
          loseNextCreateAnswer = false;
          return res.writeHead(502).end('bad gateway');
        }
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(text);
      });
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  bridge = await startHarnessBridge(
    harnessConfig({
      slackUrl: slack.url,
      discordApi: discord.api,
      webhookUrl: discord.webhookUrl(),
      slackSigningSecret: SLACK_SIGNING_SECRET,
      discordPublicKey: keys.publicKeyHex,
      alertmanagerYaml: `    api: { url: "http://127.0.0.1:${(proxy.address() as AddressInfo).port}" }`,
      routesYaml: 'routes:\n  - name: ops\n    match: { source: [alertmanager] }\n    to: [soc-slack, soc-discord]\n    digest: off',
    }),
  );
  am = await startAlertmanager(`${bridge.url}/webhooks/alertmanager`, AM_TOKEN, {
    port: amPort,
    repeatInterval: '2s',
    alsoNotify: `http://127.0.0.1:${(recorder.address() as AddressInfo).port}/`,
  });
});
afterAll(async () => {
  await am?.stop();
  await bridge?.stop();
  await slack?.close();
  await discord?.close();
  await new Promise((resolve) => recorder?.close(resolve));
  await new Promise((resolve) => proxy?.close(resolve));
});

const posts = () => slack.messages.filter((m) => m.method === 'chat.postMessage');
const updates = () => slack.messages.filter((m) => m.method === 'chat.update');
const creates = () => discord.messages.filter((m) => m.kind === 'create');
const edits = () => discord.messages.filter((m) => m.kind === 'edit');

type Block = { type: string; block_id?: string; elements?: { type: string; action_id?: string; value?: string; options?: { value: string }[] }[] };
/** The silence control of a Slack message body (the actions block the bridge adds). */
const slackSilence = (args: Record<string, unknown>) => ((args.blocks ?? []) as Block[]).find((b) => b.block_id?.startsWith('silence.'))?.elements?.[0];
type Row = { components: { type: number; custom_id?: string; label?: string; options?: { value: string }[] }[] };
/** Every component of a Discord message body's rows. */
const discordComponents = (body: Record<string, unknown>) => ((body.components ?? []) as Row[]).flatMap((r) => r.components);
const isFor = (instance: string) => (text: unknown) => JSON.stringify(text).includes(`on ${instance}`);
const count = (instance: string) => notified.filter((i) => i === instance).length;

const labels = (instance: string) => ({ alertname: 'InteropSilenceMe', instance, severity: 'critical', team: 'payments' });

it('a Slack choice creates the silence Alertmanager lists and obeys; a Discord Unsilence expires it', async () => {
  const startsAt = new Date(Date.now() - 60_000).toISOString();
  await fireAlerts(
    am,
    ['api-1', 'api-2'].map((instance) => ({ labels: labels(instance), annotations: { summary: `Silence me on ${instance}` }, startsAt })),
  );
  await until(() => posts().length === 2 && creates().length === 2, 20_000, 'the firing messages');
  // Alertmanager notifies again every repeat interval while nothing silences the alert.
  await until(() => count('api-1') >= 2 && count('api-2') >= 2, 20_000, 'repeated notifications');

  const post = posts().find((p) => isFor('api-1')(p.args.blocks))!;
  const menu = slackSilence(post.args)!;
  expect(menu).toMatchObject({ type: 'static_select', action_id: 'silence_menu' });
  expect(menu.options!.map((o) => o.value)).toEqual([expect.stringMatching(/^sl:3600000:\d+$/), expect.stringMatching(/^sl:14400000:\d+$/), expect.stringMatching(/^sl:86400000:\d+$/)]);
  const clickedAt = Date.now();
  const answer = await send(
    `${bridge.url}/slack/events`,
    signSlack(slackSelect({ actionId: 'silence_menu', value: menu.options![0]!.value, label: '1 h', channel: post.channel!, messageTs: post.ts!, userId: 'U0ALICE01', username: 'alice' })),
  );
  expect(answer.status).toBe(200);

  let created: AmSilence | undefined;
  await eventually(async () => {
    created = (await silences()).find((s) => s.status.state === 'active');
    return created !== undefined;
  }, 20_000, 'an active silence in Alertmanager');
  expect(created!.createdBy).toBe('alice');
  expect(created!.matchers.map((m) => ({ name: m.name, value: m.value, isRegex: m.isRegex, isEqual: m.isEqual ?? true })).sort((a, b) => a.name.localeCompare(b.name))).toEqual(
    Object.entries(labels('api-1')).map(([name, value]) => ({ name, value, isRegex: false, isEqual: true })).sort((a, b) => a.name.localeCompare(b.name)),
  );
  expect(created!.comment).toMatch(/^Silenced for 1 h from Slack by @alice \(U0ALICE01\) with chatops-bridge\. Alert: "Silence me on api-1" \(fingerprint [0-9a-f]{16}\)\. Message: https:\/\/acme\.slack\.com\/archives\/C0123456789\/p\d+$/);
  const ends = Date.parse(created!.endsAt);
  expect(ends).toBeGreaterThanOrEqual(clickedAt + 3_600_000 - 5_000);
  expect(ends).toBeLessThanOrEqual(Date.now() + 3_600_000);

  // Every copy says so, with an Unsilence button instead of the menu.
  // The date too when the hour's silence ends after midnight UTC (a run between 23:00 and 24:00).
  const silencedLine = /Silenced by @alice until (\d{4}-\d\d-\d\d )?\d\d:\d\d UTC/;
  await until(() => updates().some((u) => isFor('api-1')(u.args.blocks) && silencedLine.test(JSON.stringify(u.args.blocks))) && edits().some((e) => isFor('api-1')(e.body) && silencedLine.test(JSON.stringify(e.body))), 20_000, 'the silenced messages');
  const slackNow = updates().filter((u) => isFor('api-1')(u.args.blocks)).at(-1)!;
  expect(slackSilence(slackNow.args)).toMatchObject({ type: 'button', action_id: 'silence_unsilence', value: expect.stringMatching(/^su:\d+$/) });
  const discordNow = edits().filter((e) => isFor('api-1')(e.body)).at(-1)!;
  const unsilence = discordComponents(discordNow.body).find((c) => c.custom_id?.startsWith('su:'))!;
  expect(unsilence).toMatchObject({ type: 2, label: 'Unsilence' });
  expect(discordComponents(discordNow.body).some((c) => c.type === 3)).toBe(false);

  // Alertmanager stops notifying the silenced alert, and keeps notifying the other one.
  await new Promise((r) => setTimeout(r, 2500));
  const [silencedBefore, otherBefore] = [count('api-1'), count('api-2')];
  await until(() => count('api-2') >= otherBefore + 2, 20_000, 'more notifications of the other alert');
  expect(count('api-1')).toBe(silencedBefore);

  // Unsilence from the Discord copy: Alertmanager lists the silence expired, and notifies the alert again.
  const discordCopy = creates().find((c) => isFor('api-1')(c.body))!;
  const unclick = await send(`${bridge.url}/discord/interactions`, keys.sign(discordClick({ customId: unsilence.custom_id!, channelId: discordCopy.channelId, messageId: discordCopy.messageId, username: 'bob' })));
  expect(unclick.body).toEqual({ type: 6 });
  await eventually(async () => (await silences()).find((s) => s.id === created!.id)?.status.state === 'expired', 20_000, 'the silence expired');
  const afterUnsilence = count('api-1');
  await until(() => count('api-1') > afterUnsilence, 20_000, 'notifications of the unsilenced alert');
  // … and the messages show the menu again.
  await until(() => updates().filter((u) => isFor('api-1')(u.args.blocks)).at(-1)!.args.blocks !== undefined && slackSilence(updates().filter((u) => isFor('api-1')(u.args.blocks)).at(-1)!.args)?.type === 'static_select', 20_000, 'the Slack menu back');
  await until(() => discordComponents(edits().filter((e) => isFor('api-1')(e.body)).at(-1)!.body).some((c) => c.type === 3), 20_000, 'the Discord menu back');
  expect(JSON.stringify(updates().filter((u) => isFor('api-1')(u.args.blocks)).at(-1)!.args.blocks)).toMatch(/Unsilenced by @bob at \d\d:\d\d UTC \(silenced by @alice\)/);
  expect([...slack.violations, ...discord.violations]).toEqual([]);
});

it('a Discord choice creates one for the Discord user; a Slack Unsilence expires it', async () => {
  const copy = creates().find((c) => isFor('api-2')(c.body))!;
  const menu = discordComponents(edits().filter((e) => isFor('api-2')(e.body)).at(-1)?.body ?? copy.body).find((c) => c.type === 3)!;
  expect(menu.options!.map((o) => o.value)).toEqual(['3600000', '14400000', '86400000']);
  const before = new Set((await silences()).map((s) => s.id));
  const answer = await send(`${bridge.url}/discord/interactions`, keys.sign(discordClick({ customId: menu.custom_id!, values: ['14400000'], channelId: copy.channelId, messageId: copy.messageId, username: 'carol' })));
  expect(answer.body).toEqual({ type: 6 });
  let created: AmSilence | undefined;
  await eventually(async () => {
    created = (await silences()).find((s) => !before.has(s.id) && s.status.state === 'active');
    return created !== undefined;
  }, 20_000, 'the Discord silence in Alertmanager');
  expect(created!.createdBy).toBe('carol');
  expect(created!.matchers.find((m) => m.name === 'instance')?.value).toBe('api-2');
  expect(created!.comment).toMatch(/from Discord by @carol .* Message: https:\/\/discord\.com\/channels\/\d+\/\d+\/\d+$/);

  await until(() => updates().some((u) => isFor('api-2')(u.args.blocks) && /Silenced by @carol until/.test(JSON.stringify(u.args.blocks))), 20_000, 'the silenced Slack copy');
  const slackCopy = updates().filter((u) => isFor('api-2')(u.args.blocks)).at(-1)!;
  const button = slackSilence(slackCopy.args)!;
  const post = posts().find((p) => isFor('api-2')(p.args.blocks))!;
  const res = await send(`${bridge.url}/slack/events`, signSlack(slackClick({ actionId: button.action_id!, value: button.value!, channel: post.channel!, messageTs: post.ts! })));
  expect(res.status).toBe(200);
  await eventually(async () => (await silences()).find((s) => s.id === created!.id)?.status.state === 'expired', 20_000, 'the Discord silence expired');
  expect([...slack.violations, ...discord.violations]).toEqual([]);
});

it('a create whose answer was lost is found in Alertmanager\'s list and adopted, not made twice', async () => {
  const before = new Set((await silences()).map((s) => s.id));
  const post = posts().find((p) => isFor('api-1')(p.args.blocks))!;
  const last = updates().filter((u) => u.channel === post.channel && u.ts === post.ts).at(-1)!;
  const menu = slackSilence(last.args)!;
  loseNextCreateAnswer = true;
  await send(`${bridge.url}/slack/events`, signSlack(slackSelect({ actionId: 'silence_menu', value: menu.options![0]!.value, channel: post.channel!, messageTs: post.ts!, userId: 'U0DAVE001', username: 'dave' })));
  await until(() => updates().some((u) => isFor('api-1')(u.args.blocks) && /Silenced by @dave until/.test(JSON.stringify(u.args.blocks))), 20_000, 'the silenced copy');
  const made = (await silences()).filter((s) => !before.has(s.id));
  expect(made.map((s) => [s.createdBy, s.status.state])).toEqual([['dave', 'active']]);
  const unsilence = slackSilence(updates().filter((u) => u.channel === post.channel && u.ts === post.ts).at(-1)!.args)!;
  await send(`${bridge.url}/slack/events`, signSlack(slackClick({ actionId: unsilence.action_id!, value: unsilence.value!, channel: post.channel!, messageTs: post.ts! })));
  await eventually(async () => (await silences()).find((s) => s.id === made[0]!.id)?.status.state === 'expired', 20_000, 'the adopted silence expired');
});


it('Unsilence of a silence Alertmanager no longer has (restarted without its storage) counts as expired', async () => {
  const before = new Set((await silences()).map((s) => s.id));
  const post = posts().find((p) => isFor('api-2')(p.args.blocks))!;
  const last = updates().filter((u) => u.channel === post.channel && u.ts === post.ts).at(-1)!;
  const menu = slackSilence(last.args)!;
  await send(`${bridge.url}/slack/events`, signSlack(slackSelect({ actionId: 'silence_menu', value: menu.options![0]!.value, channel: post.channel!, messageTs: post.ts!, userId: 'U0ERIN001', username: 'erin' })));
  await eventually(async () => (await silences()).some((s) => !before.has(s.id) && s.status.state === 'active'), 20_000, 'the silence in Alertmanager');
  await until(() => updates().some((u) => isFor('api-2')(u.args.blocks) && /Silenced by @erin until/.test(JSON.stringify(u.args.blocks))), 20_000, 'the silenced copy');
  // Alertmanager comes back on the same address with empty storage (a container without a volume): the silence is gone.
  const port = Number(new URL(am.url).port);
  await am.stop();
  am = await startAlertmanager(`${bridge.url}/webhooks/alertmanager`, AM_TOKEN, { port, repeatInterval: '2s', alsoNotify: `http://127.0.0.1:${(recorder.address() as AddressInfo).port}/` });
  expect(await silences()).toEqual([]);
  const unsilence = slackSilence(updates().filter((u) => u.channel === post.channel && u.ts === post.ts).at(-1)!.args)!;
  await send(`${bridge.url}/slack/events`, signSlack(slackClick({ actionId: unsilence.action_id!, value: unsilence.value!, channel: post.channel!, messageTs: post.ts! })));
  const latest = () => JSON.stringify(updates().filter((u) => u.channel === post.channel && u.ts === post.ts).at(-1)!.args.blocks);
  await until(() => /Unsilenced by @\S+ at \d\d:\d\d UTC \(silenced by @erin\)/.test(latest()), 20_000, 'the copy unsilenced').catch((e) => {
    throw new Error(`${(e as Error).message}: ${latest()}`);
  });
  expect(latest()).not.toContain('Unsilence failed');
});
