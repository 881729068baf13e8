/**
 * Templates written carelessly (raw outputs, alert data straight into URLs, hand-made links, partial blocks)
 * still cannot ping anyone not configured on the route, nor link to a host other than the alert's.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfigText } from '../src/config/load';
import { createFormatters } from '../src/destinations/registry';
import { parsePantherPayload } from '../src/sources/panther';
import { mentionsFor } from '../src/routing/mentions';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cb-careless-'));
mkdirSync(path.join(dir, 'partials'));
const files: Record<string, string> = {
  'raw.slack.hbs': '{ "text": "{{mention}} {{{alert.title}}}", "blocks": [ { "type": "section", "text": { "type": "mrkdwn", "text": "<{{alert.context.url}}|Dashboard> {{{alert.title}}}" } }, { "type": "actions", "elements": [ { "type": "button", "text": { "type": "plain_text", "text": "Go" }, "url": "{{alert.context.url}}" } ] } ] }',
  'raw.discord.hbs': '{ "content": "{{mention}} {{{alert.title}}} [Dashboard]({{alert.context.url}})", "embeds": [ { "title": "x", "url": "{{alert.context.url}}" } ], "components": [ { "type": 1, "components": [ { "type": 2, "style": 5, "label": "Go", "url": "{{alert.context.url}}" } ] } ] }',
  'partials/layout.hbs': '{ "content": "{{mention}} {{> @partial-block }}" }',
  'block.discord.hbs': '{{#> layout}}{{alert.title}}{{/layout}}',
};
for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);

const loaded = loadConfigText(
  `
slack: { token: xoxb-c }
discord: { token: c-token }
templates: { dir: "${dir}" }
destinations:
  s: { type: slack, channel: C0123456789 }
  d: { type: discord, channel: "112233445566778899" }
routes:
  - name: page
    to: [s, d]
    mentions: { slack: { groups: [S0123ABCD] }, discord: { here: true, roles: ["223344556677889900"] } }
`,
  {},
);
if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
const destinations = createFormatters(loaded.config);
const parsed = parsePantherPayload({
  id: 'X',
  createdAt: '2024-01-02T03:04:05Z',
  severity: 'CRITICAL',
  type: 'RULE',
  link: 'https://acme.runpanther.net/alerts/1',
  title: 'T <!channel> <@U999> @everyone <@&999999999999999999> [login](https://evil.example)',
  alertContext: { url: 'https://evil.example/phish' },
});
if (!parsed.ok) throw new Error('bad');
const alert = parsed.alert;
const mentions = mentionsFor(alert, loaded.config.routes[0]!.mentions)!;
const format = (destination: string, template: string) =>
  destinations.get(destination)!.format(alert, { route: 'page', deliveryKey: 'k', template, mentions });

describe('careless templates', () => {
  it('Slack: only the configured mention is live, no foreign link survives', () => {
    const { body, warnings } = format('s', 'raw');
    const text = JSON.stringify(body);
    expect(text).toContain('<!subteam^S0123ABCD>');
    expect(text).not.toMatch(/<!channel>|<@U999>|<https:\/\/evil/);
    expect(text).not.toContain('"url":"https://evil');
    expect(warnings.join('\n')).toMatch(/neutralised a mention/);
    expect(warnings.join('\n')).toMatch(/foreign host/);
  });

  it('Discord: @everyone and unconfigured roles are broken even when here is allowed; foreign links defused', () => {
    const { body } = format('d', 'raw') as { body: Record<string, any> };
    expect(body.content.startsWith('@here <@&223344556677889900> ')).toBe(true);
    expect(body.content).not.toMatch(/@everyone|<@&999|(^|[^\\])\[Dashboard\]\(https:\/\/evil/);
    expect(body.allowed_mentions).toEqual({ parse: ['everyone'], roles: ['223344556677889900'] });
    expect(JSON.stringify(body.embeds)).not.toContain('evil.example');
    expect(JSON.stringify(body.components ?? [])).not.toContain('evil.example');
  });

  it('escapes values inside partial blocks', () => {
    const { body } = format('d', 'block') as { body: Record<string, any> };
    expect(body.content).not.toMatch(/@everyone|<@&999|(^|[^\\])\[login\]/);
  });
});
