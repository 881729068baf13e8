import fc from 'fast-check';
import { addToDigest, discordDigest, slackDigest, DIGEST_TOP, type DigestView } from '../src/destinations/digest-format';
import { SEVERITIES } from '../src/domain/alert';
import { fitSlackMessage } from '../src/templates/fit-slack';
import { fitDiscordMessage } from '../src/templates/fit-discord';
import type { DigestEntry } from '../src/domain/delivery';
import { discordLimitViolations, slackLimitViolations } from './helpers/limit-violations';

const entries = (n: number, title: string, link: string): DigestEntry[] =>
  Array.from({ length: n }, (_, i) => ({ severity: i % 3 === 0 ? 'HIGH' : 'LOW', title: `${title} ${i}`, link, createdAtMs: i }));
const viewOf = (list: DigestEntry[], openedAt: number, now: number): DigestView => ({ ...addToDigest(null, list), openedAt, now });

describe('digest bodies', () => {
  const hostileTitle = '<!channel> @everyone [x](http://evil.example) '.repeat(4) + '<'.repeat(100);
  const longLink = `https://acme.example/alerts/${'a'.repeat(450)}?q=|<>()`;

  it('list what fits, count the rest in "+N more", and need no fitting', () => {
    const view = viewOf(entries(30, hostileTitle, longLink), 0, 1000);
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
    const view = viewOf(entries(2, 'Beacon to https://evil.example/c2, see https://acme.example/alerts/9', 'https://acme.example/alerts/1'), 0, 0);
    const slack = JSON.stringify(slackDigest(view, 'C0123456789'));
    expect(slack).not.toContain('https://evil.example');
    expect(slack).toContain('Beacon to hxxps://evil[.]example/c2, see https://acme.example/alerts/9');
    const discord = JSON.stringify(discordDigest(view));
    expect(discord).not.toContain('https://evil.example');
    expect(discord).toContain('hxxps://evil\\\\[.]example/c2');
  });

  it('leaves out links too long to list but still names the alert', () => {
    const view = viewOf(entries(3, 'Long link', `https://acme.example/${'b'.repeat(600)}`), 0, 0);
    const text = JSON.stringify(slackDigest(view, 'C0123456789'));
    expect(text).toContain('Long link 2');
    expect(text).not.toContain('bbbb');
  });

  /**
   * What digests showed before they were bounded: counts over every entry, the top 10 of all entries sorted (a
   * stable sort, in arrival order), full titles and links handed to the formatter, which cut them itself.
   */
  function everyEntryView(all: DigestEntry[]): DigestView {
    const counts: DigestView['counts'] = {};
    for (const e of all) counts[e.severity] = (counts[e.severity] ?? 0) + 1;
    const order = (a: DigestEntry, b: DigestEntry) => SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity) || b.createdAtMs - a.createdAtMs;
    return { counts, top: [...all].sort(order).slice(0, DIGEST_TOP), openedAt: 5, now: 9 };
  }

  it('an open digest merged revision by revision shows exactly what one digest of every entry showed', () => {
    const entry = fc.record({
      severity: fc.constantFrom(...SEVERITIES),
      // Few distinct times: ties, where only arrival order decides who is listed.
      createdAtMs: fc.integer({ min: 0, max: 4 }),
      title: fc.oneof(fc.string({ maxLength: 20 }), fc.string({ minLength: 140, maxLength: 400, unit: 'grapheme' })),
      link: fc.oneof(fc.constant(''), fc.webUrl(), fc.constant(`https://acme.example/${'c'.repeat(520)}`)),
    });
    fc.assert(
      fc.property(fc.array(fc.array(entry, { maxLength: 15 }), { minLength: 1, maxLength: 6 }), (revisions) => {
        let summary = null as ReturnType<typeof addToDigest> | null;
        for (const revision of revisions) summary = addToDigest(summary, revision);
        const merged: DigestView = { ...summary!, openedAt: 5, now: 9 };
        const reference = everyEntryView(revisions.flat());
        expect(slackDigest(merged, 'C1')).toEqual(slackDigest(reference, 'C1'));
        expect(discordDigest(merged)).toEqual(discordDigest(reference));
        // And what is kept is bounded whatever came in.
        expect(summary!.top.length).toBeLessThanOrEqual(DIGEST_TOP);
        for (const kept of summary!.top) expect(Array.from(kept.title).length <= 150 && kept.link.length <= 500).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a digest of 1,000 alerts with 900 KB titles to a few KB', () => {
    let summary = null as ReturnType<typeof addToDigest> | null;
    const huge = 'T'.repeat(900_000);
    for (let r = 0; r < 10; r++) summary = addToDigest(summary, entries(100, huge, 'https://acme.example/a'));
    expect(JSON.stringify(summary).length).toBeLessThan(4000);
    expect(JSON.stringify(slackDigest({ ...summary!, openedAt: 0, now: 0 }, 'C1'))).toContain('Alert burst: 1000 alerts');
  });
});
