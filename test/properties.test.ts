/**
 * Property tests: whatever text an attacker puts in any alert field, every shipped template on every platform
 * (Discord in both layouts, embed and Components V2) produces a message with no live mention, no link to a foreign
 * host, valid structure and no limit breach.
 */
import fc from 'fast-check';
import { loadConfigText } from '../src/config/load';
import { createFormatters } from '../src/destinations/registry';
import { parsePantherPayload } from '../src/sources/panther';
import { encodeAngleBrackets } from '../src/templates/helpers';
import { discordLimitViolations, slackLimitViolations } from './helpers/limit-violations';
import { validateDiscordMessage } from './helpers/fake-discord';
import { isComponentsV2 } from '../src/templates/fit-discord-v2';

const config = loadConfigText(
  `
slack: { token: xoxb-prop }
discord: { token: prop-token }
destinations:
  s: { type: slack, channel: C0123456789 }
  d: { type: discord, channel: "112233445566778899" }
  h: { type: discord-webhook, url: "https://discord.com/api/webhooks/112233445566778899/${'a'.repeat(68)}" }
  sc: { type: slack, channel: C0123456789, template: compact }
  dc: { type: discord, channel: "112233445566778899", template: compact }
  dv: { type: discord, channel: "112233445566778899", layout: v2 }
  hv: { type: discord-webhook, url: "https://discord.com/api/webhooks/112233445566778899/${'a'.repeat(68)}", layout: v2 }
  dcv: { type: discord, channel: "112233445566778899", template: compact, layout: v2 }
routes: [{ name: r, to: [s, d, h, sc, dc, dv, hv, dcv] }]
`,
  {},
);
if (!config.ok) throw new Error(JSON.stringify(config.problems));
const destinations = createFormatters(config.config);

const HOSTILE = ['<!channel>', '<!here|here>', '<!everyone>', '<!subteam^S0>', '<@U012AB3CD>', '<#C1>', '@everyone', '@here', '<@&123456789012345678>',
  '<@123456789012345678>', '[x](http://evil.example)', '<http://evil.example|bank>', '{{7*7}}', '{{{title}}}', '"}],"x":"', '\\', '&lt;!channel&gt;',
  '```', '> q', '-# s', '# h', '\u0000', '\u202e', '\ud83d', '🚨', 'https://evil.example/x', '*b*', '_i_', '||s||', '</t:1>', '\r\n'];
const hostileText = fc.array(fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ maxLength: 3000 })), { maxLength: 8 }).map((parts) => parts.join(''));
const LINK = 'https://acme.runpanther.net/alerts/0123456789abcdef0123456789abcdef';
const RUNBOOK = 'https://wiki.acme.example/runbooks/x';

const payload = fc.record({
  title: hostileText,
  name: fc.option(hostileText),
  description: fc.option(hostileText),
  runbook: fc.option(fc.oneof(hostileText, fc.constant(RUNBOOK))),
  tags: fc.array(hostileText, { maxLength: 5 }),
  id: hostileText.filter((s) => s.length > 0),
  alertContext: fc.dictionary(hostileText, fc.oneof(hostileText, fc.integer(), fc.constant(null)), { maxKeys: 12 }),
  severity: fc.constantFrom('INFO', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'),
  type: fc.constantFrom('RULE', 'POLICY', 'RULE_ERROR', 'SOME_NEW_TYPE'),
});

/** Every displayed string in a JSON value (URL fields are links, checked separately, not markup). */
const strings = (value: unknown): string[] =>
  typeof value === 'string'
    ? [value]
    : Array.isArray(value)
      ? value.flatMap(strings)
      : value && typeof value === 'object'
        ? Object.entries(value).flatMap(([key, v]) => (key === 'url' ? [] : strings(v)))
        : [];
/** Every value under a key named `url` (buttons, embeds). */
const urls = (value: unknown): string[] =>
  Array.isArray(value) ? value.flatMap(urls) : value && typeof value === 'object' ? Object.entries(value).flatMap(([k, v]) => (k === 'url' && typeof v === 'string' ? [v] : urls(v))) : [];
const mrkdwnObjects = (value: unknown): Record<string, unknown>[] =>
  Array.isArray(value) ? value.flatMap(mrkdwnObjects) : value && typeof value === 'object' ? [...((value as { type?: string }).type === 'mrkdwn' ? [value as Record<string, unknown>] : []), ...Object.values(value).flatMap(mrkdwnObjects)] : [];

describe('any alert text, any shipped template', () => {
  it('never yields a live mention, a foreign link, broken structure or a limit breach', () => {
    fc.assert(
      fc.property(payload, (p) => {
        const parsed = parsePantherPayload({ ...p, createdAt: '2024-01-02T03:04:05Z', link: LINK, alertId: 'a'.repeat(32) });
        if (!parsed.ok) return; // e.g. an id the schema refuses: a 400, nothing sent
        for (const destination of destinations.values()) {
          const { body } = destination.format(parsed.alert, { route: 'r', deliveryKey: 'k' });
          // The alert's own link and runbook (the runbook button is part of the contract) and nothing else.
          const allowedUrls = new Set([encodeAngleBrackets(LINK), ...(parsed.alert.runbook ? [encodeAngleBrackets(parsed.alert.runbook)] : [])]);
          for (const url of urls(body)) expect(allowedUrls).toContain(url);
          const texts = strings(body);
          if (destination.type === 'slack') {
            expect(slackLimitViolations(body)).toEqual([]);
            for (const text of texts) expect(text).not.toMatch(/<[!@#]|<https?:/);
            for (const object of mrkdwnObjects(body)) expect(object.verbatim).toBe(true);
            expect(body).not.toHaveProperty('link_names');
          } else {
            const webhook = destination.type === 'discord-webhook';
            // V2 bodies against the fake Discord's own validator (Discord's documented V2 rules); embeds as before.
            if (isComponentsV2(body)) expect(validateDiscordMessage(body, { webhook, withComponents: true })).toEqual([]);
            else expect(discordLimitViolations(body, { allowInteractive: !webhook })).toEqual([]);
            expect((body as { allowed_mentions?: unknown }).allowed_mentions).toEqual({ parse: [] });
            for (const text of texts) {
              expect(text).not.toMatch(/(^|[^\\])\[[^\]]*\]\(https?:/); // no masked link
              expect(text).not.toMatch(/@(everyone|here)/);
              expect(text).not.toMatch(/<@[!&]?\d/);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
