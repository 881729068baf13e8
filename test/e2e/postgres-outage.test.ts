/**
 * A PostgreSQL store that cannot answer now is "try again", as a SQLite one is (test/e2e/store-outage.test.ts):
 * the admin API and the console answer `503 store_unavailable`, not a 500 that reads like a bug. The bridge runs in
 * this process on a database of its own; a second connection holds the rows the resend must write, past the
 * store's lock timeout and the resend's wait, as an operator's long transaction or another replica's would.
 */
import { Client } from 'pg';
import { loadConfigText } from '../../src/config/load';
import { startBridge, type RunningBridge } from '../../src/bridge';
import { silentLogger } from '../../src/observability/logger';
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessYaml, PANTHER_TOKEN, postAlert } from '../helpers/bridge-harness';
import { until } from '../helpers/interactions';
import { useTestDatabase } from '../helpers/postgres';

jest.setTimeout(60_000);

const db = useTestDatabase();
let slack: FakeSlack;
let discord: FakeDiscord;
let bridge: RunningBridge | undefined;
beforeAll(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
});
afterAll(async () => {
  await bridge?.stop();
  await slack.close();
  await discord.close();
});

it('answers 503 store_unavailable on the admin and console paths while PostgreSQL holds their rows locked', async () => {
  const yaml = harnessYaml({
    slackUrl: slack.url,
    discordApi: discord.api,
    webhookUrl: discord.webhookUrl(),
    routesYaml: 'routes:\n  - name: soc\n    to: [soc-slack]\n    digest: off',
    extraYaml: 'admin: { tokens: ["admin-token-0001"] }\nconsole: { enabled: true, users: [{ token: "console-admin-0001", role: admin }] }',
  }).replace(/^store: .*$/m, 'store: { url: "${DATABASE_URL}" }');
  const loaded = loadConfigText(yaml, { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: discord.webhookUrl(), DATABASE_URL: db.url });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  bridge = await startBridge(loaded.config, silentLogger(), 0);
  // A dead delivery to resend.
  slack.failNext(1, { kind: 'error', error: 'channel_not_found' }, 'chat.postMessage');
  expect((await postAlert(bridge, makeAlertPayload())).status).toBe(200);
  let dead: number | undefined;
  await until(() => {
    void bridge!.engine.ledger().list({ status: 'dead' }).then((rows) => (dead = rows[0]?.id));
    return dead !== undefined;
  }, 10_000, 'the dead delivery');

  const holder = new Client({ connectionString: db.url });
  await holder.connect();
  try {
    await holder.query('BEGIN');
    await holder.query('SELECT id FROM deliveries FOR UPDATE');
    const retry = await fetch(`${bridge.url}/admin/outbox/retry`, {
      method: 'POST',
      headers: { authorization: 'Bearer admin-token-0001', 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [dead] }),
    });
    expect([retry.status, await retry.json()]).toEqual([503, { error: 'store_unavailable' }]);
    const resend = await fetch(`${bridge.url}/console/api/deliveries/resend-dead`, {
      method: 'POST',
      headers: { authorization: 'Bearer console-admin-0001', 'content-type': 'application/json', 'x-console-request': '1' },
      body: '{}',
    });
    expect([resend.status, await resend.json()]).toEqual([503, { error: 'store_unavailable' }]);
  } finally {
    await holder.query('ROLLBACK');
    await holder.end();
  }
  // The lock gone, the same resend goes through.
  const retried = await fetch(`${bridge.url}/admin/outbox/retry`, {
    method: 'POST',
    headers: { authorization: 'Bearer admin-token-0001', 'content-type': 'application/json' },
    body: JSON.stringify({ ids: [dead] }),
  });
  expect(retried.status).toBe(200);
  await until(() => slack.messagesFor('C0123456789').length === 1, 10_000, 'the resent post');
});
