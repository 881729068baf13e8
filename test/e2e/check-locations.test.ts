/**
 * `chatops-bridge check` puts every template error at `file:line:column: message` (1-based), whatever form
 * Handlebars raised it in: parse and lexical errors, block and path exceptions, the compile step, helpers and
 * partials that do not exist, and output that is not a JSON object. One broken template per form, one run.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'main.js');

/** [file, source, expected `line:column: message` (the message's start)] */
const BROKEN: [string, string, string][] = [
  ['parse.slack.hbs', '{\n  "text": "{{#if alert.title}}x{{/if}",\n}\n', "2:37: Parse error: Expecting 'CLOSE_RAW_BLOCK'"],
  ['unclosed.slack.hbs', '{\n  "text": "{{#if alert.title}}x"\n}\n', "4:1: Parse error: Expecting 'OPEN_INVERSE_CHAIN', 'INVERSE', 'OPEN_ENDBLOCK', got 'EOF'"],
  ['lexical.slack.hbs', '{\n  "text": "{{!-- note }}"\n}\n', '2:12: Lexical error: Unrecognized text.'],
  ['mismatch.slack.hbs', '{\n  "blocks": [\n  {{#each alert.tags}}\n    "{{this}}"\n  {{/if}}\n  ]\n}\n', "3:6: each doesn't match if"],
  ['rawblock.slack.hbs', '{{{{raw}}}} x {{{{/rw}}}}\n', "1:5: raw doesn't match rw"],
  ['path.slack.hbs', '{\n  "text": "{{alert/this}}"\n}\n', '2:14: Invalid path: alert/this'],
  ['decorator.slack.hbs', '{{#*inline "x"}}a{{else}}b{{/inline}}\n{ "text": "x" }\n', '1:38: Unexpected inverse block on decorator'],
  ['partialargs.slack.hbs', '{\n  "text": "{{> quoted alert alert}}"\n}\n', '2:12: Unsupported number of partial arguments: 2'],
  ['helper.discord.hbs', '{\n  "content": "{{shout alert.title}}"\n}\n', '2:17: unknown helper "shout"'],
  ['partial.discord.hbs', '{\n  "content": "{{> missing}}"\n}\n', '2:15: unknown partial "missing"'],
  ['lookup.discord.hbs', '{\n  "content": "{{lookup}}"\n}\n', '2:15: template "lookup" (discord) fails on sample'],
  ['value.discord.hbs', '{\n  "content": {{alert.title}}\n}\n', '2:14: template "value" (discord) fails on sample'],
  ['comma.discord.hbs', '{\n  "content": "x"\n  "embeds": []\n}\n', '3:3: template "comma" (discord) fails on sample'],
  ['array.discord.hbs', '\n  [ "{{alert.title}}" ]\n', '2:3: template "array" (discord) fails on sample'],
  ['runtime.discord.hbs', '{\n  "content": "{{> (lookup alert "severity")}}"\n}\n', '2:15: template "runtime" (discord) fails on sample'],
];

let stderr = '';
let status: number | null = null;
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cb-check-locations-'));
  mkdirSync(path.join(dir, 'partials'));
  writeFileSync(path.join(dir, 'partials', 'quoted.hbs'), '"{{alert.title}}"');
  for (const [file, source] of BROKEN) writeFileSync(path.join(dir, file), source);
  // A route's template whose variant exists but does not compile.
  writeFileSync(path.join(dir, 'chosen.console.hbs'), '{{#if alert.title}}\n');
  const config = path.join(dir, 'c.yaml');
  writeFileSync(config, `templates: { dir: ${dir} }\ndestinations: { c: { type: console } }\nroutes: [{ name: r, to: [c], template: chosen }]\n`);
  const result = spawnSync(process.execPath, [MAIN, 'check', '--config', config], { cwd: ROOT, env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
  ({ stderr, status } = result);
});

describe('check locates every template error', () => {
  it('fails', () => expect(status).toBe(1));

  it.each(BROKEN)('%s', (file, _source, expected) => {
    const lines = stderr.split('\n').filter((line) => line.startsWith(`${path.join(dir, file)}:`));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]!.slice(path.join(dir, file).length + 1)).toMatch(new RegExp(`^${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });

  it('says what is wrong with the output, too', () => {
    expect(stderr).toMatch(/value\.discord\.hbs:2:14: .*template output is not valid JSON/);
    expect(stderr).toMatch(/array\.discord\.hbs:2:3: .*template output must be a JSON object/);
    expect(stderr).toMatch(/runtime\.discord\.hbs:2:15: .*The partial (CRITICAL|HIGH|MEDIUM|LOW|INFO) could not be found/);
    expect(stderr).toMatch(/lookup\.discord\.hbs:2:15: .*: lookup needs an object and a key/);
  });

  it('reports a failure once, naming the samples it happens on', () => {
    const lines = stderr.split('\n').filter((line) => line.includes('value.discord.hbs:2:14:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/fails on sample [\w.-]+\.json: .* \(\d+ more samples fail here too\)$/);
  });

  it('calls a variant that does not compile broken, not missing', () => {
    expect(stderr).toMatch(/chosen\.console\.hbs:\d+:\d+: /);
    expect(stderr).not.toMatch(/template "chosen" has no console variant/);
  });

  it('reports every error on one line (editors read one location per line)', () => {
    for (const line of stderr.split('\n').filter(Boolean)) expect(line).toMatch(/^(\/\S+\.hbs:\d+:\d+: |\S+ warning: )/);
  });
});
