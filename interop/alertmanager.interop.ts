/**
 * Interop with the real Alertmanager: it posts to a running bridge through its own `webhook_configs` client
 * (bearer from http_config.authorization), the bridge posts to the loopback fake Slack and Discord. Firing: one
 * message per alert per channel. Resolved (same alerts, endsAt in the past): those same messages are edited as
 * resolved (chat.update / PATCH), never posted again.
 */
import { startFakeSlack, type FakeSlack } from '../test/helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../test/helpers/fake-discord';
import { AM_TOKEN, harnessConfig, startHarnessBridge } from '../test/helpers/bridge-harness';
import { until } from '../test/helpers/interactions';
import { queryStore } from '../test/helpers/store-query';
import type { RunningBridge } from '../src/bridge';
import { labelFingerprint } from '../src/sources/labels';
import { fireAlerts, startAlertmanager, type RunningAlertmanager } from './alertmanager-process';

let slack: FakeSlack;
let discord: FakeDiscord;
let bridge: RunningBridge;
let am: RunningAlertmanager | undefined;

beforeAll(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
  bridge = await startHarnessBridge(
    harnessConfig({
      slackUrl: slack.url,
      discordApi: discord.api,
      webhookUrl: discord.webhookUrl(),
      routesYaml: 'routes:\n  - name: ops\n    match: { source: [alertmanager] }\n    to: [soc-slack, soc-discord]\n    digest: off',
    }),
  );
});
afterAll(async () => {
  await am?.stop();
  await bridge?.stop();
  await slack?.close();
  await discord?.close();
});

const posts = () => slack.messages.filter((m) => m.method === 'chat.postMessage');
const updates = () => slack.messages.filter((m) => m.method === 'chat.update');
const creates = () => discord.messages.filter((m) => m.kind === 'create');
const edits = () => discord.messages.filter((m) => m.kind === 'edit');

it('firing posts one message per alert; resolved edits those same messages', async () => {
  am = await startAlertmanager(`${bridge.url}/webhooks/alertmanager`, AM_TOKEN);
  const startsAt = new Date(Date.now() - 60_000).toISOString();
  const alerts = ['api-1', 'api-2'].map((instance) => ({
    labels: { alertname: 'InteropHighErrorRate', instance, severity: 'critical', team: 'payments' },
    annotations: { summary: `High error rate on ${instance} <!channel> @everyone`, runbook_url: 'https://runbooks.example.com/high-error-rate' },
    startsAt,
    generatorURL: 'http://prometheus.example.com:9090/graph?g0.expr=up',
  }));
  const why = () => `alertmanager log:\n${am!.log().slice(-3000)}\nslack: ${JSON.stringify(slack.violations)} discord: ${JSON.stringify(discord.violations)}`;

  await fireAlerts(am, alerts);
  await until(() => posts().length === 2 && creates().length === 2, 20_000, 'firing messages').catch((e) => {
    throw new Error(`${(e as Error).message}\n${why()}`);
  });
  // Alertmanager's own fingerprints reached the bridge, and equal the ones it derives for senders without them.
  const stored = queryStore<{ alert_id: string }>(bridge, `SELECT alert_id FROM alerts WHERE source = 'alertmanager' ORDER BY alert_id`).map((r) => r.alert_id);
  expect(stored).toEqual(alerts.map((a) => labelFingerprint(a.labels)).sort());
  expect([...slack.violations, ...discord.violations]).toEqual([]);
  const firstPosts = posts().map((p) => `${p.channel}/${p.ts}`);
  const firstCreates = creates().map((c) => c.messageId);

  await fireAlerts(am, alerts.map((a) => ({ ...a, endsAt: new Date(Date.now() - 1000).toISOString() })));
  await until(() => updates().length === 2 && edits().length === 2, 20_000, 'resolved edits').catch((e) => {
    throw new Error(`${(e as Error).message}\n${why()}`);
  });
  // Alertmanager re-flushes each group every second: nothing more may reach the chats.
  await new Promise((r) => setTimeout(r, 2500));
  expect(posts()).toHaveLength(2);
  expect(creates()).toHaveLength(2);
  expect(updates()).toHaveLength(2);
  expect(edits()).toHaveLength(2);
  expect(updates().map((u) => `${u.channel}/${u.ts}`).sort()).toEqual([...firstPosts].sort());
  expect(edits().map((e) => e.messageId).sort()).toEqual([...firstCreates].sort());
  for (const update of updates()) {
    expect(update.args.parse).toBe('none');
    expect(JSON.stringify(update.args.blocks)).toMatch(/Resolved at \d\d:\d\d UTC \(by Alertmanager\)/);
  }
  for (const edit of edits()) {
    expect(edit.body.allowed_mentions).toEqual({ parse: [] });
    expect((edit.body.embeds as { color: number }[])[0]!.color).toBe(0x2eb67d);
  }
  expect([...slack.violations, ...discord.violations]).toEqual([]);
});
