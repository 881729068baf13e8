/**
 * Edits share a channel's pace with posts (issue 14, point 5): a storm of 30 resolved Alertmanager alerts, whose
 * firing messages are all in one Slack channel, is edited in place while new alerts keep being posted to the same
 * channel. The fake Slack must never see more than the channel's limit of requests — chat.postMessage and
 * chat.update together — in any window of the pace, and every edit and every post must land.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessConfig, peakInWindow, postAlert, postGroup, startHarnessBridge } from '../helpers/bridge-harness';
import { until } from '../helpers/interactions';
import type { RunningBridge } from '../../src/bridge';

jest.setTimeout(90_000);

const CHANNEL = 'C0SECOND01';
/** The channel's pace: one request per 150 ms (Slack's default is one per second; this keeps the test short). */
const PACE = { limit: 1, windowMs: 150 };
const STORM = 30;
const NEW_ALERTS = 10;

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

/** An Alertmanager group of `n` alerts of one rule, firing or resolved. */
function group(n: number, status: 'firing' | 'resolved'): unknown {
  const fixture = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'alertmanager', 'v0.25-firing-two.json'), 'utf8'));
  const template = fixture.alerts[0];
  fixture.status = status;
  fixture.alerts = Array.from({ length: n }, (_, i) => ({
    ...template,
    status,
    labels: { ...template.labels, instance: `api-${i}:9100` },
    annotations: { ...template.annotations, summary: `Storm ${String(i).padStart(2, '0')} on api-${i}` },
    startsAt: '2024-05-02T10:15:30Z',
    endsAt: status === 'resolved' ? '2024-05-02T10:31:02Z' : '0001-01-01T00:00:00Z',
    fingerprint: `5707${String(i).padStart(12, '0')}`,
  }));
  return fixture;
}

describe('edits in the channel pace', () => {
  it('a storm of resolved alerts and new posts share one channel budget, and all of them land', async () => {
    bridge = await startHarnessBridge(
      harnessConfig({
        slackUrl: slack.url,
        discordApi: discord.api,
        webhookUrl: discord.webhookUrl(),
        extraDestinations: `  storm-slack: { type: slack, channel: ${CHANNEL}, pace: { limit: ${PACE.limit}, windowMs: ${PACE.windowMs} } }`,
        routesYaml: `routes:
  - name: storm
    to: [storm-slack]
    digest: off
    onResolved: update`,
      }),
    );
    const b = bridge;
    const posts = () => slack.messagesFor(CHANNEL).filter((m) => m.method === 'chat.postMessage');
    const updates = () => slack.messagesFor(CHANNEL).filter((m) => m.method === 'chat.update');

    expect((await postGroup(b, group(STORM, 'firing'))).status).toBe(200);
    await until(() => posts().length === STORM, 30_000, 'the firing posts');

    // The storm: every alert resolves at once, while new alerts keep arriving for the same channel.
    expect((await postGroup(b, group(STORM, 'resolved'))).status).toBe(200);
    for (let i = 0; i < NEW_ALERTS; i++) {
      expect((await postAlert(b, makeAlertPayload({ title: `New ${i} during the storm` }))).status).toBe(200);
      await new Promise((r) => setTimeout(r, 50));
    }

    const resolved = (ts: string) => JSON.stringify(slack.stored(CHANNEL, ts)).includes('Resolved at');
    await until(() => posts().slice(0, STORM).every((p) => resolved(p.ts)) && posts().length === STORM + NEW_ALERTS && b.store!.counts().pending === 0, 60_000, 'every edit and post');

    const requests = slack.requests.filter((r) => (r.route === 'chat.postMessage' || r.route === 'chat.update') && (r.body as { channel?: string })?.channel === CHANNEL);
    expect(requests).toHaveLength(STORM + STORM + NEW_ALERTS);
    expect(peakInWindow(requests.map((r) => r.receivedAt), PACE.windowMs)).toBeLessThanOrEqual(PACE.limit);
    // Each firing message edited once, each new alert posted once.
    expect(new Set(updates().map((u) => u.ts)).size).toBe(STORM);
    for (let i = 0; i < NEW_ALERTS; i++) expect(posts().filter((p) => String(p.args.text).includes(`New ${i} during`))).toHaveLength(1);
    // The edits did not hold the new alerts back until the storm was over: they took turns.
    const lastNewPost = Math.max(...posts().slice(STORM).map((p) => p.receivedAt));
    expect(lastNewPost).toBeLessThan(Math.max(...updates().map((u) => u.receivedAt)));
    expect(slack.violations).toEqual([]);
  });
});
