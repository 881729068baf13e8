import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TemplateEngine } from '../src/templates/engine';
import { parsePantherPayload } from '../src/sources/panther';
import { buildView } from '../src/destinations/view';
import { hostileStrings } from './helpers/fixtures';

const alert = (overrides: Record<string, unknown> = {}) => {
  const parsed = parsePantherPayload({
    id: 'AWS.Root',
    createdAt: '2024-01-02T03:04:05Z',
    severity: 'HIGH',
    type: 'RULE',
    link: 'https://acme.example/alerts/1?a=1&b=2',
    title: 'Root login',
    ...overrides,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.alert;
};
const view = (overrides: Record<string, unknown> = {}) => buildView(alert(overrides), { route: 'r', deliveryKey: 'k' }, 'd');

function userDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cb-tpl-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

describe('TemplateEngine', () => {
  const engine = new TemplateEngine(undefined);

  it('ships loadable defaults for every target', () => {
    expect(engine.problems).toEqual([]);
    for (const target of ['slack', 'discord', 'console'] as const) expect(engine.has('default', target)).toBe(true);
  });

  it.each(Object.entries(hostileStrings()))('keeps JSON structure and escapes %s in every field', (_name, hostile) => {
    const v = view({ title: hostile, description: hostile, name: hostile, runbook: hostile, tags: [hostile], alertContext: { [hostile]: hostile } });
    const slack = JSON.stringify(engine.render(['default'], 'slack', v).value);
    expect(slack).not.toMatch(/<!(channel|here|everyone|subteam)|<@[UW]/);
    expect(engine.render(['default'], 'discord', v).value).toHaveProperty('embeds');
  });

  it('escapes for Slack and percent-encodes nothing but < > in URLs', () => {
    const value = engine.render(['default'], 'slack', view({ title: 'a & <b>' })).value as { text: string; blocks: { type: string; elements?: { url?: string }[] }[] };
    expect(value.text).toContain('a &amp; &lt;b&gt;');
    expect(value.blocks.find((b) => b.type === 'actions')!.elements![0]!.url).toBe('https://acme.example/alerts/1?a=1&b=2');
  });

  it('uses a user template by name, with partials and helpers, and falls back along the chain', () => {
    const dir = userDir({
      'page/slack.hbs': '{ "text": "{{> prefix}} {{upper alert.severity}} {{alert.title}}" }',
      'compact.discord.hbs': '{ "content": "{{severityWord alert.severity}}: {{alert.title}}" }',
      'partials/prefix.hbs': 'PAGE',
    });
    const user = new TemplateEngine(dir);
    expect(user.problems).toEqual([]);
    expect(user.render(['page'], 'slack', view({ title: '<!here>' })).value).toEqual({ text: 'PAGE HIGH &lt;!here&gt;' });
    const fallback = user.render(['page', 'compact', 'default'], 'discord', view());
    expect(fallback.template).toBe('compact');
    expect(fallback.value).toEqual({ content: 'High: Root login' });
    expect(fallback.warnings[0]).toContain('"page" has no discord variant');
  });

  it('falls back to the built-in default when a user template breaks at render time', () => {
    const user = new TemplateEngine(userDir({ 'default.slack.hbs': '{ "text": {{alert.title}} }' }));
    const result = user.render(['default'], 'slack', view());
    expect(result.template).toBe('default');
    expect(result.warnings[0]).toMatch(/failed .*not valid JSON/);
    expect(result.value).toHaveProperty('blocks');
  });

  it('reports syntax errors at load time', () => {
    const user = new TemplateEngine(userDir({ 'bad.slack.hbs': '{ "text": "{{#if x}}" }' }));
    expect(user.problems).toHaveLength(1);
    expect(user.problems[0]!.file).toContain('bad.slack.hbs');
  });

  it('keeps the raw form JSON-safe but unescaped for the platform, and tolerates trailing commas', () => {
    const user = new TemplateEngine(userDir({ 'raw.slack.hbs': '{ "text": "{{{alert.title}}}", "blocks": [ {"type":"divider"}, ], }' }));
    expect(user.render(['raw'], 'slack', view({ title: '<b> "q" \\' })).value).toEqual({ text: '<b> "q" \\', blocks: [{ type: 'divider' }] });
  });

  it('does not expose prototypes to templates', () => {
    const user = new TemplateEngine(userDir({ 'proto.console.hbs': '{ "x": "{{alert.constructor.name}}{{lookup alert \'__proto__\'}}" }' }));
    expect(user.render(['proto'], 'console', view()).value).toEqual({ x: '' });
  });
});
