import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUILTIN_TEMPLATE_DIR, TemplateEngine } from '../src/templates/engine';
import { recordingFiles, replayedFiles } from '../src/templates/template-files';
import { relativeTime } from '../src/templates/helpers';
import { parsePantherPayload } from '../src/sources/panther';
import { buildView } from '../src/destinations/view';
import { hostileStrings } from './helpers/fixtures';
import { parseAwsDateTime } from '../src/domain/aws-datetime';
import { fitDiscordMessage } from '../src/templates/fit-discord';
import { fitSlackMessage } from '../src/templates/fit-slack';
import { fitsButton, isoDate } from '../src/templates/helpers';
import { formatInstant } from '../src/templates/presentation';
import fc from 'fast-check';
import { discordLimitViolations, slackLimitViolations } from './helpers/limit-violations';

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
    expect(result.templateError).toBe(true);
    // The fallback is visible in the message itself, not only in a log.
    expect(JSON.stringify(result.value)).toContain('Template error');
    expect(result.value).toHaveProperty('blocks');
  });

  it('an engine on replayed files compiles what the recorded engine read, whatever the directory holds since', () => {
    const dir = userDir({ 'mine.slack.hbs': '{ "text": "MINE {{alert.title}}" }', 'partials/p.hbs': 'P', 'nested/discord.hbs': '{ "content": "N" }' });
    const recorded = recordingFiles();
    const first = new TemplateEngine(dir, BUILTIN_TEMPLATE_DIR, recorded);
    // Edited with a typo and a file added after the first engine read them (a delivery thread restarted later).
    writeFileSync(path.join(dir, 'mine.slack.hbs'), '{ "text": "{{#if x}}" }');
    writeFileSync(path.join(dir, 'late.slack.hbs'), '{ "text": "LATE" }');
    const replayed = new TemplateEngine(dir, BUILTIN_TEMPLATE_DIR, replayedFiles(structuredClone(recorded.snapshot())));
    expect(replayed.problems).toEqual([]);
    expect(replayed.names('slack').sort()).toEqual(first.names('slack').sort());
    expect(replayed.has('nested', 'discord')).toBe(true);
    expect(replayed.render(['mine'], 'slack', view()).value).toEqual(first.render(['mine'], 'slack', view()).value);
    // The disk's own engine sees the edit: only the replay is pinned.
    expect(new TemplateEngine(dir).problems).toHaveLength(1);
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

  it('records every raw output with its position, ignoring comments', () => {
    const user = new TemplateEngine(userDir({ 'r.slack.hbs': '{{!-- {{{not this}}} --}}\n{ "text": "{{#if x}}{{{alert.title}}}{{/if}}" }' }));
    expect(user.rawUses).toEqual([{ file: expect.stringContaining('r.slack.hbs'), line: 2, column: 21 }]);
  });

  it('links only to the alert\'s own hosts, in each platform\'s syntax, and offers comparisons and bounded JSON text', () => {
    const user = new TemplateEngine(
      userDir({
        'h.slack.hbs': '{ "a": "{{link alert.link "Open <it>"}}", "b": "{{link alert.context.evil "click"}}", "c": {{url alert.context.evil}}, "d": "{{#if (severityAtLeast alert.severity \'MEDIUM\')}}yes{{/if}}{{#if (gt 3 2)}}!{{/if}}", "e": "{{jsonText alert.context 20}}" }',
        'h.discord.hbs': '{ "a": "{{link alert.link "Open [it]"}}", "b": "{{link alert.context.evil}}" }',
      }),
    );
    const v = view({ alertContext: { evil: 'https://evil.example/login' } });
    expect(user.render(['h'], 'slack', v).value).toEqual({
      a: '<https://acme.example/alerts/1?a=1&amp;b=2|Open &lt;it&gt;>',
      b: 'hxxps://evil[.]example/login',
      c: null,
      d: 'yes!',
      e: '{\n  "evil": "https:…',
    });
    expect(user.render(['h'], 'discord', v).value).toEqual({ a: '[Open \\[it\\]](https://acme.example/alerts/1?a=1&b=2)', b: 'hxxps://evil\\[.]example/login' });
  });

  it('links nothing when the view has no alert: {{url}} is null and {{link}} is plain text (fails closed)', () => {
    const user = new TemplateEngine(
      userDir({
        'h.slack.hbs': '{ "u": {{url x}}, "l": "{{link x "open"}}" }',
        'h.discord.hbs': '{ "u": {{url x}}, "l": "{{link x "open"}}" }',
      }),
    );
    const url = 'https://acme.example/alerts/1';
    for (const target of ['slack', 'discord'] as const) {
      // The same template links the URL when the view's alert lives on that host (the control case).
      const withAlert = user.render(['h'], target, { ...view(), x: url }).value;
      expect(withAlert.u).toBe(url);
      expect(withAlert.l).toMatch(target === 'slack' ? /^<https:\/\/acme\.example\/alerts\/1\|open>$/ : /^\[open\]\(https:\/\/acme\.example\/alerts\/1\)$/);
      const without = user.render(['h'], target, { x: url });
      expect(without.templateError).toBeUndefined();
      expect(without.value.u).toBeNull();
      expect(without.value.l).not.toMatch(/<https?:|\]\(/);
      expect(without.value.l).not.toContain('open');
    }
  });

  it('formats relative times', () => {
    expect(relativeTime(0, 180_000)).toBe('3 minutes ago');
    expect(relativeTime(7_200_000, 0)).toBe('in 2 hours');
    expect(relativeTime(1000, 1000)).toBe('now');
  });

  it('does not expose prototypes to templates', () => {
    const user = new TemplateEngine(userDir({ 'proto.console.hbs': '{ "x": "{{alert.constructor.name}}{{lookup alert \'__proto__\'}}" }' }));
    expect(user.render(['proto'], 'console', view()).value).toEqual({ x: '' });
  });
});

describe('links, runbooks and dates in the shipped templates', () => {
  const engine = new TemplateEngine(undefined);
  type Obj = Record<string, unknown>;
  const objects = (v: unknown): Obj[] =>
    Array.isArray(v) ? v.flatMap(objects) : v && typeof v === 'object' ? [v as Obj, ...Object.values(v).flatMap(objects)] : [];
  const slack = (template: string, overrides: Record<string, unknown>) => {
    const rendered = engine.render([template], 'slack', view(overrides));
    const fitted = fitSlackMessage(rendered.value);
    expect(slackLimitViolations(fitted.body)).toEqual([]);
    return { ...fitted, buttons: objects(fitted.body.blocks).filter((o) => o.type === 'button') };
  };
  const discord = (template: string, overrides: Record<string, unknown>) => {
    const rendered = engine.render([template], 'discord', view(overrides));
    const fitted = fitDiscordMessage(rendered.value, { allowInteractive: true });
    expect(discordLimitViolations(fitted.body)).toEqual([]);
    const embed = (fitted.body.embeds as Obj[])[0]!;
    const buttons = ((fitted.body.components as Obj[] | undefined) ?? []).flatMap((row) => row.components as Obj[]);
    return { ...fitted, rendered: rendered.value, embed, fields: (embed.fields as Obj[] | undefined) ?? [], buttons };
  };
  const TEMPLATES = ['default', 'compact'];
  const longUrl = (length: number) => {
    const head = 'https://acme.example/alerts/';
    return head + 'a'.repeat(length - head.length);
  };

  describe.each(TEMPLATES)('%s template', (template) => {
    it.each([
      'https://domain.runpanther.net',
      ' https://acme.example/alerts/1 ',
      'https:acme.example/alerts/1',
      'https://acme.example/a b',
      'HTTP:\\\\acme.example\\x',
      'https://acme.example/x<y>',
      longUrl(512),
    ])('gives every accepted link (%j) a button on Slack and Discord', (link) => {
      const { link: stored } = alert({ link });
      const expected = stored.replace(/</g, '%3C').replace(/>/g, '%3E');
      const s = slack(template, { link });
      expect(s.buttons.map((b) => b.url)).toContain(expected);
      expect(s.warnings.filter((w) => /dropped/.test(w))).toEqual([]);
      const d = discord(template, { link });
      expect(d.buttons.map((b) => b.url)).toContain(expected);
      expect(d.warnings.filter((w) => /dropped|removed/.test(w))).toEqual([]);
      if (link === 'https://domain.runpanther.net') expect(d.buttons[0]!.url).toBe('https://domain.runpanther.net');
    });

    it('shows a link too long for a Discord button (>512) as a Link field instead, and keeps the Slack button', () => {
      const link = longUrl(513);
      const d = discord(template, { link });
      expect(d.buttons.filter((b) => String(b.label).startsWith('View in'))).toEqual([]);
      expect(d.fields).toContainEqual({ name: 'Link', value: link, inline: false });
      expect(d.embed.url).toBe(link);
      expect(d.warnings.filter((w) => /dropped|removed/.test(w))).toEqual([]);
      expect(slack(template, { link }).buttons.map((b) => b.url)).toEqual([link]);
    });

    it('shows a link too long for any button (>3000) as text on Slack and Discord, and drops the Discord embed url (>2048)', () => {
      const link = longUrl(3001);
      const s = slack(template, { link });
      expect(s.buttons).toEqual([]);
      const linkSection = objects(s.body.blocks).find((o) => typeof o.text === 'string' && o.text.startsWith('*Link*\n'));
      expect(String(linkSection?.text)).toContain(link.slice(0, 2000));
      expect(s.warnings.filter((w) => /button|dropped/.test(w))).toEqual([]);
      const d = discord(template, { link });
      expect(d.buttons).toEqual([]);
      expect(d.body.components).toBeUndefined();
      expect(d.embed.url).toBeUndefined();
      expect(d.warnings.join('\n')).toMatch(/url removed: not an http\(s\) URL of at most 2048/);
      const field = d.fields.find((f) => f.name === 'Link');
      expect(String(field?.value)).toContain(link.slice(0, 900));
    });

    it('omits the embed timestamp for instants outside years 1-9999, and still renders a sane date', () => {
      for (const [createdAt, shown] of [
        ['0000-01-01T00:00:00Z', '0000-01-01 00:00:00 UTC'],
        ['9999-12-31T23:59:59-23:59', '+010000-01-01 23:58:59 UTC'],
      ] as const) {
        const d = discord(template, { createdAt });
        expect((d.rendered.embeds as Obj[])[0]).not.toHaveProperty('timestamp');
        expect(d.embed).not.toHaveProperty('timestamp');
        expect(d.warnings).toEqual([]);
        if (template === 'default') expect(d.fields).toContainEqual({ name: 'Created', value: shown, inline: true });
      }
      const first = discord(template, { createdAt: '0001-01-01T00:00:00Z' });
      expect(first.embed.timestamp).toBe('0001-01-01T00:00:00.000Z');
      if (template === 'default') expect(first.fields).toContainEqual({ name: 'Created', value: '0001-01-01 00:00:00 UTC', inline: true });
      expect(discord(template, { createdAt: '9999-12-31T23:59:59Z' }).embed.timestamp).toBe('9999-12-31T23:59:59.000Z');
    });
  });

  it.each([
    [513, 'discord'],
    [3001, 'slack'],
  ] as const)('shows a runbook URL of %d characters as a Runbook field/section on %s instead of losing it', (length, target) => {
    const runbook = longUrl(length);
    if (target === 'discord') {
      const d = discord('default', { runbook });
      expect(d.buttons.map((b) => b.label)).toEqual(['View in Panther']);
      expect(d.fields).toContainEqual({ name: 'Runbook', value: runbook, inline: false });
    } else {
      const s = slack('default', { runbook });
      expect(s.buttons.map((b) => b.action_id)).toEqual(['view_alert']);
      const section = objects(s.body.blocks).find((o) => typeof o.text === 'string' && o.text.startsWith('*Runbook*\n'));
      expect(String(section?.text)).toContain(runbook.slice(0, 2000));
    }
  });

  it('keeps a runbook URL that fits as a button and not as text', () => {
    const runbook = longUrl(512);
    const d = discord('default', { runbook });
    expect(d.buttons.map((b) => b.url)).toEqual(['https://acme.example/alerts/1?a=1&b=2', runbook]);
    expect(d.fields.map((f) => f.name)).not.toContain('Runbook');
    const s = slack('default', { runbook: longUrl(3000) });
    expect(s.buttons.map((b) => b.action_id)).toEqual(['view_alert', 'open_runbook']);
    expect(JSON.stringify(s.body)).not.toContain('*Runbook*');
  });

  it('sends no empty action row when neither link nor runbook fits a Discord button', () => {
    const d = discord('default', { link: longUrl(600), runbook: longUrl(700) });
    expect(d.rendered).not.toHaveProperty('components');
    expect(d.fields.filter((f) => f.name === 'Link' || f.name === 'Runbook').map((f) => f.name)).toEqual(['Runbook', 'Link']);
    expect(d.warnings).toEqual([]);
  });

  it('escapes a link shown as text for the platform', () => {
    const link = `${longUrl(3001)}<!channel>@everyone`;
    expect(JSON.stringify(slack('default', { link }).body)).not.toMatch(/<!channel>/);
    const field = discord('default', { link: `${longUrl(600)}@everyone` }).fields.find((f) => f.name === 'Link');
    expect(field?.value).toBe(`${longUrl(600)}@\u200beveryone`);
  });

  it('formatDate writes four-digit years and falls back to UTC when the zone moves the date out of range', () => {
    const user = new TemplateEngine(userDir({ 'd.console.hbs': '{ "utc": "{{formatDate alert.createdAtMs}}", "ny": "{{formatDate alert.createdAtMs "America/New_York"}}" }' }));
    const render = (createdAt: string) => user.render(['d'], 'console', view({ createdAt })).value;
    expect(render('0999-06-01T12:00:00Z')).toEqual({ utc: '0999-06-01 12:00:00 UTC', ny: expect.stringMatching(/^0999-06-01 07:\d\d:\d\d GMT/) });
    expect(render('0001-01-01T00:00:00Z')).toEqual({ utc: '0001-01-01 00:00:00 UTC', ny: '0001-01-01 00:00:00 UTC' });
    expect(render('9999-12-31T23:59:59+05:00')).toEqual({ utc: '9999-12-31 18:59:59 UTC', ny: '9999-12-31 13:59:59 EST' });
    expect(render('2024-01-02T03:04:05Z')).toEqual({ utc: '2024-01-02 03:04:05 UTC', ny: '2024-01-01 22:04:05 EST' });
  });
});

describe('formatInstant', () => {
  it('writes UTC instants as Intl does (UTC is written without Intl; Etc/UTC still goes through it)', () => {
    const min = Date.UTC(1000, 0, 1);
    const max = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
    fc.assert(
      fc.property(fc.integer({ min, max }), (ms) => {
        expect(formatInstant(ms, 'UTC')).toBe(formatInstant(ms, 'Etc/UTC'));
      }),
      { numRuns: 5000 },
    );
    for (const ms of [min, max, 0, Date.UTC(2024, 1, 29, 23, 59, 59, 999)]) expect(formatInstant(ms, 'UTC')).toBe(formatInstant(ms, 'Etc/UTC'));
    expect(formatInstant(Date.UTC(2024, 0, 2, 3, 4, 5), 'UTC')).toBe('2024-01-02 03:04:05 UTC');
  });
});

describe('fitsButton and isoDate', () => {
  it('fitsButton: http(s) only, ≤512 for Discord, ≤3000 for Slack, counting <> as encoded, any length for console', () => {
    const url = (n: number) => `https://x.example/${'a'.repeat(n - 18)}`;
    expect(url(512)).toHaveLength(512);
    expect([fitsButton(url(512), 'discord'), fitsButton(url(513), 'discord')]).toEqual([true, false]);
    expect([fitsButton(url(3000), 'slack'), fitsButton(url(3001), 'slack')]).toEqual([true, false]);
    expect(fitsButton(url(100_000), 'console')).toBe(true);
    expect(fitsButton(`${url(510)}<`, 'discord')).toBe(false); // becomes %3C: 513 characters
    for (const target of ['slack', 'discord', 'console'] as const) {
      for (const bad of ['javascript:alert(1)', 'https:x.example', ' https://x.example', '', null, 5]) expect(fitsButton(bad, target)).toBe(false);
    }
  });

  it('isoDate returns the ISO form only for years 0001-9999', () => {
    expect(isoDate(Date.UTC(2024, 0, 2, 3, 4, 5))).toBe('2024-01-02T03:04:05.000Z');
    expect(isoDate(parseAwsDateTime('0001-01-01T00:00:00Z'))).toBe('0001-01-01T00:00:00.000Z');
    expect(isoDate(parseAwsDateTime('9999-12-31T23:59:59.999Z'))).toBe('9999-12-31T23:59:59.999Z');
    for (const t of ['0000-01-01T00:00:00Z', '0000-12-31T23:59:59Z', '0001-01-01T00:00:00+00:01', '9999-12-31T23:59:59-23:59']) {
      expect(isoDate(parseAwsDateTime(t))).toBe('');
    }
    for (const v of [NaN, Infinity, 8.64e15 + 1, '2024-01-01', null, undefined]) expect(isoDate(v)).toBe('');
  });
});
