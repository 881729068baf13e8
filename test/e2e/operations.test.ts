/**
 * Operations: /metrics counts what happened (label sets exist from the start), /readyz flips when a token is
 * revoked, and no configured secret ever reaches a log line, even through SDK errors.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessConfig, postAlert, PANTHER_TOKEN } from '../helpers/bridge-harness';
import { startBridge, type RunningBridge } from '../../src/bridge';

jest.setTimeout(30_000);

type Ready = { checks: { name: string; ok: boolean; detail?: string; checkedAt?: string }[] };

let slack: FakeSlack;
let discord: FakeDiscord;
let bridge: RunningBridge;
let logs: string;
let webhookUrl: string;

beforeEach(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
  webhookUrl = discord.webhookUrl();
  logs = '';
  const sink = new Writable({ write: (chunk, _enc, done) => ((logs += chunk.toString()), done()) });
  const config = harnessConfig({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, extraYaml: '' });
  bridge = await startBridge({ ...config, server: { ...config.server, tokenCheckIntervalMs: 1000 } }, pino({ level: 'debug' }, sink), 0);
});
afterEach(async () => {
  await bridge?.stop();
  await slack.close();
  await discord.close();
});

const settle = async (predicate: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 100 && !(await predicate()); i++) await new Promise((r) => setTimeout(r, 50));
  expect(await predicate()).toBe(true);
};

describe('operations', () => {
  it('exposes metrics by source, destination, outcome and reason', async () => {
    const initial = await (await fetch(`${bridge.url}/metrics`)).text();
    expect(initial).toContain('chatops_deliveries_total{destination="soc-slack",outcome="dead",reason=""} 0');
    expect(initial).toContain('chatops_alerts_rejected_total{source="panther",reason="unauthorized"} 0');

    slack.failNext(1, { kind: 'error', error: 'channel_not_found' }, 'chat.postMessage');
    const payload = makeAlertPayload();
    await postAlert(bridge, payload);
    await postAlert(bridge, payload);
    await postAlert(bridge, { nope: true });
    await postAlert(bridge, makeAlertPayload(), 'wrong-token');
    await settle(() => bridge.store!.counts().pending === 0);
    const text = await (await fetch(`${bridge.url}/metrics`)).text();
    expect(text).toContain('chatops_alerts_received_total{source="panther"} 2');
    expect(text).toContain('chatops_alerts_duplicate_total{source="panther"} 1');
    expect(text).toContain('chatops_alerts_rejected_total{source="panther",reason="invalid_payload"} 1');
    expect(text).toContain('chatops_alerts_rejected_total{source="panther",reason="unauthorized"} 1');
    expect(text).toContain('chatops_deliveries_total{destination="soc-slack",outcome="dead",reason="channel_not_found"} 1');
    expect(text).toContain('chatops_deliveries_total{destination="soc-discord",outcome="delivered",reason=""} 1');
    expect(text).toMatch(/chatops_delivery_latency_seconds_count\{destination="lab-hook"\} 1/);
    expect(text).toContain('chatops_queue_depth{destination="soc-slack"} 0');
  });

  it('reports a revoked token in /readyz, and recovery', async () => {
    await settle(async () => ((await (await fetch(`${bridge.url}/readyz`)).json()) as Ready).checks.some((c: { name: string; checkedAt?: string }) => c.name === 'slack_token' && c.checkedAt));
    const first = await fetch(`${bridge.url}/readyz`);
    expect(first.status).toBe(200);
    slack.tokens.clear();
    await settle(async () => (await fetch(`${bridge.url}/readyz`)).status === 503);
    const body = (await (await fetch(`${bridge.url}/readyz`)).json()) as Ready;
    expect(body.checks.find((c: { name: string }) => c.name === 'slack_token')).toMatchObject({ ok: false, detail: 'Slack rejected the token: invalid_auth' });
    expect(body.checks.find((c: { name: string }) => c.name === 'discord_token')).toMatchObject({ ok: true });
    slack.tokens.add('xoxb-test');
    await settle(async () => (await fetch(`${bridge.url}/readyz`)).status === 200);
  });

  it('names the network failure in /readyz when a platform cannot be reached', async () => {
    await slack.close();
    await discord.close();
    // The first check after the close may meet a kept-alive socket being reset (ECONNRESET); the next ones connect anew.
    await settle(async () => /ECONNREFUSED/.test((((await (await fetch(`${bridge.url}/readyz`)).json()) as Ready).checks.find((c) => c.name === 'discord_token')?.detail ?? '')));
    const body = (await (await fetch(`${bridge.url}/readyz`)).json()) as Ready;
    expect(body.checks.find((c) => c.name === 'discord_token')).toMatchObject({ ok: false, detail: expect.stringMatching(/^Discord API unreachable \(network: ECONNREFUSED 127\.0\.0\.1:\d+\)$/) });
    // Slack's cause is lost only inside jest: @slack/web-api keeps fetch's error when it is `instanceof Error`, which
    // fails across jest's realms (it then wraps String(error)). The built CLI shows it: test/e2e/cli-words.test.ts.
    expect(body.checks.find((c) => c.name === 'slack_token')).toMatchObject({ ok: false, detail: expect.stringMatching(/^Slack API unreachable \(/) });
  });

  it('never writes a configured secret to the logs, even when deliveries fail', async () => {
    slack.tokens.clear();
    discord.failNext(5, 404, 'POST /webhooks');
    discord.failNext(5, 401, 'POST /channels');
    await postAlert(bridge, makeAlertPayload());
    await postAlert(bridge, makeAlertPayload(), 'wrong-token');
    await settle(() => bridge.store!.counts().pending === 0);
    await new Promise((r) => setTimeout(r, 1200)); // one token check cycle
    expect(logs.length).toBeGreaterThan(500);
    const webhookToken = webhookUrl.split('/').pop()!;
    for (const secret of ['xoxb-test', 'discord-test-token', PANTHER_TOKEN, webhookToken]) expect(logs).not.toContain(secret);
  });
});
