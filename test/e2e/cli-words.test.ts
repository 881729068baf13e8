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
