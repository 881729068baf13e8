import { loadConfigText } from '../src/config/load';
import { createFormatters } from '../src/destinations/registry';
import { parsePantherPayload } from '../src/sources/panther';
import { mentionsFor } from '../src/routing/mentions';
import { discordLimitViolations, slackLimitViolations } from './helpers/limit-violations';

const yaml = `
slack: { token: xoxb-m }
discord: { token: m-token }
destinations:
  s: { type: slack, channel: C0123456789 }
  d: { type: discord, channel: "112233445566778899" }
routes:
  - name: page
    to: [s, d]
    mentions:
      minSeverity: HIGH
      slack: { here: true, groups: [S0123ABCD], users: [U0123ABCD] }
      discord: { roles: ["223344556677889900"], users: ["334455667788990011"] }
`;
const loaded = loadConfigText(yaml, {});
if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
const config = loaded.config;
const destinations = createFormatters(config);

const alert = (severity: string, text = 'Root login') => {
  const parsed = parsePantherPayload({
    id: 'AWS.Root',
    createdAt: '2024-01-02T03:04:05Z',
    severity,
    type: 'RULE',
    link: 'https://acme.example/alerts/1',
    // Alert text naming the very role and user that are configured must still not ping.
    title: `${text} <@&223344556677889900> <@334455667788990011> @here <!here> <!subteam^S0123ABCD>`,
  });
  if (!parsed.ok) throw new Error('bad');
  return parsed.alert;
};
const format = (name: string, severity: string) => {
  const a = alert(severity);
  const mentions = mentionsFor(a, config.routes[0]!.mentions);
  return destinations.get(name)!.format(a, { route: 'page', deliveryKey: 'k', ...(mentions ? { mentions } : {}) }).body as Record<string, any>;
};

describe('route mentions', () => {
  it('ping exactly the configured Slack targets, only from the severity threshold', () => {
    const high = format('s', 'HIGH');
    expect(high.blocks[0].text.text).toBe('<!here> <!subteam^S0123ABCD> <@U0123ABCD>');
    expect(high.text.startsWith('<!here> <!subteam^S0123ABCD> <@U0123ABCD> ')).toBe(true);
    // Everywhere else the same sequences from alert text are escaped.
    const rest = JSON.stringify(high.blocks.slice(1));
    expect(rest).not.toMatch(/<!here>|<!subteam|<@U/);
    expect(slackLimitViolations(high)).toEqual([]);
    expect(JSON.stringify(format('s', 'MEDIUM'))).not.toMatch(/<!here>|<!subteam|<@U/);
  });

  it('list exactly the configured Discord roles and users in allowed_mentions', () => {
    const high = format('d', 'CRITICAL');
    expect(high.content).toBe('<@&223344556677889900> <@334455667788990011>');
    expect(high.allowed_mentions).toEqual({ parse: [], roles: ['223344556677889900'], users: ['334455667788990011'] });
    expect(JSON.stringify(high.embeds)).not.toMatch(/<@&?\d|@here/);
    expect(discordLimitViolations(high)).toEqual([]);
    const low = format('d', 'LOW');
    expect(low.content).toBeUndefined();
    expect(low.allowed_mentions).toEqual({ parse: [] });
  });

  it('rejects ids that are not ids', () => {
    const bad = loadConfigText(yaml.replace('S0123ABCD]', 'here]').replace('"223344556677889900"', '"@everyone"'), {});
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems.map((p) => p.path).sort()).toEqual(['routes[0].mentions.discord.roles[0]', 'routes[0].mentions.slack.groups[0]']);
  });
});
