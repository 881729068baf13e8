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
