/**
 * The Components V2 layout (`layout: v2`): what the shipped templates become, checked with the fake Discord's
 * independent validator (Discord's documented V2 rules), against the embed layout of the same alert (colour,
 * buttons, text), with hostile alert text (limits, no pings), the route's mentions (exactly those ping), the triage
 * part, edits that keep the posted layout, and the V2 fitter on bodies no template produces.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfigText } from '../src/config/load';
import { templateProblems } from '../src/rendering/template-check';
import { createFormatters } from '../src/destinations/registry';
import type { FormatContext, Formatter } from '../src/destinations/types';
import { parsePantherPayload } from '../src/sources/panther';
import { foldTriage, OPEN_VIEW } from '../src/triage/state';
import { RESOLVED_COLOR } from '../src/triage/render';
import { fitDiscordV2Message, countComponents } from '../src/templates/fit-discord-v2';
import { layOutDiscordV2 } from '../src/templates/discord-v2-layout';
import { postedRef } from '../src/destinations/discord-format';
import { validateDiscordMessage } from './helpers/fake-discord';
import { textDisplays } from './helpers/fake-discord-components';
import { makeAlertPayload } from './helpers/fixtures';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;
const HOOK = `https://discord.com/api/webhooks/112233445566778899/${'a'.repeat(68)}`;
const loaded = loadConfigText(
  `
discord: { token: t, publicKey: "${'ab'.repeat(32)}" }
destinations:
  bot: { type: discord, channel: "112233445566778899" }
  bot-v2: { type: discord, channel: "112233445566778899", layout: v2 }
  hook-v2: { type: discord-webhook, url: "${HOOK}", layout: v2 }
  compact-v2: { type: discord, channel: "112233445566778899", layout: v2, template: compact }
routes: [{ name: r, to: [bot, bot-v2, hook-v2, compact-v2] }]
`,
  {},
);
if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
const formatters = createFormatters(loaded.config);
const get = (name: string): Formatter => formatters.get(name)!;

function alertOf(overrides: Obj = {}) {
  const parsed = parsePantherPayload(makeAlertPayload({ createdAt: '2026-12-01T10:00:00Z', ...overrides }));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.alert;
}
const triage = (deliveryId = 7): Pick<FormatContext, 'triage'> => ({ triage: { deliveryId, revision: 0, view: OPEN_VIEW, buttons: ['acknowledge', 'resolve', 'assign'] } });
const format = (name: string, alert = alertOf(), ctx: Partial<FormatContext> = {}) => get(name).format(alert, { route: 'r', deliveryKey: 'k', ...triage(), ...ctx }) as { body: Obj; warnings: string[] };
/** The fake Discord's verdict on a body sent by the bot (or, for `hook`, a plain webhook with with_components=true). */
const problems = (body: Obj, hook = false) => validateDiscordMessage(body, { webhook: hook, withComponents: true });
const all = (components: unknown): Obj[] => (Array.isArray(components) ? components.flatMap((c: Obj) => [c, ...all(c.components), ...(c.accessory ? [c.accessory] : [])]) : []);
const texts = (body: Obj) => textDisplays(body.components);

describe('layout: v2 with the shipped templates', () => {
  it('is a valid V2 message: the flag, no content or embeds, a container in the embed colour, the link button beside the title', () => {
    const alert = alertOf();
    const embed = format('bot', alert).body;
    const { body, warnings } = format('bot-v2', alert);
    expect(warnings).toEqual([]);
    expect(problems(body)).toEqual([]);
    expect(body.flags).toBe(1 << 15);
    expect(body).not.toHaveProperty('content');
    expect(body).not.toHaveProperty('embeds');
    const container = body.components.find((c: Obj) => c.type === 17);
    expect(container.accent_color).toBe(embed.embeds[0].color);
    const section = container.components[0];
    expect(section).toMatchObject({ type: 9, components: [{ type: 10, content: `### ${embed.embeds[0].title}` }] });
    const linkButton = embed.components[1].components[0];
    expect(section.accessory).toEqual(linkButton);
    expect(all(body.components).filter((c) => c.type === 14).length).toBeGreaterThan(0);
    // Every field of the embed, the description and the footer are in the text displays.
    const shown = texts(body).join('\n');
    for (const field of embed.embeds[0].fields) expect(shown).toContain(`**${field.name}`);
    expect(shown).toContain(embed.embeds[0].description);
    expect(shown).toContain(embed.embeds[0].footer.text);
    expect(shown).toMatch(/<t:\d+:f>/);
    // Triage buttons and the remaining link button (Runbook) are inside the container, after the text.
    const rows = container.components.filter((c: Obj) => c.type === 1);
    expect(rows.map((r: Obj) => r.components.map((b: Obj) => b.custom_id ?? b.label))).toEqual([['cb:acknowledge:7', 'cb:resolve:7', 'cb:assign:7'], ['Runbook']]);
    expect(body.nonce).toBe('k');
    expect(body.allowed_mentions).toEqual({ parse: [] });
  });

  it('sends a plain webhook only link buttons, and the compact template works unchanged', () => {
    const hook = format('hook-v2').body;
    expect(problems(hook, true)).toEqual([]);
    expect(hook.flags).toBe(1 << 15);
    expect(all(hook.components).filter((c) => c.type === 2).every((b) => b.style === 5)).toBe(true);
    const compact = format('compact-v2').body;
    expect(problems(compact)).toEqual([]);
    expect(compact.components[0].components[0]).toMatchObject({ type: 9, accessory: { style: 5, label: 'View in Panther' } });
  });

  it('puts the route mentions in a text display above the container, pinging exactly them', () => {
    const { body } = format('bot-v2', alertOf(), { mentions: { discord: { roles: ['223344556677889900'], users: ['334455667788990011'] } } });
    expect(body.components[0]).toEqual({ type: 10, content: '<@&223344556677889900> <@334455667788990011>' });
    expect(body.allowed_mentions).toEqual({ parse: [], roles: ['223344556677889900'], users: ['334455667788990011'] });
    expect(problems(body)).toEqual([expect.stringMatching(/^components: would ping: (?=.*<@&223344556677889900>)(?=.*<@334455667788990011>)[^,]*, [^,]*$/)]);
  });

  it('keeps a hostile alert within the V2 limits, pinging no one', () => {
    const huge = (s: string) => `${s} `.repeat(400);
    const alert = alertOf({
      title: `@everyone <@123456789012345678> ${huge('[bank](https://evil.example/x)')}`,
      description: huge('@here <@&223344556677889900> https://evil.example/steal'),
      alertContext: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, huge(`<@${i}> @everyone`)])),
      tags: Array.from({ length: 40 }, (_, i) => `tag-${i}-@everyone`),
    });
    for (const name of ['bot-v2', 'hook-v2']) {
      const { body, warnings } = format(name, alert);
      expect([name, problems(body, name === 'hook-v2')]).toEqual([name, []]);
      const total = texts(body).reduce((n, t) => n + t.length, 0);
      expect(total).toBeLessThanOrEqual(4000);
      expect(body.components.reduce((n: number, c: Obj) => n + countComponents(c), 0)).toBeLessThanOrEqual(40);
      expect(warnings.join('\n')).toMatch(/truncated from \d+ to \d+ characters to fit the 4000-character text display total/);
      expect(texts(body).join('\n')).toContain('… (truncated)');
      for (const text of texts(body)) {
        expect(text).not.toMatch(/@(everyone|here)/);
        expect(text).not.toMatch(/<@[!&]?\d/);
        expect(text).not.toMatch(/(^|[^\\])\[[^\]]*\]\(https?:/);
      }
      expect(body.allowed_mentions).toEqual({ parse: [] });
    }
  });

  it('shows the triage state and colour of a resolved alert, and drops answered buttons', () => {
    const view = foldTriage([{ seq: 1, action: 'resolve', actor: { platform: 'discord', id: '1', name: 'bob' }, at: Date.UTC(2026, 11, 1, 14, 2) }]);
    const { body } = format('bot-v2', alertOf(), { triage: { deliveryId: 7, revision: 2, view, buttons: ['acknowledge', 'resolve', 'assign'] } });
    expect(problems(body)).toEqual([]);
    expect(texts(body).join('\n')).toMatch(/Resolved by @bob at 14:02 UTC/);
    expect(all(body.components).filter((c) => c.custom_id).map((c) => c.custom_id)).toEqual(['cb:assign:7']);
  });
});

describe('source resolution and digests', () => {
  it('turns the accent bar green when the source reports the alert resolved, as the embed turns green', () => {
    const view = { ...OPEN_VIEW, status: 'resolved' as const, sourceResolved: { at: Date.UTC(2026, 11, 1, 14, 2), source: 'Alertmanager' } };
    const { body } = format('bot-v2', alertOf(), { triage: { deliveryId: 7, revision: 1, view, buttons: [] } });
    expect(problems(body)).toEqual([]);
    expect(body.components.find((c: Obj) => c.type === 17).accent_color).toBe(RESOLVED_COLOR);
    expect(texts(body).join('\n')).toContain('Resolved at 14:02 UTC (by Alertmanager)');
  });

  it('posts a digest to a v2 destination as an embed (documented: digests stay embeds)', () => {
    const digest = get('bot-v2').formatDigest!({ counts: { HIGH: 2 }, top: [], openedAt: 0, now: 0 }).body as Obj;
    expect(digest.flags).toBeUndefined();
    expect(digest.embeds).toHaveLength(1);
  });
});

describe('check', () => {
  it("reports what the V2 layout must leave out of a template, only when a destination uses layout: v2", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cb-v2-check-'));
    const embed = '{ "title": "{{alert.title}}", "description": "d", "fields": [{ "name": "a", "value": "b" }] }';
    const row = `{ "type": 1, "components": [${Array.from({ length: 5 }, () => '{ "type": 2, "style": 5, "label": "L", "url": {{url alert.link}} }').join(', ')}] }`;
    writeFileSync(path.join(dir, 'many.discord.hbs'), `{ "embeds": [${Array(8).fill(embed).join(', ')}], "components": [${Array(5).fill(row).join(', ')}] }`);
    const config = (layout: string) => {
      const r = loadConfigText(`discord: { token: t }\ntemplates: { dir: "${dir}" }\ndestinations:\n  d: { type: discord, channel: "112233445566778899", template: many, layout: ${layout} }\nroutes: [{ name: r, to: [d] }]\n`, {});
      if (!r.ok) throw new Error(JSON.stringify(r.problems));
      return r.config;
    };
    const v2 = templateProblems(config('v2'));
    expect(v2.errors).toEqual([]);
    expect(v2.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/^template "many" \(discord, layout v2\) on sample [\w.-]+: components: \d+ removed to fit the limit of 40 components$/)]));
    expect(templateProblems(config('embed')).warnings.filter((w) => w.includes('layout v2'))).toEqual([]);
  });
});

describe('edits keep the layout the message was posted with', () => {
  it('renders V2 for a message posted as V2 and an embed for one posted as an embed, whatever the layout is now', () => {
    const asV2 = format('bot', alertOf(), { editing: { channelId: '1', messageId: '2', layout: 'v2' } }).body;
    expect(asV2.flags).toBe(1 << 15);
    expect(problems(asV2)).toEqual([]);
    const asEmbed = format('bot-v2', alertOf(), { editing: { channelId: '1', messageId: '2' } }).body;
    expect(asEmbed.flags).toBeUndefined();
    expect(asEmbed.embeds).toHaveLength(1);
  });
});

describe('the layout a send records', () => {
  it("is the posted message's (Discord's answer), not the body's: a nonce repeat is answered with the message posted first", () => {
    const ref = { channelId: '1', messageId: '2' };
    const v2Body = format('bot-v2').body;
    const embedBody = format('bot').body;
    expect(postedRef(v2Body, ref, { flags: 0 })).toEqual(ref);
    expect(postedRef(embedBody, ref, { flags: 1 << 15 })).toEqual({ ...ref, layout: 'v2' });
    // An answer without flags (none in it): the body sent says.
    expect(postedRef(v2Body, ref, {})).toEqual({ ...ref, layout: 'v2' });
    expect(postedRef(embedBody, ref)).toEqual(ref);
  });
});

describe('fitDiscordV2Message on bodies no template produces', () => {
  const td = (content: string): Obj => ({ type: 10, content });
  const ack = (id: string): Obj => ({ type: 2, style: 1, label: 'Ack', custom_id: id });
  const link = (url = 'https://acme.runpanther.net/a'): Obj => ({ type: 2, style: 5, label: 'Open', url });
  const fit = (body: Obj, allowInteractive = true) => fitDiscordV2Message(body, { allowInteractive }) as { body: Obj; warnings: string[] };

  it.each<[string, Obj, RegExp]>([
    ['content and embeds', { content: 'x', embeds: [{ title: 't' }], components: [td('a')] }, /content removed: a Components V2 message cannot carry it/],
    ['60 text displays', { components: Array.from({ length: 60 }, (_, i) => td(`t${i}`)) }, /removed to fit the limit of 40 components/],
    ['ten containers of text and buttons', { components: Array.from({ length: 10 }, (_, i) => ({ type: 17, components: [td(`c${i}`), td('x'), { type: 1, components: [ack(`a${i}`), link()] }] })) }, /removed to fit the limit of 40 components/],
    ['5,000-character text displays', { components: [td('x'.repeat(5000)), td('y'.repeat(3000))] }, /truncated from 4000 to \d+ characters to fit the 4000-character text display total/],
    ['a duplicate custom_id', { components: [{ type: 1, components: [ack('same'), ack('same')] }] }, /duplicate custom_id "same"/],
    ['a custom_id over 100', { components: [{ type: 1, components: [ack('c'.repeat(101))] }] }, /custom_id must be 1..100 characters/],
    ['a section without accessory', { components: [{ type: 9, components: [td('a')] }] }, /without an accessory its text displays stand alone/],
    ['a section of five text displays', { components: [{ type: 9, components: [td('a'), td('b'), td('c'), td('d'), td('e')], accessory: link() }] }, /text displays beyond 3 moved after the section/],
    ['a thumbnail outside a section', { components: [{ type: 11, media: { url: 'https://acme.runpanther.net/x.png' } }, td('a')] }, /a thumbnail can only be a section accessory/],
    ['a container in a container', { components: [{ type: 17, components: [{ type: 17, components: [td('a')] }, td('b')] }] }, /not allowed in a container/],
    ['an interactive accessory for a plain webhook', { components: [{ type: 9, components: [td('a')], accessory: ack('x') }] }, /interactive buttons cannot be sent by a plain webhook/],
    ['an empty text display and nothing else', { components: [td('   ')] }, /was empty; replaced with "—"/],
    ['no components', { components: [] }, /nothing to send/],
    ['a bad accent colour', { components: [{ type: 17, accent_color: 0x1000000, components: [td('a')] }] }, /accent_color removed: not an integer/],
  ])('%s', (_name, body, warning) => {
    const { body: out, warnings } = fit({ allowed_mentions: { parse: ['everyone'] }, ...body }, !_name.includes('plain webhook'));
    expect(problems(out, _name.includes('plain webhook'))).toEqual([]);
    expect(warnings.join('\n')).toMatch(warning);
    expect(out.allowed_mentions).toEqual({ parse: [] });
  });

  it('loses no button and no image of a template whatever its embed has: no title, a thumbnail, a url without a button', () => {
    const link = { type: 2, style: 5, label: 'Open', url: 'https://acme.runpanther.net/a' };
    const lay = (body: Obj) => layOutDiscordV2(body, { allowInteractive: true }).body as Obj;
    const untitled = lay({ embeds: [{ description: 'd' }], components: [{ type: 1, components: [link] }] });
    expect(problems(untitled)).toEqual([]);
    expect(all(untitled.components).filter((c) => c.type === 2)).toEqual([link]);
    const thumb = lay({ embeds: [{ title: 't', thumbnail: { url: 'https://acme.runpanther.net/t.png' }, image: { url: 'https://acme.runpanther.net/i.png' } }] });
    expect(problems(thumb)).toEqual([]);
    expect(thumb.components[0].components[0].accessory).toEqual({ type: 11, media: { url: 'https://acme.runpanther.net/t.png' } });
    expect(all(thumb.components).find((c) => c.type === 12)!.items).toEqual([{ media: { url: 'https://acme.runpanther.net/i.png' } }]);
    const urlOnly = lay({ embeds: [{ title: 't', url: 'https://acme.runpanther.net/a' }] });
    expect(urlOnly.components[0].components[0].accessory).toEqual({ type: 2, style: 5, label: 'Open', url: 'https://acme.runpanther.net/a' });
    expect(problems(urlOnly)).toEqual([]);
  });

  it('shrinks the longest alert text first in the layout, so short titles and field names stay whole', () => {
    const fields = [{ name: 'Severity', value: 'High', inline: true }, { name: 'Giant', value: 'g'.repeat(1024) }, { name: 'Short', value: 'kept whole' }];
    const { body } = layOutDiscordV2({ embeds: [{ title: 'A title', description: 'd'.repeat(4096), fields }, { title: 'Second', description: 'e'.repeat(3000) }] }, { allowInteractive: true });
    expect(problems(body)).toEqual([]);
    const shown = texts(body).join('\n');
    expect(shown).toContain('### A title');
    expect(shown).toContain('**Short**\nkept whole');
    expect(shown).toContain('**Severity:** High');
  });
});
