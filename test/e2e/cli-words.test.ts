/**
 * What the CLI says when something is wrong, as a user reads it (built dist/main.js): a missing file is named as
 * missing, a missing key as required, one unset variable as one problem.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'main.js');
const run = (args: string[], env: Record<string, string> = {}, cwd = ROOT) =>
  spawnSync(process.execPath, [MAIN, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
const tempFile = (name: string, text: string) => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'cb-words-')), name);
  writeFileSync(file, text);
  return file;
};

describe('--alert FILE', () => {
  it.each(['render', 'explain'])('%s: a missing file is "cannot read FILE: no such file", not a JSON problem', (command) => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'cb-words-run-'));
    const result = run([command, '--alert', '/nonexistent/alert.json'], {}, cwd);
    expect([result.status, result.stdout, result.stderr]).toEqual([1, '', 'cannot read /nonexistent/alert.json: no such file\n']);
  });

  it.each(['render', 'explain'])('%s: a file that is not JSON is an invalid payload, as the webhook would answer', (command) => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'cb-words-run-'));
    const result = run([command, '--alert', tempFile('a.json', '{ "title": ')], {}, cwd);
    expect(result.status).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({ error: 'invalid_payload', issues: [{ path: '(body)', message: expect.stringMatching(/^not valid JSON: /) }] });
  });
});

describe('check: one unset variable is one problem', () => {
  it('a console user whose token is unset gets only "not set", not "give either token…" or "username and password go together"', () => {
    const file = tempFile('c.yaml', [
      'console:',
      '  enabled: true',
      '  users:',
      '    - { token: "${CONSOLE_ADMIN_TOKEN}", role: admin }',
      '    - { username: oncall, password: "${CONSOLE_VIEWER_PASSWORD}", role: viewer }',
      'destinations: { c: { type: console } }',
      'routes: [{ name: r, to: [c] }]',
    ].join('\n'));
    const result = run(['check', '--config', file]);
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n').map((line) => path.basename(line.split(' ')[0]!) + line.slice(line.indexOf(' ')))).toEqual([
      'c.yaml:4 console.users[0].token: environment variable CONSOLE_ADMIN_TOKEN is not set',
      'c.yaml:5 console.users[1].password: environment variable CONSOLE_VIEWER_PASSWORD is not set',
    ]);
  });

  it('an unset discord.token does not also say the discord destinations need one', () => {
    const file = tempFile('d.yaml', [
      'discord: { token: "${DISCORD_BOT_TOKEN}" }',
      'slack: { token: "${SLACK_BOT_TOKEN}" }',
      'destinations:',
      '  d: { type: discord, channel: "112233445566778899" }',
      '  s: { type: slack, channel: C0123456789 }',
      'routes: [{ name: r, to: [d, s] }]',
    ].join('\n'));
    const result = run(['check', '--config', file]);
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n').map((line) => path.basename(line.split(' ')[0]!) + line.slice(line.indexOf(' ')))).toEqual([
      'd.yaml:1 discord.token: environment variable DISCORD_BOT_TOKEN is not set',
      'd.yaml:2 slack.token: environment variable SLACK_BOT_TOKEN is not set',
    ]);
  });
});

describe('check: a missing key is required, in plain words', () => {
  it('says "is required" whichever check noticed the gap, and never zod\'s "expected …, received …"', () => {
    const file = tempFile('r.yaml', [
      'console: { users: ["x"] }',
      'panther:',
      '  api: { url: "https://x.example/public/graphql", token: t }',
      '  statuses: { acknowledge: 5 }',
      'destinations: { a: {} }',
      'routes: [{ name: r, to: [a], match: { severity: {} } }]',
    ].join('\n'));
    const result = run(['check', '--config', file]);
    expect(result.status).toBe(1);
    expect(result.stderr).not.toMatch(/expected|received|Invalid/);
    expect(result.stderr.trim().split('\n').map((line) => line.slice(line.indexOf(' ') + 1))).toEqual([
      'console.users[0]: must be a map, not a string',
      'panther.statuses.acknowledge: must be one of OPEN, TRIAGED, CLOSED, RESOLVED',
      'destinations.a.type: is required (must be one of slack, discord, discord-webhook, console)',
      'routes[0].match.severity.min: is required (must be one of INFO, LOW, MEDIUM, HIGH, CRITICAL (upper case))',
    ]);
  });
});

describe('doctor and send-test speak to people', () => {
  /** A port nothing listens on (taken, then freed), so every platform call is refused. */
  const closedPort = async () => {
    const net = await import('node:net');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    return port;
  };
  const unreachableConfig = async () => {
    const port = await closedPort();
    const file = tempFile('net.yaml', [
      `slack: { token: xoxb-words-secret-1, apiUrl: "http://127.0.0.1:${port}/api/" }`,
      `discord: { token: discord-words-secret-2, apiUrl: "http://127.0.0.1:${port}/api" }`,
      'destinations:',
      '  s: { type: slack, channel: C0123456789 }',
      '  d: { type: discord, channel: "112233445566778899" }',
      `  h: { type: discord-webhook, url: "https://discord.com/api/webhooks/112233445566778899/${'a'.repeat(68)}" }`,
      'routes: [{ name: r, to: [s, d, h] }]',
    ].join('\n'));
    return { file, refused: `network: ECONNREFUSED 127.0.0.1:${port}` };
  };
  /** Runs the CLI with stdout on a pseudo-terminal (util-linux `script`), as a person at a terminal would. */
  const onTerminal = (args: string[]) => {
    const command = [process.execPath, MAIN, ...args].map((a) => `'${a}'`).join(' ');
    const result = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', TERM: 'dumb' }, encoding: 'utf8' });
    return { status: result.status, stdout: result.stdout.replace(/\r\n/g, '\n') };
  };

  it('every destination\'s network failure has the same detail (the cause) and a fix, in doctor and send-test', async () => {
    const { file, refused } = await unreachableConfig();
    const doctor = run(['doctor', '--config', file]);
    expect(doctor.status).toBe(1);
    const failed = (JSON.parse(doctor.stdout) as { check: string; ok: boolean; detail?: string; fix?: string }[]).filter((c) => !c.ok);
    expect(failed.map((c) => [c.check, c.detail])).toEqual([
      ['slack token', refused],
      ['discord token', refused],
      ['destination s (slack)', refused],
      ['destination d (discord)', refused],
      ['destination h (discord-webhook)', refused],
    ]);
    expect(failed.map((c) => c.fix)).toEqual(['slack', 'discord', 'slack', 'discord', 'discord'].map((p) => expect.stringMatching(new RegExp(`check network/proxy and ${p}\\.apiUrl`))));
    const sent = run(['send-test', '--config', file]);
    expect(sent.status).toBe(1);
    expect(JSON.parse(sent.stdout)).toEqual(['s', 'd', 'h'].map((destination) => ({ destination, outcome: 'retryable', reason: refused, fix: expect.stringMatching(/API not reachable: check network\/proxy/) })));
    expect(doctor.stdout + sent.stdout).not.toMatch(/words-secret|unreachable"|fetch failed/);
  });

  it('on a terminal they print readable lines with the fix under each failure; --json (or a pipe) keeps JSON', async () => {
    const { file, refused } = await unreachableConfig();
    const doctor = onTerminal(['doctor', '--config', file]);
    expect(doctor.status).toBe(1);
    expect(doctor.stdout).toContain(`FAIL  slack token                      ${refused}\n      fix: Slack API not reachable: check network/proxy and slack.apiUrl\n`);
    expect(doctor.stdout).toMatch(/^ok {4}templates$/m);
    expect(doctor.stdout).toMatch(/\n5 of 7 checks failed\n$/);
    const sent = onTerminal(['send-test', '--config', file, '--destination', 'd']);
    expect(sent.stdout).toBe(`FAIL  d  ${refused} (temporary: the outbox would retry)\n      fix: Discord API not reachable: check network/proxy and discord.apiUrl\n\nthe destination failed\n`);
    const json = onTerminal(['send-test', '--json', '--config', file, '--destination', 'd']);
    expect(JSON.parse(json.stdout)).toEqual([{ destination: 'd', outcome: 'retryable', reason: refused, fix: expect.any(String) }]);
  });
});

describe('explain shows the alert\'s own values', () => {
  it('puts the alert\'s tags beside a failed tags.none, and says the reason', () => {
    const config = tempFile('x.yaml', [
      'destinations: { c: { type: console } }',
      'routes:',
      '  - { name: prod, match: { severity: { min: INFO }, tags: { none: [Test] } }, to: [c] }',
      '  - { name: all, to: [c] }',
    ].join('\n'));
    const alert = tempFile('a.json', JSON.stringify({ id: 'AWS.X', title: 't', severity: 'HIGH', type: 'RULE', tags: ['Test', 'Production'], createdAt: '2024-01-01T00:00:00Z', alertId: 'a1' }));
    const result = run(['explain', '--config', config, '--alert', alert]);
    expect(result.status).toBe(0);
    const [prod] = JSON.parse(result.stdout).routes;
    expect(prod).toMatchObject({ verdict: 'not matched', reason: 'excluded tag present: Test' });
    expect(prod.conditions).toEqual([
      { condition: 'severity', passed: true, detail: 'HIGH >= INFO' },
      { condition: 'tags.none', passed: false, detail: 'none of [Test]', alert: ['Test', 'Production'] },
    ]);
  });
});
