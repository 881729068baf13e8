/**
 * `outbox purge` must leave nothing behind that a later alert could trip over (issue 14, point 4). Before, purge
 * kept the purged alerts' `alert_episodes` rows and SQLite handed the purged row ids to the next alerts, so a new
 * firing alert inherited a stale episode row: its resolved notification found no firing message to edit (a second
 * message), and the purged episode's resolved notification edited the NEW alert's message with old content.
 * And purge must not forget an alert that is still firing (review of issue 14): Alertmanager re-sends it every
 * repeat_interval, and a purged one was accepted and posted again, its resolve then editing only the new message.
 * Alertmanager group payloads over HTTP, the real SDKs against the loopback fakes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessConfig, postGroup, startHarnessBridge } from '../helpers/bridge-harness';
import { until } from '../helpers/interactions';
import { countInStore } from '../helpers/store-query';
import type { RunningBridge } from '../../src/bridge';

jest.setTimeout(30_000);

let slack: FakeSlack;
let discord: FakeDiscord;
let bridge: RunningBridge | undefined;

const fixture = (file: string) => JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'alertmanager', file), 'utf8'));
/** The fixtures' api-1 alert in a later episode (a new startsAt: a new firing → resolved cycle). */
const LATER_START = '2024-06-01T08:00:00Z';
function laterEpisode(file: string): Record<string, any> {
  const group = fixture(file);
  group.alerts = group.alerts.filter((a: { labels: { instance: string } }) => a.labels.instance === 'api-1:9100');
  group.alerts[0].startsAt = LATER_START;
  group.alerts[0].annotations.summary = 'High 5xx rate on api-1, again';
  if (group.alerts[0].endsAt) group.alerts[0].endsAt = '2024-06-01T08:20:00Z';
  return group;
}

const posts = () => slack.messages.filter((m) => m.method === 'chat.postMessage');
const updates = () => slack.messages.filter((m) => m.method === 'chat.update');
const quiet = () => new Promise((r) => setTimeout(r, 400));
const settled = (b: RunningBridge) => b.store!.counts().pending === 0 && countInStore(b, 'SELECT COUNT(*) AS n FROM deliveries WHERE edit_wanted > edit_done') === 0;

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

describe('purge, then new alerts', () => {
  const routesYaml = 'routes:\n  - name: ops\n    to: [soc-slack]\n    digest: off\n    onResolved: update';

  it('keeps an alert that is still firing: Alertmanager\'s repeat after a purge is a duplicate, its resolve edits the first message', async () => {
    const b = (bridge = await startHarnessBridge(harnessConfig({ slackUrl: slack.url, discordApi: discord.api, webhookUrl: discord.webhookUrl(), routesYaml })));
    expect((await postGroup(b, fixture('v0.25-firing-two.json'))).status).toBe(200);
    await until(() => settled(b) && posts().length === 2, 5000, 'fired');
    const firstApi1 = posts().find((p) => JSON.stringify(p.args.blocks).includes('api-1'))!;

    await new Promise((r) => setTimeout(r, 5));
    expect(b.store!.ledger().purge(0)).toMatchObject({ alerts: 0, deliveries: 0 });

    // Alertmanager re-sends the still-firing group every repeat_interval: nothing is posted again.
    const repeat = await postGroup(b, fixture('v0.25-firing-two.json'));
    expect(repeat.body.alerts.map((a: { status: string }) => a.status)).toEqual(['duplicate', 'duplicate']);
    const resolved = await postGroup(b, fixture('v0.25-resolved-one.json'));
    expect(resolved.body.alerts[0].deliveries.map((d: { status: string }) => d.status)).toEqual(['updated']);
    await until(() => settled(b) && updates().length === 1, 5000, 'resolved edit');
    await quiet();
    expect(posts()).toHaveLength(2);
    expect(`${updates()[0]!.channel}/${updates()[0]!.ts}`).toBe(`${firstApi1.channel}/${firstApi1.ts}`);
    expect(slack.violations).toEqual([]);
  });

  it('a firing and a resolved alert after a purge of resolved history still edit one message', async () => {
    const b = (bridge = await startHarnessBridge(harnessConfig({ slackUrl: slack.url, discordApi: discord.api, webhookUrl: discord.webhookUrl(), routesYaml })));
    expect((await postGroup(b, fixture('v0.25-firing-two.json'))).status).toBe(200);
    await until(() => settled(b) && posts().length === 2, 5000, 'first episode delivered');
    expect((await postGroup(b, fixture('v0.25-resolved-one.json'))).status).toBe(200);
    await until(() => settled(b) && updates().length === 1, 5000, 'first episode resolved');

    // The resolved episode of api-1 is history (its firing row and the resolved notification's row); api-2 still fires.
    await new Promise((r) => setTimeout(r, 5));
    expect(b.store!.ledger().purge(0)).toMatchObject({ alerts: 2, deliveries: 1 });
    expect(countInStore(b, `SELECT COUNT(*) AS n FROM alert_episodes WHERE state = 'firing'`)).toBe(1);
    expect(countInStore(b, `SELECT COUNT(*) AS n FROM alert_episodes WHERE state = 'resolved'`)).toBe(0);

    // A new episode of api-1 fires: one new message.
    expect((await postGroup(b, laterEpisode('v0.25-firing-two.json'))).body.status).toBe('accepted');
    await until(() => settled(b) && posts().length === 3, 5000, 'new firing delivered');
    const newFiring = posts()[2]!;

    // The new episode resolves: its firing message is edited in place, nothing more is posted.
    const resolved = await postGroup(b, laterEpisode('v0.25-resolved-one.json'));
    expect(resolved.body.alerts[0].deliveries.map((d: { status: string }) => d.status)).toEqual(['updated']);
    await until(() => settled(b) && updates().length === 2, 5000, 'resolved edit');
    await quiet();
    expect(posts()).toHaveLength(3);
    const update = updates()[1]!;
    expect(`${update.channel}/${update.ts}`).toBe(`${newFiring.channel}/${newFiring.ts}`);
    expect(JSON.stringify(update.args.blocks)).toContain('High 5xx rate on api-1, again');
    expect(JSON.stringify(update.args.blocks)).toMatch(/Resolved at 08:20 UTC/);
    expect(slack.violations).toEqual([]);
  });
});
