/**
 * A route's `escalate` in the config: durations as people write them, defaults, line-precise errors, the warnings of
 * `check` about reminders that would not reach anyone, and the commented example in examples/chatops-bridge.yaml.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { formatProblems, loadConfigText, type LoadResult } from '../src/config/load';
import { escalationReach } from '../src/config/escalate-checks';
import { durationWords, parseDuration } from '../src/domain/duration';

const config = (route: string, extra = '') => `slack: { token: xoxb-1${extra.includes('signing') ? ', signingSecret: s3cret' : ''} }
discord: { token: t }
destinations:
  soc-slack: { type: slack, channel: C0123456789 }
  soc-discord: { type: discord, channel: "112233445566778899" }
  hook: { type: discord-webhook, url: "https://discord.com/api/webhooks/112233445566778899/tok" }
  stdout: { type: console }
routes:
  - name: page
    to: [soc-slack, soc-discord]
    digest: off
${route}
`;

const messages = (r: LoadResult) => (r.ok ? r.warnings : r.problems).map((p) => `${p.path}@${p.line}: ${p.message}`);
/** The warnings about escalations (the test configs leave out what they do not need, which `check` also says). */
const escalationWarnings = (r: LoadResult) => messages(r).filter((m) => /escalat/.test(m));

describe('escalate in the config', () => {
  it('reads durations with units, applies the defaults (repeat = after, one reminder), and keeps the mentions as given', () => {
    const r = loadConfigText(config(`    escalate: { after: 15m, mentions: { slack: { groups: [S0123ABCD] } } }`, 'signing'), {});
    if (!r.ok) throw new Error(formatProblems(r.problems, 'c'));
    expect(r.config.routes[0]!.escalate).toEqual({ after: 900_000, times: 1, mentions: { slack: { groups: ['S0123ABCD'] } } });
    const full = loadConfigText(
      config(`    escalate: { after: 2s, repeat: 30m, times: 3, minSeverity: HIGH, label: "@secops-leads", mentions: { slack: { here: true }, discord: { roles: ["223344556677889900"] } } }`, 'signing'),
      {},
    );
    if (!full.ok) throw new Error(formatProblems(full.problems, 'c'));
    expect(full.config.routes[0]!.escalate).toEqual({ after: 2000, repeat: 1_800_000, times: 3, minSeverity: 'HIGH', label: '@secops-leads', mentions: { slack: { here: true }, discord: { roles: ['223344556677889900'] } } });
  });

  it.each([
    ['after: 15', 'routes[0].escalate.after', /must be a duration like 30s, 15m, 2h or 1d/],
    ['after: 500ms', 'routes[0].escalate.after', /must be a duration/],
    ['after: 0s', 'routes[0].escalate.after', /must be at least 1s/],
    ['after: 1m, repeat: soon', 'routes[0].escalate.repeat', /must be a duration/],
    ['after: 1m, times: 0', 'routes[0].escalate.times', /must be at least 1/],
    ['after: 1m, minSeverity: high', 'routes[0].escalate.minSeverity', /upper case/],
    ['after: 1m, mentions: { slack: {} }', 'routes[0].escalate.mentions', /must name at least one target/],
    ['after: 1m, mentions: { slack: { groups: [oncall] } }', 'routes[0].escalate.mentions.slack.groups[0]', /Slack user group id/],
    ['after: 1m, mentions: { discord: { roles: [223344556677889900] } }', 'routes[0].escalate.mentions.discord.roles[0]', /must be a non-empty string/],
    ['after: 1m, mentions: { minSeverity: HIGH, slack: { here: true } }', 'routes[0].escalate.mentions.minSeverity', /unknown key/],
    ['after: 1m, mention: { slack: { here: true } }', 'routes[0].escalate.mention', /unknown key/],
  ])('refuses %s, naming the key and its line', (body, at, message) => {
    const r = loadConfigText(config(`    escalate: { ${body.includes('mention') ? body : `${body}, mentions: { slack: { here: true } }`} }`), {});
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    expect(problems).toContainEqual(expect.objectContaining({ path: at, line: 12, message: expect.stringMatching(message) }));
  });

  it('is required to say whom to mention', () => {
    const r = loadConfigText(config('    escalate: { after: 1m }'), {});
    expect(messages(r)).toEqual(['routes[0].escalate.mentions@12: is required (must be { slack: {…}, discord: {…} }: whom the reminders mention)']);
  });

  it('check warns about reminders that reach nobody, digests, routes nobody can acknowledge on, and a repeat that never applies', () => {
    const r = loadConfigText(
      config(`    escalate: { after: 1m, repeat: 5m, mentions: { discord: { roles: ["223344556677889900"] } } }
  - name: digested
    to: [stdout, hook]
    escalate: { after: 1m, times: 2, mentions: { slack: { here: true } } }`),
      {},
    );
    expect(escalationWarnings(r)).toEqual([
      'routes[0].to[0]@10: destination "soc-slack" gets no escalation reminders: escalate.mentions names nobody on Slack (add escalate.mentions.slack)',
      'routes[0].escalate@12: nobody can acknowledge these alerts from chat (no Acknowledge/Resolve button where slack.signingSecret or discord.publicKey is set): reminders stop only when the source resolves the alert, or after 1',
      'routes[0].escalate.repeat@12: has no effect with times: 1 (one reminder only)',
      'routes[1].to[0]@14: destination "stdout" gets no escalation reminders: a console destination mentions nobody',
      'routes[1].to[1]@14: destination "hook" gets no escalation reminders: escalate.mentions names nobody on Discord (add escalate.mentions.discord)',
      'routes[1].escalate@15: no destination of this route gets escalation reminders',
      'routes[1].escalate@15: alerts that go out in a burst digest have no message of their own and do not escalate: set digest: off on a route that pages',
      'routes[1].escalate@15: nobody can acknowledge these alerts from chat (no Acknowledge/Resolve button where slack.signingSecret or discord.publicKey is set): reminders stop only when the source resolves the alert, or after 2',
    ]);
  });

  it('is quiet for a route whose reminders reach every destination and that people can acknowledge', () => {
    const r = loadConfigText(config(`    threads: on\n    escalate: { after: 1m, times: 3, repeat: 5m, mentions: { slack: { groups: [S0123ABCD] }, discord: { roles: ["223344556677889900"] } } }`, 'signing'), {});
    expect(escalationWarnings(r)).toEqual([]);
    if (!r.ok) return;
    expect(escalationReach(r.config, r.config.routes[0]!)).toEqual([
      { destination: 'soc-slack', where: 'thread' },
      { destination: 'soc-discord', where: 'thread' },
    ]);
  });

  it('the commented example in examples/chatops-bridge.yaml is valid once uncommented', () => {
    const example = readFileSync(path.join(__dirname, '..', 'examples', 'chatops-bridge.yaml'), 'utf8');
    const lines = example.split('\n');
    const start = lines.findIndex((l) => /^ {4}# escalate:/.test(l));
    let end = start + 1;
    while (/^ {4}# {3}\w/.test(lines[end] ?? '')) end++;
    expect(end - start).toBe(7);
    const uncommented = [...lines.slice(0, start), ...lines.slice(start, end).map((l) => l.replace(/^( {4})# /, '$1')), ...lines.slice(end)].join('\n');
    const r = loadConfigText(uncommented, {
      PANTHER_WEBHOOK_TOKEN: 'p',
      SLACK_BOT_TOKEN: 'xoxb-1',
      DISCORD_BOT_TOKEN: 'd',
      DISCORD_WEBHOOK_URL: 'https://discord.com/api/webhooks/112233445566778899/tok',
    });
    if (!r.ok) throw new Error(formatProblems(r.problems, 'example'));
    expect(r.config.routes[0]!.escalate).toEqual({ after: 900_000, repeat: 1_800_000, times: 3, minSeverity: 'HIGH', label: '@secops-leads', mentions: { slack: { groups: ['S0123ABCD'] }, discord: { roles: ['223344556677889900'] } } });
  });
});

describe('durations', () => {
  it('parses a number and a unit, and words them for a message line', () => {
    expect([parseDuration('45s'), parseDuration(' 15m '), parseDuration('2h'), parseDuration('1d'), parseDuration('15'), parseDuration('1.5h')]).toEqual([45_000, 900_000, 7_200_000, 86_400_000, null, null]);
    expect([500, 2000, 59_000, 900_000, 3_600_000, 5_400_000, 172_800_000].map(durationWords)).toEqual(['1 s', '2 s', '59 s', '15 min', '1 h', '1 h 30 min', '2 d']);
  });
});
