/**
 * Log format: pretty on a terminal or with LOG_FORMAT=pretty, JSON otherwise, and JSON (never a crash) when
 * pino-pretty is not installed, as in a `npm ci --omit=dev` image. Runs the built logger in a child process, since
 * the logger writes to file descriptor 2. Needs `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chooseLogFormat } from '../src/observability/logger';

const LOGGER = path.join(__dirname, '..', 'dist', 'observability', 'logger.js');

/** A preload that makes `require('pino-pretty')` fail exactly as it does when the package is absent. */
const withoutPretty = (() => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'cb-logger-')), 'no-pino-pretty.js');
  writeFileSync(
    file,
    `const Module = require('module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'pino-pretty') throw Object.assign(new Error("Cannot find module 'pino-pretty'"), { code: 'MODULE_NOT_FOUND' });
  return resolve.call(this, request, ...rest);
};
`,
  );
  return file;
})();

/** Runs `createLogger(<args>)`, logs one info line with a secret-bearing field, returns stderr lines. */
function logWith(env: Record<string, string>, args = '', preload?: string): string[] {
  const script =
    `const log = require(${JSON.stringify(LOGGER)}).createLogger(${args});` +
    `log.info({ requestId: 'req-1', slack: { token: 'xoxb-must-not-appear' } }, 'hello there');` +
    `log.debug('debug line');`;
  const result = spawnSync(process.execPath, [...(preload ? ['-r', preload] : []), '-e', script], {
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...env },
    encoding: 'utf8',
  });
  expect(result.status).toBe(0);
  expect(result.stdout).toBe('');
  return result.stderr.split('\n').filter(Boolean);
}

const isJson = (line: string) => {
  try {
    return typeof JSON.parse(line) === 'object';
  } catch {
    return false;
  }
};

describe('chooseLogFormat', () => {
  it.each([
    [undefined, true, 'pretty'],
    [undefined, false, 'json'],
    ['', true, 'pretty'],
    ['json', true, 'json'],
    ['pretty', false, 'pretty'],
    [' Pretty ', false, 'pretty'],
    ['JSON', true, 'json'],
  ] as const)('LOG_FORMAT=%j, stderr a TTY: %s → %s', (requested, tty, format) => {
    expect(chooseLogFormat(requested, tty)).toEqual({ format });
  });

  it('warns about an unknown value and falls back to the automatic choice', () => {
    expect(chooseLogFormat('text', false)).toEqual({ format: 'json', warning: expect.stringMatching(/json or pretty/) });
  });
});

describe('createLogger', () => {
  it('logs JSON when stderr is not a terminal, at LOG_LEVEL', () => {
    const lines = logWith({ LOG_LEVEL: 'info' });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, msg: 'hello there', requestId: 'req-1', service: 'chatops-bridge', slack: { token: '[REDACTED]' } });
    expect(logWith({ LOG_LEVEL: 'debug' })).toHaveLength(2);
  });

  it('logs pretty lines with LOG_FORMAT=pretty, still redacted', () => {
    const lines = logWith({ LOG_FORMAT: 'pretty' });
    expect(lines).toHaveLength(1);
    expect(isJson(lines[0]!)).toBe(false);
    expect(lines[0]).toMatch(/INFO.*hello there/);
    expect(lines[0]).toContain('req-1');
    expect(lines[0]).toContain('[REDACTED]');
    expect(lines[0]).not.toContain('xoxb-must-not-appear');
  });

  it('logs pretty lines when stderr is a terminal, unless LOG_FORMAT=json', () => {
    expect(isJson(logWith({}, 'undefined, undefined, true')[0]!)).toBe(false);
    expect(isJson(logWith({ LOG_FORMAT: 'json' }, 'undefined, undefined, true')[0]!)).toBe(true);
  });

  it('falls back to JSON without pino-pretty: silently on a terminal, with one warning when pretty was asked for', () => {
    const auto = logWith({}, 'undefined, undefined, true', withoutPretty);
    expect(auto.map((l) => JSON.parse(l).msg)).toEqual(['hello there']);
    const asked = logWith({ LOG_FORMAT: 'pretty' }, '', withoutPretty);
    expect(asked.map((l) => JSON.parse(l).msg)).toEqual([expect.stringMatching(/needs the pino-pretty package/), 'hello there']);
  });

  it('says once that an unknown LOG_FORMAT was ignored', () => {
    const lines = logWith({ LOG_FORMAT: 'xml' });
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual([expect.stringMatching(/LOG_FORMAT must be json or pretty/), 'hello there']);
  });
});
