import { discordDigest, slackDigest } from '../src/destinations/digest-format';
import { fitSlackMessage } from '../src/templates/fit-slack';
import { fitDiscordMessage } from '../src/templates/fit-discord';
import type { DigestEntry } from '../src/domain/delivery';
import { discordLimitViolations, slackLimitViolations } from './helpers/limit-violations';

const entries = (n: number, title: string, link: string): DigestEntry[] =>
  Array.from({ length: n }, (_, i) => ({ severity: i % 3 === 0 ? 'HIGH' : 'LOW', title: `${title} ${i}`, link, detectionId: 'X', alertId: String(i), createdAtMs: i }));

describe('digest bodies', () => {
  const hostileTitle = '<!channel> @everyone [x](http://evil.example) '.repeat(4) + '<'.repeat(100);
  const longLink = `https://acme.example/alerts/${'a'.repeat(450)}?q=|<>()`;

  it('list what fits, count the rest in "+N more", and need no fitting', () => {
    const view = { entries: entries(30, hostileTitle, longLink), openedAt: 0, now: 1000 };
    const slack = fitSlackMessage(slackDigest(view, 'C0123456789'));
    expect(slack.warnings).toEqual([]);
    expect(slackLimitViolations(slack.body)).toEqual([]);
    const text = JSON.stringify(slack.body);
    const listed = (text.match(/<https:\/\/acme/g) ?? []).length;
    expect(text).toContain(`+${30 - listed} more`);
    expect(text).not.toMatch(/<!channel>|<!everyone>/);

    const discord = fitDiscordMessage(discordDigest(view), { allowInteractive: false });
    expect(discord.warnings).toEqual([]);
    expect(discordLimitViolations(discord.body)).toEqual([]);
    const description = (discord.body.embeds as { description: string }[])[0]!.description;
    const discordListed = (description.match(/\]\(https:\/\/acme/g) ?? []).length;
    expect(description).toContain(`+${30 - discordListed} more`);
    expect(description).not.toMatch(/@everyone|[^\\]\[x\]/);
  });

  it('defangs URLs in titles that are not on the alert\'s own host, on both platforms', () => {
    const view = { entries: entries(2, 'Beacon to https://evil.example/c2, see https://acme.example/alerts/9', 'https://acme.example/alerts/1'), openedAt: 0, now: 0 };
    const slack = JSON.stringify(slackDigest(view, 'C0123456789'));
    expect(slack).not.toContain('https://evil.example');
    expect(slack).toContain('Beacon to hxxps://evil[.]example/c2, see https://acme.example/alerts/9');
    const discord = JSON.stringify(discordDigest(view));
    expect(discord).not.toContain('https://evil.example');
    expect(discord).toContain('hxxps://evil\\\\[.]example/c2');
  });

  it('leaves out links too long to list but still names the alert', () => {
    const view = { entries: entries(3, 'Long link', `https://acme.example/${'b'.repeat(600)}`), openedAt: 0, now: 0 };
    const text = JSON.stringify(slackDigest(view, 'C0123456789'));
    expect(text).toContain('Long link 2');
    expect(text).not.toContain('bbbb');
  });
});
