/**
 * The CLI as a user runs it (built dist/main.js): `check` exit codes and messages, `render` output for valid and
 * invalid payloads, and `render` printing exactly the bodies `serve` sends.
 */
import { startFakePanther } from '../helpers/interactions';
import { startFakeAlertmanager } from '../helpers/fake-alertmanager';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIXTURES_DIR, validFixtures } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { encodeAngleBrackets } from '../../src/templates/helpers';
import { harnessConfig, harnessYaml, PANTHER_TOKEN, postAlert, startHarnessBridge, tempStorePath } from '../helpers/bridge-harness';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'main.js');
/** For commands that talk to the in-process fakes: spawnSync would block the fakes' event loop. */
const runAsync = (args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
const run = (args: string[], env: Record<string, string> = {}, cwd = ROOT) =>
  spawnSync(process.execPath, [MAIN, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });


/**
 * POSTs a payload to the in-process bridge right after a spawnSync of the CLI blocked this process's event loop (for
 * seconds on a loaded machine): the server's keep-alive timer and the client's reuse of that idle socket then fire
 * in the same turn, and the request meets a closed socket (ECONNRESET, before the bridge saw it). That one case is
 * sent again, on a new connection; the Panther endpoint deduplicates anyway.
 */
async function postAfterBlockingRun(bridge: Parameters<typeof postAlert>[0], payload: unknown): Promise<void> {
  try {
    await postAlert(bridge, payload);
  } catch (error) {
    if ((error as { cause?: { code?: string } }).cause?.code !== 'ECONNRESET') throw error;
    await postAlert(bridge, payload);
  }
}

describe('chatops-bridge check', () => {
  const exampleEnv = {
    PANTHER_WEBHOOK_TOKEN: 'p-token-123456',
    SLACK_BOT_TOKEN: 'xoxb-secret-value-1',
    DISCORD_BOT_TOKEN: 'discord-secret-value-1',
    DISCORD_WEBHOOK_URL: 'https://discord.com/api/webhooks/112233445566778899/' + 'a'.repeat(68),
  };

  it('exits 0 for the shipped example config', () => {
    const result = run(['check', '--config', 'examples/chatops-bridge.yaml'], exampleEnv);
    expect(result.stderr).not.toContain('secret-value');
    expect([result.status, result.stdout]).toEqual([0, expect.stringContaining('OK')]);
  });

  it('exits 1 listing every problem with line numbers, and no secret', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cb-cli-'));
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'slack: { token: "${SLACK_BOT_TOKEN}" }',
        'destinations:',
        '  a: { type: discord, channel: 112233445566778899 }',
        '  b: { type: discord-webhook, url: "https://example.com/not-a-webhook" }',
        '  c: { type: slack, channel: C0123456789 }',
        'routes:',
        '  - name: r',
        '    to: [a, nowhere]',
        '  - name: r',
        '    to: [b, c]',
      ].join('\n'),
    );
    const result = run(['check', '--config', file], { SLACK_BOT_TOKEN: '' });
    expect(result.status).toBe(1);
    const out = result.stderr;
    expect(out).toMatch(/bad\.yaml:3 .*destinations\.a\.channel/);
    expect(out).toMatch(/bad\.yaml:4 .*destinations\.b\.url/);
    expect(out).toMatch(/bad\.yaml:8 .*routes\[0\]\.to\[1\].*nowhere/);
    expect(out).toMatch(/bad\.yaml:9 .*routes\[1\]\.name/);
    expect(out).toMatch(/bad\.yaml:1 slack\.token: must not be empty/);
  });

  it('names an unset variable', () => {
    // Not in the repo root: a ./.env there (the README's Docker step) would set it.
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'cb-unset-'));
    const result = run(['check', '--config', path.join(ROOT, 'examples', 'chatops-bridge.yaml')], { ...exampleEnv, SLACK_BOT_TOKEN: undefined as unknown as string }, cwd);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/slack\.token.*SLACK_BOT_TOKEN/);
  });

  it('renders every template against the sample alerts: raw outputs and dropped buttons warn, broken templates fail', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cb-tpl-check-'));
    writeFileSync(path.join(dir, 'page.slack.hbs'), '{ "text": "{{{alert.title}}}", "blocks": [{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"x"},"url":"ftp://x"}]}] }');
    const file = path.join(dir, 'c.yaml');
    writeFileSync(file, `templates: { dir: ${dir} }\ndestinations: { c: { type: console } }\nroutes: [{ name: r, to: [c] }]\n`);
    const good = run(['check', '--config', file]);
    expect(good.status).toBe(0);
    expect(good.stderr).toMatch(/page\.slack\.hbs:1:12: raw output/);
    expect(good.stderr).toMatch(/template "page" \(slack\) on sample .*dropped/);
    writeFileSync(path.join(dir, 'broken.discord.hbs'), '{ "content": {{alert.title}} }');
    const bad = run(['check', '--config', file]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/template "broken" \(discord\) fails on sample/);
  });

  it('fails for a missing file', () => {
    expect(run(['check', '--config', '/nonexistent/x.yaml']).status).toBe(1);
  });
});

describe('chatops-bridge render', () => {
  let slack: FakeSlack;
  let discord: FakeDiscord;
  beforeAll(async () => {
    slack = await startFakeSlack();
    discord = await startFakeDiscord();
  });
  afterAll(async () => {
    await slack.close();
    await discord.close();
  });

  it('exits 1 with 400-style issues for a payload with nothing to show', () => {
    const result = run(['render', '--alert', path.join(FIXTURES_DIR, 'invalid', 'nothing-to-show.json')]);
    expect(result.status).toBe(1);
    const out = JSON.parse(result.stdout);
    expect(out.error).toBe('invalid_payload');
    expect(out.issues[0].path).toBe('(body)');
  });

  it('render and explain accept a Panther System Error (empty detection id, no name, version or tags)', () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'cb-system-error-'));
    const sample = path.join(ROOT, 'examples', 'alerts', 'panther-system-error.json');
    const rendered = run(['render', '--alert', sample], {}, cwd);
    expect(rendered.status).toBe(0);
    const [delivery] = JSON.parse(rendered.stdout);
    expect(delivery).toMatchObject({ destination: 'console', body: { severity: 'CRITICAL', title: expect.stringContaining('CloudTrail prod') } });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cb-explain-sys-'));
    const file = path.join(dir, 'c.yaml');
    writeFileSync(file, 'destinations: { c: { type: console } }\nroutes:\n  - { name: panther-health, match: { type: [SYSTEM_ERROR], detection: "Panther.*" }, to: [c] }\n');
    const explained = run(['explain', '--config', file, '--alert', sample]);
    expect(explained.status).toBe(0);
    expect(JSON.parse(explained.stdout).deliveries).toEqual([{ route: 'panther-health', destination: 'c' }]);
  });

  it('previews a templates directory or a named template with --template', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cb-preview-'));
    writeFileSync(path.join(dir, 'default.console.hbs'), '{ "preview": "{{upper alert.severity}} {{alert.title}}" }');
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'cb-preview-run-'));
    const byDir = run(['render', '--alert', path.join(ROOT, 'examples', 'panther-test-alert.json'), '--template', dir], {}, cwd);
    expect(JSON.parse(byDir.stdout)[0].body).toEqual({ destination: 'console', preview: 'INFO This is a Test Alert' });
    const byName = run(['render', '--alert', path.join(ROOT, 'examples', 'panther-test-alert.json'), '--template', 'minimal'], {}, cwd);
    expect(byName.status).toBe(0);
  });

  it('renders the shipped sample on the built-in config (console destination)', () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'cb-first-run-'));
    const result = run(['render', '--alert', path.join(ROOT, 'examples', 'panther-test-alert.json')], {}, cwd);
    expect(result.status).toBe(0);
    const [delivery] = JSON.parse(result.stdout);
    expect(delivery).toMatchObject({ destination: 'console', type: 'console', body: { title: 'This is a Test Alert', severity: 'INFO' } });
  });

  it('explain says which routes matched and why the others did not', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cb-explain-'));
    const file = path.join(dir, 'c.yaml');
    writeFileSync(file, 'destinations: { c: { type: console } }\nroutes:\n  - { name: high, match: { severity: { min: HIGH } }, to: [c] }\n  - { name: all, to: [c] }\n  - { name: later, to: [c] }\n');
    const result = run(['explain', '--config', file, '--alert', path.join(ROOT, 'examples', 'alerts', 'send-test-alert.json')]);
    expect(result.status).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.routes.map((r: { route: string; verdict: string }) => [r.route, r.verdict])).toEqual([['high', 'not matched'], ['all', 'matched'], ['later', 'not evaluated']]);
    expect(out.routes[0].conditions).toEqual([{ condition: 'severity', passed: false, detail: 'INFO >= HIGH', alert: 'INFO' }]);
    expect(out.deliveries).toEqual([{ route: 'all', destination: 'c' }]);
  });

  it('prints exactly the bodies serve sends, for every destination type', async () => {
    const storePath = tempStorePath();
    const webhookUrl = discord.webhookUrl();
    const configFile = path.join(path.dirname(storePath), 'bridge.yaml');
    writeFileSync(configFile, harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath }));
    const env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl };
    const bridge = await startHarnessBridge(harnessConfig({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath }));
    const names = ['real/send-test-alert', 'real/seed-docs-example', 'hostile/all-attacks-every-field', 'long/description-50kb', 'long/everything-long', 'links/link-with-angle-brackets-hostile', 'nulls/all-nullable-null'].filter((n) => n in validFixtures());
    expect(names.length).toBeGreaterThanOrEqual(3);
    try {
      for (const name of names) {
        const file = path.join(FIXTURES_DIR, 'valid', `${name}.json`);
        const rendered = run(['render', '--config', configFile, '--alert', file], env);
        expect([name, rendered.status, rendered.stderr]).toEqual([name, 0, '']);
        const deliveries = JSON.parse(rendered.stdout) as { destination: string; body: Record<string, unknown> }[];
        const payload = validFixtures()[name]!;
        await postAfterBlockingRun(bridge, payload);
        // Pick this alert's messages by its (encoded) link, so a late message of another alert cannot be mistaken.
        const mine = (body: unknown) => JSON.stringify(body).includes(JSON.stringify(encodeAngleBrackets(payload.link)).slice(1, -1));
        const slackPost = () => slack.requests.find((r) => r.route === 'chat.postMessage' && r.status === 200 && mine(normalise(r.body)));
        const bot = () => discord.messages.find((m) => !m.webhookId && mine(m.body));
        const hook = () => discord.messages.find((m) => m.webhookId && mine(m.body));
        await slack.waitFor(() => !!slackPost(), 10_000, `Slack message for ${name}`);
        await discord.waitFor(() => !!bot() && !!hook(), 10_000, `Discord messages for ${name}`);
        const sent: Record<string, unknown> = { 'soc-slack': slackPost()!.body, 'soc-discord': bot()!.body, 'lab-hook': hook()!.body };
        for (const delivery of deliveries) expect([name, delivery.destination, normalise(delivery.body)]).toEqual([name, delivery.destination, normalise(sent[delivery.destination])]);
      }
    } finally {
      await bridge.stop();
    }
  });
});

/** Slack's wire format is a form: nested values arrive JSON-encoded and scalars as strings. */
function normalise(body: unknown): unknown {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (typeof value === 'string' && /^[[{]/.test(value)) out[key] = JSON.parse(value);
    else out[key] = typeof value === 'boolean' || typeof value === 'number' ? String(value) : value;
  }
  return out;
}

describe('commands that talk to the platforms', () => {
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

  it('send-test posts the test alert through every destination and reports each outcome', async () => {
    const storePath = tempStorePath();
    const webhookUrl = discord.webhookUrl();
    const configFile = path.join(path.dirname(storePath), 'bridge.yaml');
    writeFileSync(configFile, harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath }));
    const env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl };
    slack.reset();
    const ok = await runAsync(['send-test', '--config', configFile], env);
    expect(ok.status).toBe(0);
    expect((JSON.parse(ok.stdout) as { outcome: string }[]).map((r) => r.outcome)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(String(slack.messages.at(-1)!.args.text)).toContain('This is a Test Alert');
    const bad = await runAsync(['send-test', '--config', configFile, '--destination', 'soc-slack'], { ...env, SLACK_BOT_TOKEN: 'xoxb-revoked' });
    expect(bad.status).toBe(1);
    expect(JSON.parse(bad.stdout)).toEqual([{ destination: 'soc-slack', outcome: 'permanent', reason: 'invalid_auth', fix: expect.stringMatching(/SLACK_BOT_TOKEN/) }]);
    expect(bad.stdout + bad.stderr).not.toContain('xoxb-revoked');
  });

  it('doctor checks every token and destination live, with fix hints', async () => {
    const storePath = tempStorePath();
    const webhookUrl = discord.webhookUrl();
    const configFile = path.join(path.dirname(storePath), 'bridge.yaml');
    writeFileSync(configFile, harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath }));
    const env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl };
    const ok = await runAsync(['doctor', '--config', configFile], env);
    if (!ok.stdout.trim().startsWith('[')) throw new Error(`doctor printed no JSON (exit ${ok.status}); stderr: ${ok.stderr.slice(0, 2000)}`);
    const checks = JSON.parse(ok.stdout) as { check: string; ok: boolean; fix?: string }[];
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.map((c) => c.check)).toEqual(expect.arrayContaining(['slack token', 'discord token', 'destination soc-slack (slack)', 'destination lab-hook (discord-webhook)']));
    expect(ok.status).toBe(0);

    writeFileSync(configFile, harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath }).replace('channel: C0123456789', 'channel: C0NOTHERE1'));
    const bad = await runAsync(['doctor', '--config', configFile], { ...env, DISCORD_BOT_TOKEN: 'reset-token' });
    expect(bad.status).toBe(1);
    const failed = (JSON.parse(bad.stdout) as { check: string; ok: boolean; detail?: string; fix?: string }[]).filter((c) => !c.ok);
    expect(failed.map((c) => [c.check, c.detail])).toEqual(expect.arrayContaining([['destination soc-slack (slack)', 'channel_not_found'], ['discord token', 'HTTP 401']]));
    for (const c of failed) expect(c.fix).toBeTruthy();
    expect(bad.stdout).not.toContain('reset-token');
  });

  it('doctor checks the sources\' silence APIs when configured, without printing their credentials', async () => {
    const am = await startFakeAlertmanager();
    try {
      am.authorization = 'Bearer am-api-token-0001';
      const storePath = tempStorePath();
      const webhookUrl = discord.webhookUrl();
      const configFile = path.join(path.dirname(storePath), 'bridge.yaml');
      const alertmanagerYaml = `    api: { url: "${am.url}", auth: { bearer: "\${AM_API_TOKEN}" } }`;
      writeFileSync(configFile, harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath, alertmanagerYaml }));
      const env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl };
      const ok = await runAsync(['doctor', '--config', configFile], { ...env, AM_API_TOKEN: 'am-api-token-0001' });
      expect(JSON.parse(ok.stdout)).toContainEqual({ check: 'alertmanager silence API', ok: true, detail: '0 silences visible' });
      const bad = await runAsync(['doctor', '--config', configFile], { ...env, AM_API_TOKEN: 'wrong-am-token' });
      expect(bad.status).toBe(1);
      expect(JSON.parse(bad.stdout)).toContainEqual({ check: 'alertmanager silence API', ok: false, detail: '401 from Alertmanager', fix: expect.stringMatching(/sources\.alertmanager\.api\.auth/) });
      expect(bad.stdout + bad.stderr).not.toContain('wrong-am-token');
    } finally {
      await am.close();
    }
  });

  it('doctor checks the Panther write-back API when configured, without printing its token', async () => {
    const panther = await startFakePanther();
    try {
      const storePath = tempStorePath();
      const webhookUrl = discord.webhookUrl();
      const configFile = path.join(path.dirname(storePath), 'bridge.yaml');
      const extraYaml = `panther:\n  api: { url: "${panther.url}", token: "\${PANTHER_API_TOKEN}" }`;
      writeFileSync(configFile, harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storePath, extraYaml }));
      const env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl };
      const ok = await runAsync(['doctor', '--config', configFile], { ...env, PANTHER_API_TOKEN: 'panther-api-key-0001' });
      expect(JSON.parse(ok.stdout)).toContainEqual({ check: 'panther write-back API', ok: true, detail: '0 Panther users visible' });
      const bad = await runAsync(['doctor', '--config', configFile], { ...env, PANTHER_API_TOKEN: 'wrong-panther-key' });
      expect(bad.status).toBe(1);
      expect(JSON.parse(bad.stdout)).toContainEqual({ check: 'panther write-back API', ok: false, detail: 'Panther API answered HTTP 401', fix: expect.stringMatching(/API token/) });
      expect(bad.stdout + bad.stderr).not.toContain('wrong-panther-key');
    } finally {
      await panther.close();
    }
  });
});
