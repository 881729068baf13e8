/**
 * `outbox purge` must leave nothing behind that a later alert could trip over (issue 14, point 4). Before, purge
 * kept the purged alerts' `alert_episodes` rows and SQLite handed the purged row ids to the next alerts, so a new
 * firing alert inherited a stale episode row: its resolved notification found no firing message to edit (a second
 * message), and the purged episode's resolved notification edited the NEW alert's message with old content.
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
const settled = (b: RunningBridge) => b.store.counts().pending === 0 && countInStore(b, 'SELECT COUNT(*) AS n FROM deliveries WHERE edit_wanted > edit_done') === 0;

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
  it('a firing and a resolved alert after a purge still edit one message; the purged episode touches nothing', async () => {
    const routesYaml = 'routes:\n  - name: ops\n    to: [soc-slack]\n    digest: off\n    onResolved: update';
    const b = (bridge = await startHarnessBridge(harnessConfig({ slackUrl: slack.url, discordApi: discord.api, webhookUrl: discord.webhookUrl(), routesYaml })));
    expect((await postGroup(b, fixture('v0.25-firing-two.json'))).status).toBe(200);
    await until(() => settled(b) && posts().length === 2, 5000, 'first episode delivered');

    await new Promise((r) => setTimeout(r, 5));
    expect(b.store.ledger().purge(0)).toMatchObject({ alerts: 2, deliveries: 2 });
    expect(countInStore(b, 'SELECT COUNT(*) AS n FROM alert_episodes')).toBe(0);

    // A new episode of api-1 fires: one new message.
    expect((await postGroup(b, laterEpisode('v0.25-firing-two.json'))).body.status).toBe('accepted');
    await until(() => settled(b) && posts().length === 3, 5000, 'new firing delivered');
    const newFiring = posts()[2]!;

    // The purged episode resolves: nothing of it is left to edit, so it is posted; the new message is untouched.
    const stale = await postGroup(b, fixture('v0.25-resolved-one.json'));
    expect(stale.body.alerts[0].deliveries.map((d: { status: string }) => d.status)).toEqual(['pending']);
    await until(() => settled(b) && posts().length === 4, 5000, 'purged episode resolved, posted');
    expect(updates()).toHaveLength(0);

    // The new episode resolves: its firing message is edited in place, nothing more is posted.
    const resolved = await postGroup(b, laterEpisode('v0.25-resolved-one.json'));
    expect(resolved.body.alerts[0].deliveries.map((d: { status: string }) => d.status)).toEqual(['updated']);
    await until(() => settled(b) && updates().length === 1, 5000, 'resolved edit');
    await quiet();
    expect(posts()).toHaveLength(4);
    expect(updates()).toHaveLength(1);
    const update = updates()[0]!;
    expect(`${update.channel}/${update.ts}`).toBe(`${newFiring.channel}/${newFiring.ts}`);
    expect(JSON.stringify(update.args.blocks)).toContain('High 5xx rate on api-1, again');
    expect(JSON.stringify(update.args.blocks)).toMatch(/Resolved at 08:20 UTC/);
    expect(slack.violations).toEqual([]);
  });
});
