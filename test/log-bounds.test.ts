/**
 * Every string of a log line is bounded (issue 14 review): a 900 KB alert id named in an alert's log lines, queued
 * by the asynchronous stderr destination, cost gigabytes. The real logger writes to a pipe here; its lines are read
 * back, and the redaction of secrets still holds on the bounded object.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const LOGGER = path.resolve(__dirname, '..', 'dist', 'observability', 'logger.js');

function logLines(script: string): Record<string, any>[] {
  const run = spawnSync(process.execPath, ['-e', `const { createLogger } = require(${JSON.stringify(LOGGER)}); const log = createLogger('info', 'json', false); ${script}; log.flush();`], { encoding: 'utf8' });
  expect(run.status).toBe(0);
  return run.stderr.trim().split('\n').map((line) => JSON.parse(line));
}

it('cuts strings over 1 KB at the top and one level down, with a marker, and still redacts', () => {
  const [line] = logLines(`
    const big = 'A'.repeat(900000);
    const err = new Error('bad ' + big); err.code = 'E_' + big;
    log.info({ alertId: big, nested: { link: big, token: 'secret-token' }, url: 'https://hooks.example/secret', err, short: 'ok' }, 'accepted');
  `);
  expect(line!.alertId).toBe(`${'A'.repeat(1024)}…[+${900_000 - 1024} chars]`);
  expect(line!.nested.link).toHaveLength(1024 + `…[+${900_000 - 1024} chars]`.length);
  expect(line!.nested.token).toBe('[REDACTED]');
  expect(line!.url).toBe('[REDACTED]');
  expect(line!.err.message).toMatch(/^bad A+…\[\+\d+ chars\]$/);
  expect(line!.err.code.length).toBeLessThan(1100);
  expect(line!.err.type).toBe('Error');
  expect(line!.short).toBe('ok');
  expect(line!.msg).toBe('accepted');
});

it('also bounds the message text, an error logged on its own, and strings deeper down', () => {
  const lines = logLines(`
    const big = 'B'.repeat(900000);
    log.error({}, 'failed: ' + big);
    log.error(new Error('boom ' + big));
    log.warn({ err: { data: { error: big } }, errors: [{ message: big }] }, 'deep');
  `);
  for (const line of lines) expect(JSON.stringify(line).length).toBeLessThan(10_000);
  expect(lines[0]!.msg).toMatch(/^failed: B+…\[\+\d+ chars\]$/);
  expect(lines[1]!.msg ?? lines[1]!.err?.message).toMatch(/boom B+…\[\+\d+ chars\]/);
  expect(lines[2]!.err.data.error).toMatch(/…\[\+\d+ chars\]$/);
  expect(lines[2]!.errors[0].message).toMatch(/…\[\+\d+ chars\]$/);
});
