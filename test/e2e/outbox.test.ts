/**
 * Dead letters and resend: a delivery killed by a permanent error is listed with its reason, requeued from the
 * CLI or the admin HTTP endpoint, and delivered once; a delivered one is never sent again.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessConfig, harnessYaml, postAlert, startHarnessBridge, tempStorePath, PANTHER_TOKEN } from '../helpers/bridge-harness';
import type { RunningBridge } from '../../src/bridge';
import { parseDuration } from '../../src/cli/outbox-command';

jest.setTimeout(30_000);

const MAIN = path.resolve(__dirname, '..', '..', 'dist', 'main.js');
const ADMIN = 'admin-token-0123456789';

let slack: FakeSlack;
let discord: FakeDiscord;
let bridge: RunningBridge;
let configFile: string;
let env: Record<string, string>;

beforeEach(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
  const storePath = tempStorePath();
  const webhookUrl = discord.webhookUrl();
  const options = { slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath, extraYaml: 'admin: { tokens: ["${ADMIN_TOKEN}"] }' };
  configFile = path.join(path.dirname(storePath), 'bridge.yaml');
  writeFileSync(configFile, harnessYaml(options));
  env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl, ADMIN_TOKEN: ADMIN };
  bridge = await startHarnessBridge(harnessConfig(options, { ADMIN_TOKEN: ADMIN }));
});
afterEach(async () => {
  await bridge?.stop();
  await slack.close();
  await discord.close();
});

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [MAIN, 'outbox', ...args, '--config', configFile], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
const settle = async (predicate: () => boolean) => {
  for (let i = 0; i < 200 && !predicate(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(predicate()).toBe(true);
};

describe('outbox', () => {
  it('lists a dead delivery with its reason, requeues it from the CLI, and never re-sends a delivered one', async () => {
    slack.failNext(1, { kind: 'error', error: 'not_in_channel' }, 'chat.postMessage');
    const payload = makeAlertPayload();
    await postAlert(bridge, payload);
    await settle(() => bridge.store!.counts().dead === 1 && bridge.store!.counts().delivered === 2);

    const listed = JSON.parse(cli('list', '--alert', payload.alertId!, '--json').stdout) as { id: number; destination: string; status: string; lastReason: string; messageRef: unknown }[];
    expect(listed.map((e) => [e.destination, e.status]).sort()).toEqual([['lab-hook', 'delivered'], ['soc-discord', 'delivered'], ['soc-slack', 'dead']]);
    const dead = listed.find((e) => e.status === 'dead')!;
    expect(dead.lastReason).toBe('not_in_channel');
    expect(listed.find((e) => e.destination === 'soc-discord')!.messageRef).toEqual({ channelId: '1100000000000000001', messageId: expect.any(String) });
    expect(cli('list', '--status', 'dead').stdout).toContain('not_in_channel');

    const retried = cli('retry', '--all-dead');
    expect(JSON.parse(retried.stdout)).toEqual({ requeued: [dead.id], skipped: [] });
    await slack.waitForMessages(1, 5000);
    await settle(() => bridge.store!.counts().delivered === 3);

    const delivered = listed.find((e) => e.destination === 'soc-discord')!;
    const again = cli('retry', String(delivered.id));
    expect(again.status).toBe(1);
    expect(JSON.parse(again.stdout).skipped[0].reason).toContain('already delivered');
    await new Promise((r) => setTimeout(r, 300));
    expect(discord.messages).toHaveLength(2);
  });

  it('offers the same over HTTP behind its own token', async () => {
    discord.failNext(1, 404, 'POST /webhooks');
    await postAlert(bridge, makeAlertPayload());
    await settle(() => bridge.store!.counts().dead === 1);
    expect((await fetch(`${bridge.url}/admin/outbox`)).status).toBe(401);
    expect((await fetch(`${bridge.url}/admin/outbox`, { headers: { authorization: `Bearer ${PANTHER_TOKEN}` } })).status).toBe(401);
    const auth = { authorization: `Bearer ${ADMIN}` };
    const list = (await (await fetch(`${bridge.url}/admin/outbox?status=dead`, { headers: auth })).json()) as { deliveries: { id: number }[] };
    expect(list.deliveries).toHaveLength(1);
    const res = await fetch(`${bridge.url}/admin/outbox/retry`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ ids: [list.deliveries[0]!.id] }) });
    expect(await res.json()).toEqual({ requeued: [list.deliveries[0]!.id], skipped: [] });
    await settle(() => bridge.store!.counts().delivered === 3);
    expect(discord.messages.filter((m) => m.webhookId)).toHaveLength(1);
  });

  it('purges finished history but never pending work', () => {
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('soon')).toBeNull();
    expect(JSON.parse(cli('purge', '--older-than', '0s').stdout)).toEqual({ alerts: 0, deliveries: 0, digests: 0 });
  });
});
