/**
 * Durability: the built CLI (`node dist/main.js serve`) is killed with SIGKILL mid-burst and restarted on the
 * same SQLite file; every alert it acknowledged must still arrive. Also: a graceful restart with deliveries
 * still pending resumes them, and Panther's retries after a restart are still recognised as duplicates.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessConfig, harnessYaml, PANTHER_TOKEN, postAlert, startHarnessBridge, tempStorePath } from '../helpers/bridge-harness';
import { startServe } from '../helpers/serve-process';

jest.setTimeout(60_000);

let slack: FakeSlack;
let discord: FakeDiscord;
beforeEach(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
});
afterEach(async () => {
  await slack.close();
  await discord.close();
});

/** Starts the CLI and resolves with its base URL once it logs that it listens. */
const startCli = (configFile: string, env: Record<string, string>) => startServe(configFile, env);

const titleNumber = (text: unknown) => Number(/Burst (\d+)/.exec(String(text))?.[1] ?? NaN);

describe('restarts', () => {
  it('delivers every acknowledged alert after SIGKILL mid-burst', async () => {
    const storePath = tempStorePath();
    const configFile = path.join(path.dirname(storePath), 'bridge.yaml');
    const webhookUrl = discord.webhookUrl();
    writeFileSync(configFile, harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath }));
    const env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl };
    // Slow Slack down so the burst is still queued when the process dies.
    slack.setRateLimit({ perChannel: 10, windowMs: 1000 });
    const first = await startCli(configFile, env);
    const total = 40;
    for (let i = 0; i < total; i++) {
      const res = await fetch(`${first.url}/webhooks/panther`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-panther-token': PANTHER_TOKEN },
        body: JSON.stringify(makeAlertPayload({ title: `Burst ${i}` })),
      });
      expect(res.status).toBe(200);
    }
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const deliveredBeforeKill = slack.messages.length;
    expect(deliveredBeforeKill).toBeLessThan(total);

    const second = await startCli(configFile, env);
    try {
      await slack.waitFor(() => new Set(slack.messages.map((m) => titleNumber(m.args.text))).size === total, 40_000, 'all Slack messages');
      await discord.waitFor(() => discord.messages.length >= total * 2, 40_000, 'all Discord messages');
    } finally {
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    }
    const seen = (numbers: number[]) => [...new Set(numbers)].sort((a, b) => a - b);
    const all = Array.from({ length: total }, (_, i) => i);
    expect(seen(slack.messages.map((m) => titleNumber(m.args.text)))).toEqual(all);
    const bot = discord.messages.filter((m) => !m.webhookId).map((m) => titleNumber((m.body as any).embeds[0].title));
    const hook = discord.messages.filter((m) => m.webhookId).map((m) => titleNumber((m.body as any).embeds[0].title));
    expect(seen(bot)).toEqual(all);
    expect(seen(hook)).toEqual(all);
    // At most the one send per destination that was in flight at the kill can repeat; Discord's nonce absorbs it.
    expect(slack.messages.length - total).toBeLessThanOrEqual(1);
    expect(bot.length).toBe(total);
    expect(hook.length - total).toBeLessThanOrEqual(1);
  });

  it('resumes pending deliveries after a graceful restart and still answers duplicate for retries', async () => {
    const storePath = tempStorePath();
    const webhookUrl = discord.webhookUrl();
    const payload = makeAlertPayload();
    slack.failNext(1000, 503, 'chat.postMessage'); // Slack is down for now…
    const first = await startHarnessBridge(harnessConfig({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath }));
    expect((await postAlert(first, payload)).body.status).toBe('accepted');
    await discord.waitForMessages(2);
    await first.stop();
    expect(slack.messages).toHaveLength(0);

    slack.reset(); // …then Slack recovers and the bridge restarts.
    const second = await startHarnessBridge(harnessConfig({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath }));
    try {
      expect((await postAlert(second, payload)).body.status).toBe('duplicate');
      await slack.waitForMessages(1, 10_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(slack.messages).toHaveLength(1);
      expect(discord.messages).toHaveLength(2);
    } finally {
      await second.stop();
    }
  });

  it('serves and keeps alerts when Slack and Discord are unreachable at start-up', async () => {
    const storePath = tempStorePath();
    const configFile = path.join(path.dirname(storePath), 'bridge.yaml');
    const webhookUrl = discord.webhookUrl();
    // Port 9 on loopback: nothing listens, every SDK call fails with ECONNREFUSED.
    writeFileSync(configFile, harnessYaml({ slackUrl: 'http://127.0.0.1:9/api/', discordApi: 'http://127.0.0.1:9/api', webhookUrl, storePath }));
    const env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl };
    const { child, url } = await startCli(configFile, env);
    try {
      const res = await fetch(`${url}/webhooks/panther`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-panther-token': PANTHER_TOKEN },
        body: JSON.stringify(makeAlertPayload()),
      });
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 1500));
      expect(child.exitCode).toBeNull();
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    expect(child.exitCode).toBe(0);
  });

  it('refuses a second serve on the same store file', async () => {
    const storePath = tempStorePath();
    const configFile = path.join(path.dirname(storePath), 'bridge.yaml');
    const webhookUrl = discord.webhookUrl();
    writeFileSync(configFile, harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath }));
    const env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl };
    const first = await startCli(configFile, env);
    try {
      await expect(startCli(configFile, env)).rejects.toThrow(/exited with 1: [^]*is in use by chatops-bridge instance [0-9a-f-]{36} on host/);
    } finally {
      first.child.kill('SIGTERM');
      await new Promise((r) => first.child.once('exit', r));
    }
  });

  it('reloads config and templates on SIGHUP and keeps the running version when the new one is broken', async () => {
    const storePath = tempStorePath();
    const dir = path.dirname(storePath);
    const configFile = path.join(dir, 'bridge.yaml');
    const webhookUrl = discord.webhookUrl();
    const env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl };
    const write = (routesYaml: string, extraYaml = '') =>
      writeFileSync(configFile, harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath, routesYaml, extraYaml }));
    const post = (url: string, title: string) =>
      fetch(`${url}/webhooks/panther`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-panther-token': PANTHER_TOKEN }, body: JSON.stringify(makeAlertPayload({ title })) });
    const waitLog = async (cli: { stderr: () => string }, text: string) => {
      for (let i = 0; i < 100 && !cli.stderr().includes(text); i++) await new Promise((r) => setTimeout(r, 50));
      expect(cli.stderr()).toContain(text);
    };
    write('routes:\n  - name: r\n    to: [soc-slack]\n    digest: off');
    const cli = await startCli(configFile, env);
    try {
      await post(cli.url, 'First');
      await slack.waitForMessages(1);

      mkdirSync(path.join(dir, 'tpl'));
      writeFileSync(path.join(dir, 'tpl', 'default.discord.hbs'), '{ "content": "RELOADED {{alert.title}}" }');
      write('routes:\n  - name: r\n    to: [soc-discord]\n    digest: off', `templates: { dir: "${path.join(dir, 'tpl')}" }`);
      cli.child.kill('SIGHUP');
      await waitLog(cli, '"msg":"config reloaded"');
      await post(cli.url, 'Second');
      await discord.waitForMessages(1);
      expect((discord.messages[0]!.body as { content: string }).content).toBe('RELOADED Second');

      writeFileSync(path.join(dir, 'tpl', 'default.discord.hbs'), '{ "content": "{{#if x}}" }');
      cli.child.kill('SIGHUP');
      await waitLog(cli, 'config reload rejected');
      await post(cli.url, 'Third');
      await discord.waitForMessages(2);
      expect((discord.messages[1]!.body as { content: string }).content).toBe('RELOADED Third');
      expect(slack.messages).toHaveLength(1);
    } finally {
      cli.child.kill('SIGTERM');
      await new Promise((r) => cli.child.once('exit', r));
    }
  });
});
