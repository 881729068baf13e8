/**
 * A replica whose channel's shared pace has no slot free (another replica just posted there) waits for the slot,
 * instead of claiming the channel's row, handing it back and claiming it again on every pass of its loop until the
 * slot frees: a spin of three statements a pass on the shared database for up to a window (issue 16, point 3).
 * The bridge runs for real on PostgreSQL against the loopback Slack; "another replica" is played by a second engine
 * on the same database taking the channel's slot. The count of claims is read through the bridge's own engine.
 */
import { PostgresEngine } from '../src/delivery/postgres/postgres-engine';
import type { RunningBridge } from '../src/bridge';
import { harnessConfig, postAlert, startHarnessBridge } from './helpers/bridge-harness';
import { startFakeDiscord, type FakeDiscord } from './helpers/fake-discord';
import { startFakeSlack, type FakeSlack } from './helpers/fake-slack';
import { makeAlertPayload } from './helpers/fixtures';
import { until } from './helpers/interactions';
import { createTestDatabase, type TestDatabase } from './helpers/postgres';

let db: TestDatabase;
let slack: FakeSlack;
let discord: FakeDiscord;
let other: PostgresEngine;
let bridge: RunningBridge | undefined;

beforeAll(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
});
beforeEach(async () => {
  db = await createTestDatabase();
  other = await PostgresEngine.open(db.url, 'replica-other');
});
afterEach(async () => {
  await bridge?.stop();
  bridge = undefined;
  await other.close();
  await db.drop();
});
afterAll(async () => {
  await slack.close();
  await discord.close();
});

it('waits for a channel slot another replica holds instead of claiming the row again and again', async () => {
  const config = harnessConfig({
    slackUrl: slack.url,
    discordApi: discord.api,
    webhookUrl: discord.webhookUrl(),
    storeUrl: db.url,
    realPace: true,
    routesYaml: 'routes:\n  - name: slack-only\n    to: [soc-slack]\n    digest: off',
  });
  bridge = await startHarnessBridge(config);
  const engine = bridge.engine;
  const claims: number[] = [];
  const claim = engine.claim.bind(engine);
  engine.claim = (...args) => {
    claims.push(Date.now());
    return claim(...args);
  };

  // Another replica posts into the channel now: its request is in flight, then ends 200 ms later.
  const takenAt = Date.now();
  expect(await other.takeChannel({ key: 'slack:C0123456789', limit: 1, windowMs: 1000 }, takenAt)).toBe(0);
  const posted = Date.now();
  expect((await postAlert(bridge, makeAlertPayload({ title: 'Waits for its slot' }))).status).toBe(200);
  await new Promise((r) => setTimeout(r, 200));
  await other.endChannel('slack:C0123456789', takenAt, takenAt + 200);

  await until(() => slack.messages.some((m) => m.method === 'chat.postMessage'), 5000);
  const sentAt = slack.requests.find((r) => r.route === 'chat.postMessage')!.receivedAt;
  const whileHeld = claims.filter((at) => at >= posted && at < sentAt).length;
  console.log(`claims while the channel's slot was another replica's: ${whileHeld} in ${sentAt - posted} ms (sent ${sentAt - (takenAt + 200)} ms after the other request ended)`);
  // The pace holds: nothing reached the channel within a window of the other replica's request's end.
  expect(sentAt).toBeGreaterThanOrEqual(takenAt + 200 + 1000);
  // One refused claim, then a wait for the slot (and its re-check): a handful, not one per loop pass.
  expect(whileHeld).toBeLessThanOrEqual(4);
});
