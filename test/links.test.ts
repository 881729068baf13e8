/**
 * Links from alert content (issue 14 point 8): every URL-bearing key of Slack's and Discord's message formats is
 * host-checked wherever a template puts alert data into it, and URLs in alert text are defanged
 * (`hxxps://evil[.]example/x`) on both platforms unless a route opts out, while URLs the template author wrote and
 * links to the alert's own hosts keep working. Through the destinations' real `format()`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfigText } from '../src/config/load';
import { buildDestinations } from '../src/destinations/registry';
import { parsePantherPayload } from '../src/sources/panther';
import { sanitizeRendered } from '../src/templates/sanitize';
import { defangUrls, URL_KEYS } from '../src/templates/links';
import type { Alert } from '../src/domain/alert';
import type { FormatContext } from '../src/destinations/types';
import { EscapeTrace } from '../src/templates/escape-report';

const EVIL = 'https://evil.example/phish?a=1';
const OWN = 'https://acme.runpanther.net/alerts/1';

const alertWith = (overrides: Record<string, unknown> = {}): Alert => {
  const parsed = parsePantherPayload({
    id: 'AWS.Root',
    createdAt: '2024-01-02T03:04:05Z',
    severity: 'HIGH',
    type: 'RULE',
    link: OWN,
    title: 'Root login',
    runbook: 'https://wiki.example/runbooks/root',
    alertContext: { evil: EVIL, own: `${OWN}?tab=events` },
    ...overrides,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.alert;
};

function destinationsWith(templates: Record<string, string>) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cb-links-'));
  for (const [name, text] of Object.entries(templates)) writeFileSync(path.join(dir, name), text);
  const loaded = loadConfigText(
    `
slack: { token: xoxb-l }
discord: { token: l-token }
templates: { dir: "${dir}" }
destinations:
  s: { type: slack, channel: C0123456789 }
  d: { type: discord, channel: "112233445566778899" }
  h: { type: discord-webhook, url: "https://discord.com/api/webhooks/112233445566778899/${'a'.repeat(68)}" }
routes:
  - name: r
    to: [s, d, h]
`,
    {},
  );
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  const { destinations } = buildDestinations(loaded.config);
  return (destination: string, alert: Alert, ctx: Partial<FormatContext> = {}) =>
    destinations.get(destination)!.format(alert, { route: 'r', deliveryKey: 'k', ...ctx }) as { body: Record<string, unknown>; warnings: string[] };
}

/** Every string under a key named `key`, at any depth. */
const valuesOf = (node: unknown, key: string): unknown[] =>
  Array.isArray(node)
    ? node.flatMap((item) => valuesOf(item, key))
    : node !== null && typeof node === 'object'
      ? Object.entries(node).flatMap(([k, v]) => [...(k === key ? [v] : []), ...valuesOf(v, key)])
      : [];

describe('URL-bearing keys', () => {
  it.each([...URL_KEYS])('%s: a foreign URL from alert data is removed, one to the alert\'s own host kept, at any depth', (key) => {
    const rendered = { text: 'x', nested: [{ deeper: { [key]: EVIL } }, { [key]: `${OWN}/x` }, { [key]: 'https://ACME.runpanther.net/y' }] };
    for (const target of ['slack', 'discord'] as const) {
      const { value, warnings } = sanitizeRendered(rendered, { target, allowedHosts: ['acme.runpanther.net'], mentionMarkup: '' });
      const kept = valuesOf(value, key);
      // `url` stays as null so the fitters drop the button or embed link; other keys are optional and left out.
      expect(kept).toEqual([...(key === 'url' ? [null] : []), `${OWN}/x`, 'https://ACME.runpanther.net/y']);
      expect(warnings).toContain(`removed a ${key} to a foreign host`);
    }
  });

  const slackTemplate = JSON.stringify({
    text: 'Alert {{alert.title}}',
    icon_url: '{{{alert.context.evil}}}',
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: 'body' }, accessory: { type: 'image', image_url: '{{{alert.context.evil}}}', alt_text: 'a' } },
      { type: 'image', image_url: '{{{alert.context.evil}}}', alt_text: 'img' },
      { type: 'context', elements: [{ type: 'image', image_url: '{{{alert.context.evil}}}', alt_text: 'i' }, { type: 'mrkdwn', text: 'ctx' }] },
      { type: 'image', image_url: '{{{alert.context.own}}}', alt_text: 'own' },
    ],
    attachments: [
      {
        fallback: 'f',
        title: 'Attachment',
        title_link: '{{alert.context.evil}}',
        author_name: 'Author',
        author_link: '{{alert.context.evil}}',
        author_icon: '{{alert.context.evil}}',
        image_url: '{{alert.context.evil}}',
        thumb_url: '{{alert.context.evil}}',
        footer: 'Footer',
        footer_icon: '{{alert.context.evil}}',
      },
      { fallback: 'own', title: 'Own', title_link: '{{{alert.context.own}}}' },
    ],
  });
  const discordTemplate = JSON.stringify({
    embeds: [
      {
        title: 'Alert',
        url: '{{alert.context.evil}}',
        thumbnail: { url: '{{alert.context.evil}}' },
        image: { url: '{{alert.context.evil}}' },
        video: { url: '{{alert.context.evil}}' },
        author: { name: 'Author', url: '{{alert.context.evil}}', icon_url: '{{alert.context.evil}}' },
        footer: { text: 'Footer', icon_url: '{{alert.context.evil}}' },
      },
      { title: 'Own', url: '{{{alert.context.own}}}', thumbnail: { url: '{{{alert.context.own}}}' } },
    ],
    avatar_url: '{{alert.context.evil}}',
    allowed_mentions: { parse: [] },
  });

  // defang: false isolates the key check (with defang on, the foreign value is not even a URL any more).
  it.each([true, false])('a user template filling Slack URL keys from alert data sends none of them (defang %s)', (defang) => {
    const format = destinationsWith({ 'links.slack.hbs': slackTemplate });
    const { body, warnings } = format('s', alertWith(), { template: 'links', defang });
    const sent = JSON.stringify(body);
    expect(sent).not.toContain('evil');
    for (const key of ['icon_url', 'title_link', 'author_link', 'author_icon', 'thumb_url', 'footer_icon']) expect(valuesOf(body, key)).toEqual(key === 'title_link' ? [`${OWN}?tab=events`] : []);
    // Images whose source was removed are dropped (Slack refuses an image without one); the own-host one stays.
    expect(valuesOf(body, 'image_url')).toEqual([`${OWN}?tab=events`]);
    expect((body.blocks as { type: string }[]).map((b) => b.type)).toEqual(['section', 'context', 'image']);
    expect(warnings.join('\n')).toMatch(/removed a title_link to a foreign host/);
  });

  it.each([
    ['d', true],
    ['d', false],
    ['h', false],
  ])('a user template filling Discord URL keys from alert data sends none of them (%s, defang %s)', (destination, defang) => {
    const format = destinationsWith({ 'links.discord.hbs': discordTemplate });
    const { body } = format(destination, alertWith(), { template: 'links', defang });
    expect(JSON.stringify(body)).not.toContain('evil');
    const [first, own] = body.embeds as Record<string, any>[];
    expect(first).toMatchObject({ title: 'Alert', author: { name: 'Author' }, footer: { text: 'Footer' } });
    for (const key of ['url', 'thumbnail', 'image', 'video']) expect(first![key]).toBeUndefined();
    expect(own).toMatchObject({ url: `${OWN}?tab=events`, thumbnail: { url: `${OWN}?tab=events` } });
    expect(body.avatar_url).toBeUndefined();
  });
});

describe('defanging URLs in alert text', () => {
  it.each([
    ['https://evil.example/x', 'hxxps://evil[.]example/x'],
    ['http://evil.example', 'hxxp://evil[.]example'],
    ['HTTPS://EVIL.EXAMPLE/X', 'HXXPS://EVIL[.]EXAMPLE/X'],
    ['see https://a.b.evil.example:8443/p?q=1#f now', 'see hxxps://a[.]b[.]evil[.]example:8443/p?q=1#f now'],
    ['https://acme.runpanther.net@evil.example/x', 'hxxps://acme[.]runpanther[.]net@evil[.]example/x'],
    ['http://203.0.113.7/beacon', 'hxxp://203[.]0[.]113[.]7/beacon'],
    ['two: https://x.example and http://y.example', 'two: hxxps://x[.]example and hxxp://y[.]example'],
    ['xhttps://evil.example', 'xhxxps://evil[.]example'],
    ['https://acme.runpanther.net/alerts/1 stays', 'https://acme.runpanther.net/alerts/1 stays'],
    ['https://ACME.runpanther.net/other stays', 'https://ACME.runpanther.net/other stays'],
    ['https://acme.runpanther.net:8443/ other port', 'hxxps://acme[.]runpanther[.]net:8443/ other port'],
    ['no url, evil.example, hxxps://done[.]example', 'no url, evil.example, hxxps://done[.]example'],
  ])('%j → %j', (text, expected) => {
    expect(defangUrls(text, new Set(['acme.runpanther.net']))).toBe(expected);
  });

  const alert = alertWith({
    title: 'Beacon to https://evil.example/c2 from 203.0.113.7',
    description: `Payload fetched from ${EVIL}; details on ${OWN}?tab=events`,
  });
  const LIVE = /https:\/\/evil\.example/;

  it('Slack: the default template defangs alert text, facts and the title; the alert\'s own links and buttons work', () => {
    const { body } = destinationsWith({})('s', alert);
    const sent = JSON.stringify(body);
    expect(sent).not.toMatch(LIVE);
    expect(sent).toContain('Beacon to hxxps://evil[.]example/c2');
    expect(sent).toContain('hxxps://evil[.]example/phish?a=1'); // the context fact
    expect(sent).toContain(`details on ${OWN}?tab=events`);
    const buttons = valuesOf(body.blocks, 'url');
    expect(buttons).toEqual([OWN, 'https://wiki.example/runbooks/root']);
  });

  it('Discord (bot and webhook): the same, with markdown escaping on top', () => {
    const format = destinationsWith({});
    for (const destination of ['d', 'h']) {
      const { body } = format(destination, alert);
      const sent = JSON.stringify(body);
      expect(sent).not.toMatch(LIVE);
      expect(sent).toContain('Beacon to hxxps://evil\\\\[.]example/c2');
      expect(sent).toContain(`details on ${OWN}?tab=events`);
      expect((body.embeds as Record<string, unknown>[])[0]!.url).toBe(OWN);
      expect(valuesOf(body.components, 'url')).toEqual([OWN, 'https://wiki.example/runbooks/root']);
    }
  });

  it('covers raw {{{value}}}, JSON output and link labels; leaves URLs the template author wrote live', () => {
    const format = destinationsWith({
      'raw.slack.hbs': '{ "text": "{{{alert.description}}} · {{link alert.link alert.title}} · {{link alert.context.evil}} · runbook: https://wiki.example/howto", "blocks": [ { "type": "section", "text": { "type": "mrkdwn", "text": {{json alert.context.evil}} } } ] }',
      'raw.discord.hbs': '{ "content": "{{{alert.description}}} · {{link alert.link alert.title}} · see https://wiki.example/howto", "allowed_mentions": { "parse": [] } }',
    });
    const slack = format('s', alert, { template: 'raw' }).body;
    expect(JSON.stringify(slack)).not.toMatch(LIVE);
    expect(slack.text).toContain('Payload fetched from hxxps://evil[.]example/phish?a=1');
    // {{link}} to the alert's own host is a live link whose label (alert text) is defanged.
    expect(slack.text).toContain(`<${OWN}|Beacon to hxxps://evil[.]example/c2 from 203.0.113.7>`);
    expect(slack.text).toContain('· hxxps://evil[.]example/phish?a=1 ·');
    expect(slack.text).toContain('runbook: https://wiki.example/howto');
    expect((slack.blocks as { text: { text: string } }[])[0]!.text.text).toBe('hxxps://evil[.]example/phish?a=1');
    const discord = format('d', alert, { template: 'raw' }).body;
    expect(discord.content).toContain('Payload fetched from hxxps://evil[.]example/phish?a=1');
    expect(discord.content).toContain('see https://wiki.example/howto');
    expect(String(discord.content)).not.toMatch(LIVE);
  });

  it('a route with defang: false keeps alert URLs live (and foreign URL keys still removed)', () => {
    const format = destinationsWith({});
    const slack = JSON.stringify(format('s', alert, { defang: false }).body);
    expect(slack).toContain('Beacon to https://evil.example/c2');
    expect(slack).toContain('https://evil.example/phish?a=1');
    for (const destination of ['d', 'h']) expect(JSON.stringify(format(destination, alert, { defang: false }).body)).toContain('Beacon to https://evil.example/c2');
  });

  it('the console preview notes what was defanged', () => {
    const trace = new EscapeTrace();
    destinationsWith({})('s', alert, { trace });
    expect([...trace.notes].join('\n')).toMatch(/defanged a link to a foreign host in alert text \("https:\/\/evil\.example/);
  });

  it('the console destination shows URLs as they are (nothing there is clickable)', () => {
    const loaded = loadConfigText('destinations: { c: { type: console } }\nroutes: [{ name: r, to: [c] }]\n', {});
    if (!loaded.ok) throw new Error('config');
    const { destinations } = buildDestinations(loaded.config);
    expect(JSON.stringify(destinations.get('c')!.format(alert, { route: 'r', deliveryKey: 'k' }).body)).toContain('Beacon to https://evil.example/c2');
  });
});
