/**
 * Two replicas posting into one Slack channel on one PostgreSQL keep to the channel's one message a second
 * together (issue 16 point 3) when a request takes a while to reach the platform. Slack counts a message when it
 * gets there; a pace that counted it from its start (the claim) let the other replica's next message arrive less
 * than a second after it, and the fake, like Slack, answered 429. The bridges run in this process (the real
 * config loader, worker, Slack client over HTTP) against the loopback fake Slack, whose `gate` holds a request
 * before it reaches the fake's per-channel limit, the way a slow network or a busy Slack front end holds it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfigText } from '../../src/config/load';
import { startBridge, type RunningBridge } from '../../src/bridge';
import { silentLogger } from '../../src/observability/logger';
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessYaml, PANTHER_TOKEN, postAlert, postGroup } from '../helpers/bridge-harness';
import { until } from '../helpers/interactions';
import { useTestDatabase } from '../helpers/postgres';

jest.setTimeout(60_000);

const db = useTestDatabase();
let slack: FakeSlack;
let discord: FakeDiscord;
const bridges: RunningBridge[] = [];
beforeEach(async () => {
  // Slack's own limit: one message a second per channel, over a sliding window.
  slack = await startFakeSlack({ rateLimit: { perChannel: 1, windowMs: 1000 } });
  discord = await startFakeDiscord();
});
afterEach(async () => {
  await Promise.all(bridges.splice(0).map((b) => b.stop()));
  await slack.close();
  await discord.close();
});

const fixture = (file: string) => JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'alertmanager', file), 'utf8'));

/** A replica of `serve` on the test's database: Slack at its real pace (1 message a second), one route to it. */
async function replica(route = 'soc'): Promise<RunningBridge> {
  const yaml = harnessYaml({
    slackUrl: slack.url,
    discordApi: discord.api,
    webhookUrl: discord.webhookUrl(),
    realPace: true,
    routesYaml: `routes:\n  - name: ${route}\n    to: [soc-slack]\n    digest: off`,
  }).replace(/^store: .*$/m, 'store: { url: "${DATABASE_URL}" }');
  const loaded = loadConfigText(yaml, { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: discord.webhookUrl(), DATABASE_URL: db.url });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  const bridge = await startBridge(loaded.config, silentLogger(), 0);
  bridges.push(bridge);
  return bridge;
}

const posts = () => slack.requests.filter((r) => r.route === 'chat.postMessage');

it('keeps two replicas to one message a second in a channel when a message takes 900 ms to reach Slack', async () => {
  const [a, b] = [await replica(), await replica()];
  // Every other message is held 900 ms on its way: it counts at Slack that much after the replica sent it.
  let seen = 0;
  slack.gate = (rec) => (rec.route === 'chat.postMessage' && seen++ % 2 === 0 ? new Promise((resolve) => setTimeout(resolve, 900)) : undefined);
  for (let i = 0; i < 4; i++) expect((await postAlert(i % 2 === 0 ? a : b, makeAlertPayload({ title: `Paced ${i}` }))).status).toBe(200);
  await until(() => slack.messagesFor('C0123456789').length === 4, 30_000, 'four posts');

  // Not one request refused for the channel's limit, so one request per message.
  expect(slack.counters.rateLimited).toBe(0);
  expect(posts()).toHaveLength(4);
});

it('holds the channel for every replica when an edit is answered 429, as a post’s 429 does', async () => {
  const [a, b] = [await replica('ops'), await replica('ops')];
  expect((await postGroup(a, fixture('v0.25-firing-two.json'))).status).toBe(200);
  await until(() => slack.messagesFor('C0123456789').length === 2, 10_000, 'the firing posts');
  // The resolve is an edit of the first message (whichever replica edits it), which Slack refuses for 3 s.
  slack.failNext(1, { kind: 'rateLimit', retryAfterSec: 3 }, 'chat.update');
  expect((await postGroup(b, fixture('v0.25-resolved-one.json'))).status).toBe(200);
  await until(() => slack.requests.some((r) => r.route === 'chat.update' && r.status === 429), 10_000, 'the refused edit');
  const refusedAt = Date.now();
  // A new alert for the channel, at both replicas (one stores it): neither may post before the Retry-After ends.
  const alert = makeAlertPayload({ title: 'After the 429' });
  expect((await postAlert(a, alert)).status).toBe(200);
  expect((await postAlert(b, alert)).status).toBe(200);
  await until(() => posts().some((r) => r.status === 200 && r.rawBody.includes('After')), 15_000, 'the new post');
  const posted = posts().find((r) => r.rawBody.includes('After'))!;
  expect(posted.receivedAt).toBeGreaterThanOrEqual(refusedAt + 2900);
  expect(slack.counters.rateLimited).toBe(0);
});
