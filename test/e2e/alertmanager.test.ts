/**
 * Alertmanager and Grafana webhooks end to end: a running bridge, group payloads over HTTP, the real Slack and
 * Discord SDKs against the loopback fakes. Firing posts once per alert; re-sends are duplicates; resolved edits
 * the same messages (chat.update parse none, Discord PATCH without mentions) per route's onResolved; routing by
 * source and labels; auth; hostile labels; a store failure answers 503.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { AM_TOKEN, harnessConfig, postGroup, startHarnessBridge, tempStorePath } from '../helpers/bridge-harness';
import { until } from '../helpers/interactions';
import type { RunningBridge } from '../../src/bridge';

jest.setTimeout(30_000);

let slack: FakeSlack;
let discord: FakeDiscord;
let bridge: RunningBridge | undefined;

const fixture = (source: string, file: string) => JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', source, file), 'utf8'));
const FIRING = () => fixture('alertmanager', 'v0.25-firing-two.json');
const RESOLVED = () => fixture('alertmanager', 'v0.25-resolved-one.json');

const routes = (onResolved = 'update', match = '') => `routes:
  - name: ops
${match}    to: [soc-slack, soc-discord]
    digest: off
    onResolved: ${onResolved}`;

async function start(routesYaml = routes(), storePath = tempStorePath()) {
  bridge = await startHarnessBridge(harnessConfig({ slackUrl: slack.url, discordApi: discord.api, webhookUrl: discord.webhookUrl(), routesYaml, storePath }));
  return bridge;
}

const posts = () => slack.messages.filter((m) => m.method === 'chat.postMessage');
const updates = () => slack.messages.filter((m) => m.method === 'chat.update');
const creates = () => discord.messages.filter((m) => m.kind === 'create');
const edits = () => discord.messages.filter((m) => m.kind === 'edit');
const settled = (b: RunningBridge) => b.store!.counts().pending === 0;
const quiet = () => new Promise((r) => setTimeout(r, 400));

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

describe('Alertmanager firing → resolved', () => {
  it('posts one message per alert of a group, answers per alert, and a re-sent group posts nothing', async () => {
    const b = await start();
    const res = await postGroup(b, FIRING());
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('accepted');
    expect(res.body.alerts.map((a: { fingerprint: string; status: string }) => [a.fingerprint, a.status])).toEqual([
      ['a1b2c3d4e5f60718', 'accepted'],
      ['0718a1b2c3d4e5f6', 'accepted'],
    ]);
    await until(() => settled(b) && posts().length === 2 && creates().length === 2, 5000, 'delivery');
    const header = (posts()[0]!.args.blocks as { type: string; text?: { text: string } }[]).find((x) => x.type === 'header')!;
    expect(header.text!.text).toBe('🚨 High 5xx rate on api-1');
    const buttons = JSON.stringify(posts()[0]!.args.blocks);
    expect(buttons).toContain('"Generator"');
    expect(buttons).toContain('"Runbook"');
    expect(JSON.stringify(creates()[0]!.body.components)).toContain('https://runbooks.example.com/api/high-error-rate');

    // repeat_interval / retry: same fingerprint + startsAt + status.
    const again = await postGroup(b, FIRING());
    expect(again.body.status).toBe('duplicate');
    // Each repeated alert says why it posts nothing.
    for (const alert of again.body.alerts) expect(alert.reason).toMatch(/^same alert already accepted at \d{4}-\d\d-\d\dT[\d:.]+Z$/);
    await quiet();
    expect(posts()).toHaveLength(2);
    expect(creates()).toHaveLength(2);
  });

  it('resolved edits the same Slack and Discord messages (no new post), shown resolved without mentions', async () => {
    const b = await start();
    await postGroup(b, FIRING());
    await until(() => settled(b) && posts().length === 2 && creates().length === 2, 5000, 'delivery');
    const res = await postGroup(b, RESOLVED());
    expect(res.body.alerts[0].deliveries.map((d: { status: string }) => d.status)).toEqual(['updated', 'updated']);
    await until(() => updates().length === 1 && edits().length === 1, 5000, 'edits');
    await quiet();
    expect(posts()).toHaveLength(2);
    expect(creates()).toHaveLength(2);
    const update = updates()[0]!;
    expect(`${update.channel}/${update.ts}`).toBe(`${posts()[0]!.channel}/${posts()[0]!.ts}`);
    expect(update.args.parse).toBe('none');
    const text = JSON.stringify(update.args.blocks);
    expect(text).toMatch(/Resolved at 10:31 UTC \(by Alertmanager\)/);
    expect(text).toContain('✅ High 5xx rate on api-1');
    expect(text).toContain('"Generator"'); // the link buttons stay
    const edit = edits()[0]!;
    expect(edit.messageId).toBe(creates()[0]!.messageId);
    expect(edit.body.allowed_mentions).toEqual({ parse: [] });
    const embed = (edit.body.embeds as { color: number; fields: { name: string; value: string }[] }[])[0]!;
    expect(embed.color).toBe(0x2eb67d);
    expect(JSON.stringify(embed.fields)).toMatch(/Resolved at 10:31 UTC/);
    expect([...slack.violations, ...discord.violations]).toEqual([]);
    // A re-sent resolved notification changes nothing more.
    expect((await postGroup(b, RESOLVED())).body.status).toBe('duplicate');
    await quiet();
    expect(updates()).toHaveLength(1);
  });

  it('the resolved edit is durable: Slack down at resolve time, edited after a restart', async () => {
    const storePath = tempStorePath();
    let b = await start(routes(), storePath);
    await postGroup(b, FIRING());
    await until(() => settled(b) && posts().length === 2, 5000, 'delivery');
    slack.failNext(1000, 503, 'chat.update');
    expect((await postGroup(b, RESOLVED())).status).toBe(200);
    await until(() => slack.requests.some((r) => r.route === 'chat.update' && r.fault !== undefined), 5000, 'a failed edit');
    await b.stop();
    bridge = undefined;
    slack.reset();
    b = await start(routes(), storePath);
    await until(() => updates().length === 1, 8000, 'edit after restart');
    expect(JSON.stringify(updates()[0]!.args.blocks)).toMatch(/Resolved at 10:31 UTC/);
  });

  it('onResolved: post posts a new (resolved) message; ignore drops it', async () => {
    let b = await start(routes('post'));
    await postGroup(b, FIRING());
    await until(() => settled(b) && posts().length === 2, 5000, 'delivery');
    await postGroup(b, RESOLVED());
    await until(() => settled(b) && posts().length === 3 && creates().length === 3, 5000, 'resolved post');
    expect(updates()).toHaveLength(0);
    expect(JSON.stringify(posts()[2]!.args.blocks)).toMatch(/Resolved at 10:31 UTC/);
    await b.stop();

    slack.messages.length = 0;
    b = await start(routes('ignore'));
    await postGroup(b, FIRING());
    await until(() => settled(b) && posts().length === 2, 5000, 'delivery');
    const res = await postGroup(b, RESOLVED());
    expect(res.body.alerts[0].deliveries.map((d: { status: string }) => d.status)).toEqual(['ignored', 'ignored']);
    await quiet();
    expect(posts()).toHaveLength(2);
    expect(updates()).toHaveLength(0);
  });

  it('a resolved alert whose firing message this bridge never posted is posted (update mode)', async () => {
    const b = await start();
    const res = await postGroup(b, RESOLVED());
    expect(res.body.alerts[0].deliveries.map((d: { status: string }) => d.status)).toEqual(['pending', 'pending']);
    await until(() => settled(b) && posts().length === 1 && creates().length === 1, 5000, 'resolved post');
    expect(JSON.stringify(posts()[0]!.args.blocks)).toContain('✅');
  });

  it('a new firing with a new startsAt after resolution posts anew', async () => {
    const b = await start();
    await postGroup(b, FIRING());
    await postGroup(b, RESOLVED());
    await until(() => settled(b) && posts().length === 2, 5000, 'delivery');
    const refire = FIRING();
    refire.alerts = [{ ...refire.alerts[0], startsAt: '2024-05-02T11:00:00Z' }];
    expect((await postGroup(b, refire)).body.status).toBe('accepted');
    await until(() => settled(b) && posts().length === 3, 5000, 'refire post');
  });
});

describe('webhook contract', () => {
  it('401 with WWW-Authenticate for a missing or wrong credential; basic auth works; no secret echoed', async () => {
    const b = await start();
    for (const authorization of ['', 'Bearer wrong', `Basic ${Buffer.from('am:wrong').toString('base64')}`, `Token ${AM_TOKEN}`]) {
      const res = await postGroup(b, FIRING(), { authorization });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/Bearer realm="chatops-bridge"/);
      expect(JSON.stringify(res.body)).not.toContain(AM_TOKEN);
    }
    const basic = await postGroup(b, FIRING(), { authorization: `Basic ${Buffer.from(`am:${AM_TOKEN}`).toString('base64')}` });
    expect(basic.status).toBe(200);
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    expect(metrics).toMatch(/chatops_alerts_rejected_total\{source="alertmanager",reason="unauthorized"\} 4/);
    expect(metrics).toMatch(/chatops_alerts_received_total\{source="alertmanager"\} 2/);
  });

  it('a malformed field anywhere in the group is defaulted and counted: every alert of the group is still delivered', async () => {
    const b = await start();
    const body = FIRING();
    body.alerts[1].startsAt = 'soon';
    body.alerts[0].status = 'exploded';
    const res = await postGroup(b, body);
    expect(res.status).toBe(200);
    expect(res.body.alerts.map((a: { alertStatus: string; status: string }) => [a.alertStatus, a.status])).toEqual([
      ['firing', 'accepted'],
      ['firing', 'accepted'],
    ]);
    await until(() => settled(b) && posts().length === 2 && creates().length === 2, 5000, 'delivery');
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    expect(metrics).toContain('chatops_payload_defaults_total{source="alertmanager",field="alerts.status"} 1');
    expect(metrics).toContain('chatops_payload_defaults_total{source="alertmanager",field="alerts.startsAt"} 1');
    expect(metrics).toContain('chatops_payload_defaults_total{source="alertmanager",field="receiver"} 0');
  });

  it('a body without a list of alerts is a 400 naming it, and nothing is accepted', async () => {
    const b = await start();
    const res = await postGroup(b, { ...FIRING(), alerts: { a: 1 } });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_payload');
    expect(res.body.issues.map((i: { path: string }) => i.path)).toEqual(['alerts']);
    await quiet();
    expect(posts()).toHaveLength(0);
  });

  it('a store failure is a 503 (Alertmanager retries it)', async () => {
    const b = await start();
    b.store!.close();
    const res = await postGroup(b, FIRING());
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: 'store_unavailable' });
  });

  it('hostile labels and annotations ping nobody and link nowhere foreign', async () => {
    const b = await start();
    const res = await postGroup(b, fixture('alertmanager', 'hostile-labels.json'));
    expect(res.status).toBe(200);
    await until(() => settled(b) && posts().length === 1 && creates().length === 1, 5000, 'delivery');
    expect([...slack.violations, ...discord.violations]).toEqual([]);
    const all = JSON.stringify([posts()[0]!.args, creates()[0]!.body]);
    expect(all).not.toMatch(/"url":"(?:javascript|https:\/\/evil)/);
    expect(creates()[0]!.body.allowed_mentions).toEqual({ parse: [] });
  });

  it('routes by match.source and match.labels (equality and regex); tags work for label sources', async () => {
    const yaml = `routes:
  - name: payments-critical
    match:
      source: [alertmanager]
      labels: { team: payments, instance: { regex: "api-1:.*" } }
    to: [soc-slack]
    digest: off
  - name: by-tag
    match: { tags: { any: ["instance=api-2:9100"] } }
    to: [soc-discord]
    digest: off`;
    const b = await start(yaml);
    const res = await postGroup(b, FIRING());
    expect(res.body.alerts.map((a: { deliveries: { route: string; destination: string }[] }) => a.deliveries)).toEqual([
      [{ route: 'payments-critical', destination: 'soc-slack', status: 'pending' }],
      [{ route: 'by-tag', destination: 'soc-discord', status: 'pending' }],
    ]);
  });
});

describe('Grafana', () => {
  it('posts each alert with Dashboard, Panel and Silence buttons; resolved edits it', async () => {
    const b = await start();
    const res = await postGroup(b, fixture('grafana', 'v9-unified-docs-example.json'), { source: 'grafana' });
    expect(res.status).toBe(200);
    await until(() => settled(b) && posts().length === 2 && creates().length === 2, 5000, 'delivery');
    const cpu = posts().find((p) => JSON.stringify(p.args.blocks).includes('High CPU usage'))!;
    const labels = JSON.stringify(cpu.args.blocks);
    for (const label of ['Generator', 'Dashboard', 'Panel', 'Silence']) expect(labels).toContain(`"${label}"`);
    await postGroup(b, fixture('grafana', 'v9-unified-resolved.json'), { source: 'grafana' });
    await until(() => updates().length === 1 && edits().length === 1, 5000, 'edits');
    expect(JSON.stringify(updates()[0]!.args.blocks)).toMatch(/Resolved at 08:02 UTC \(by Grafana\)/);
  });

  it('accepts legacy alerting and values: null payloads', async () => {
    const b = await start();
    for (const file of ['legacy-alerting.json', 'v11-values-null-relative.json']) {
      const res = await postGroup(b, fixture('grafana', file), { source: 'grafana' });
      expect(res.status).toBe(200);
    }
    await until(() => settled(b) && posts().length === 2, 5000, 'delivery');
    const legacyOk = await postGroup(b, fixture('grafana', 'legacy-ok.json'), { source: 'grafana' });
    expect(legacyOk.body.alerts[0].deliveries.map((d: { status: string }) => d.status)).toEqual(['updated', 'updated']);
  });
});
