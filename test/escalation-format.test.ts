/**
 * What escalation puts in messages, through the destinations' own format(): the line on the alert's messages at
 * each state of its schedule (the targets named without a ping: Slack by the configured label only, Discord by the
 * label or by mention markup inside the embed, which Discord renders as the name and never notifies), and the
 * reminder bodies (the escalation targets' mentions are their only pings; alert text never pings). Checked against
 * the fakes' validators of the platforms' mention rules.
 */
import { loadConfigText } from '../src/config/load';
import type { Config } from '../src/config/schema';
import { createFormatters } from '../src/destinations/registry';
import type { Formatter, ReminderView } from '../src/destinations/types';
import type { EscalationState } from '../src/escalation/state';
import { triageContext, triagePolicies } from '../src/triage/policy';
import { OPEN_VIEW, foldTriage, type TriageView } from '../src/triage/state';
import { TemplateEngine } from '../src/templates/engine';
import { renderPayload } from '../src/rendering/render-alert';
import { makeAlertPayload, parsedAlert } from './helpers/fixtures';
import { validateSlackMessage } from './helpers/fake-slack-validate';
import { validateDiscordMessage } from './helpers/fake-discord-validate';

const ROLE = '223344556677889900';
function load(escalate: string): Config {
  const r = loadConfigText(
    `slack: { token: xoxb-1, signingSecret: s }
discord: { token: d, publicKey: "${'ab'.repeat(32)}" }
destinations:
  slack: { type: slack, channel: C0123456789 }
  discord: { type: discord, channel: "112233445566778899" }
  hook: { type: discord-webhook, url: "https://discord.com/api/webhooks/112233445566778899/tok" }
routes:
  - name: page
    to: [slack, discord, hook]
    digest: off
    escalate: ${escalate}
`,
    {},
  );
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

const LABELLED = load(`{ after: 15m, repeat: 30m, times: 3, label: "@secops-leads", mentions: { slack: { groups: [S0123ABCD] }, discord: { roles: ["${ROLE}"] } } }`);
const UNLABELLED = load(`{ after: 15m, repeat: 30m, times: 3, mentions: { slack: { groups: [S0123ABCD] }, discord: { roles: ["${ROLE}"] } } }`);
const engine = new TemplateEngine(undefined);
const alert = parsedAlert({ alertId: 'a', title: 'Root login', link: 'https://acme.runpanther.net/alerts/a' });
const DUE = Date.UTC(2026, 11, 7, 14, 17, 0);

/** The escalation line as `destination` renders it for the alert's message in `view` (null: none shown). */
function line(config: Config, destination: 'slack' | 'discord', state: EscalationState | undefined, view: TriageView = OPEN_VIEW, revision = 1): string | null {
  const policy = triagePolicies(config.routes).get('page');
  const ctx = triageContext(policy, 7, revision, () => ({ ...view, ...(state ? { escalation: state } : {}) }), alert, revision === 0 ? DUE : undefined);
  const body = createFormatters(config, engine).get(destination)!.format(alert, { route: 'page', deliveryKey: 'k', ...ctx }).body as Record<string, unknown>;
  const text = destination === 'slack' ? JSON.stringify(body.blocks) : JSON.stringify(body.embeds);
  const found = /⏰ ([^"\\]*(?:\\.[^"\\]*)*)/.exec(text);
  return found ? JSON.parse(`"${found[1]!}"`) : null;
}

const ann = { platform: 'slack' as const, id: 'U1', name: 'ann' };

describe('the escalation line of an alert message', () => {
  it('says when the first reminder comes and to whom, on the first post (before anything is stored)', () => {
    expect(line(LABELLED, 'slack', undefined, OPEN_VIEW, 0)).toBe('Escalates to @secops-leads in 15 min (14:17 UTC) unless acknowledged');
    expect(line(LABELLED, 'discord', undefined, OPEN_VIEW, 0)).toBe('Escalates to @secops-leads in 15 min (14:17 UTC) unless acknowledged');
    // Without a label: Slack cannot name a group without pinging it; Discord names it with markup that never pings in an embed.
    expect(line(UNLABELLED, 'slack', undefined, OPEN_VIEW, 0)).toBe('Escalates in 15 min (14:17 UTC) unless acknowledged');
    expect(line(UNLABELLED, 'discord', undefined, OPEN_VIEW, 0)).toBe(`Escalates to <@&${ROLE}> in 15 min (14:17 UTC) unless acknowledged`);
  });

  it('follows the schedule, and says why it stopped', () => {
    const at = (sent: number, status: EscalationState['status'] = 'pending', extra: Partial<EscalationState> = {}): EscalationState => ({ status, sent, dueAt: DUE, ...extra });
    expect(line(LABELLED, 'slack', at(1))).toBe('Escalated 1/3 to @secops-leads; next in 30 min (14:17 UTC)');
    expect(line(LABELLED, 'discord', at(2))).toBe('Escalated 2/3 to @secops-leads; next in 30 min (14:17 UTC)');
    expect(line(LABELLED, 'slack', at(3, 'done'))).toBe('Escalated 3/3 to @secops-leads');
    const acked = foldTriage([{ seq: 1, action: 'acknowledge', actor: ann, at: DUE }]);
    expect(line(LABELLED, 'slack', at(1, 'stopped', { stopReason: 'acknowledge' }), acked)).toBe('Escalation stopped: acknowledged by @ann');
    const resolved = foldTriage([{ seq: 1, action: 'acknowledge', actor: ann, at: DUE }, { seq: 2, action: 'resolve', actor: { ...ann, name: 'bob' }, at: DUE }]);
    expect(line(LABELLED, 'discord', at(0, 'stopped', { stopReason: 'resolve' }), resolved)).toBe('Escalation stopped: resolved by @bob');
    expect(line(LABELLED, 'slack', at(1, 'stopped', { stopReason: 'source' }))).toBe('Escalation stopped: resolved at the source');
    expect(line(LABELLED, 'slack', at(1, 'stopped', { stopReason: 'config' }))).toBeNull();
    expect(line(LABELLED, 'slack', at(1, 'dead', { lastError: 'not_in_channel' }))).toBe('Escalation failed at reminder 2/3: not_in_channel');
    // A message that does not escalate (no row: another platform without targets, a repeat in a thread) shows nothing.
    expect(line(LABELLED, 'slack', undefined)).toBeNull();
  });

  it('never pings: the label and names are escaped text, the first post keeps the route mentions only', () => {
    const hostile = load(`{ after: 15m, label: "<!channel> @everyone <@&${ROLE}>", mentions: { slack: { here: true }, discord: { here: true, roles: ["${ROLE}"] } } }`);
    const policy = triagePolicies(hostile.routes).get('page');
    const ctx = triageContext(policy, 7, 0, () => OPEN_VIEW, alert, DUE);
    const formatters = createFormatters(hostile, engine);
    const slack = formatters.get('slack')!.format(alert, { route: 'page', deliveryKey: 'k', ...ctx }).body as Record<string, unknown>;
    expect(validateSlackMessage(slack)).toEqual([]);
    const discord = formatters.get('discord')!.format(alert, { route: 'page', deliveryKey: 'k', ...ctx }).body as Record<string, unknown>;
    expect(validateDiscordMessage(discord, { webhook: false, withComponents: false })).toEqual([]);
    expect(discord.allowed_mentions).toEqual({ parse: [] });
    expect(JSON.stringify(discord.embeds)).toContain('@\u200beveryone');
    expect(JSON.stringify(discord.embeds)).toContain(`<\u200b@&${ROLE}>`);
  });
});

describe('the line on a layout: v2 Discord destination', () => {
  it('is in a text display, valid V2, and the markup of targets outside the route mentions pings no one', () => {
    const r = loadConfigText(
      `discord: { token: d, publicKey: "${'ab'.repeat(32)}" }
destinations:
  v2: { type: discord, channel: "112233445566778899", layout: v2 }
routes:
  - name: page
    to: [v2]
    digest: off
    mentions: { discord: { users: ["334455667788990011"] } }
    escalate: { after: 15m, mentions: { discord: { roles: ["${ROLE}"] } } }
`,
      {},
    );
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const policy = triagePolicies(r.config.routes).get('page');
    const ctx = triageContext(policy, 7, 0, () => OPEN_VIEW, alert, DUE);
    const body = createFormatters(r.config, engine).get('v2')!.format(alert, { route: 'page', deliveryKey: 'k', mentions: { discord: { users: ['334455667788990011'] } }, ...ctx }).body as Record<string, unknown>;
    expect(JSON.stringify(body.components)).toContain(`Escalates to <@&${ROLE}> in 15 min (14:17 UTC) unless acknowledged`);
    expect(body.allowed_mentions).toEqual({ parse: [], users: ['334455667788990011'] });
    const issues = validateDiscordMessage(body, { webhook: false, withComponents: false });
    expect(issues.filter((i) => !i.includes('334455667788990011'))).toEqual([]);
  });
});

describe('render (and the console preview) show the line as serve posts it', () => {
  it('on the copies that escalate, and not below minSeverity', () => {
    const config = load(`{ after: 15m, minSeverity: HIGH, label: "@secops-leads", mentions: { slack: { groups: [S0123ABCD] } } }`);
    const rendered = renderPayload(config, makeAlertPayload({ severity: 'HIGH' }));
    if (!rendered.ok) throw new Error(JSON.stringify(rendered));
    const text = (d: string) => JSON.stringify(rendered.deliveries.find((r) => r.destination === d)!.body);
    expect(text('slack')).toMatch(/Escalates to @secops-leads in 15 min \(\d\d:\d\d UTC\) unless acknowledged/);
    // No Discord targets: the Discord copies do not escalate.
    expect(text('discord')).not.toContain('Escalat');
    const low = renderPayload(config, makeAlertPayload({ severity: 'MEDIUM' }));
    if (!low.ok) throw new Error(JSON.stringify(low));
    expect(JSON.stringify(low.deliveries)).not.toContain('Escalat');
  });
});

describe('reminder bodies', () => {
  const hostileAlert = parsedAlert({ alertId: 'h', title: '<!channel> @everyone <@&998877665544332211> see https://evil.example/x', link: 'https://acme.runpanther.net/alerts/h' });
  const view = (overrides: Partial<ReminderView> = {}): ReminderView => ({
    alert: hostileAlert,
    step: 2,
    times: 3,
    waitedMs: 45 * 60_000,
    mentions: { slack: { groups: ['S0123ABCD'] }, discord: { roles: [ROLE] } },
    key: 'reminder-key-0001',
    ...overrides,
  });
  const format = (destination: string, v: ReminderView) => (createFormatters(LABELLED, engine).get(destination) as Formatter).formatReminder!(v).body as Record<string, unknown>;

  it('Slack: the escalation targets are the only live mention; alert text is escaped and its foreign URL defanged', () => {
    const body = format('slack', view());
    expect(body.text).toBe('<!subteam^S0123ABCD> Reminder 2/3: not acknowledged after 45 min: &lt;!channel&gt; @everyone &lt;@&amp;998877665544332211&gt; see hxxps://evil[.]example/x');
    expect(validateSlackMessage(body).map((i) => i.replace(/^\S+: /, ''))).toEqual([
      'contains live mention sequence(s) <!subteam^S0123ABCD>',
      'contains live mention sequence(s) <!subteam^S0123ABCD>',
    ]);
    expect(body.link_names).toBeUndefined();
  });

  it('Discord bot: mentions in content with allowed_mentions exactly them, the alert in an embed, a reply in the channel when not in a thread', () => {
    const body = format('discord', view({ replyTo: { channelId: '112233445566778899', messageId: '1300000000000000001' } }));
    expect(body.content).toBe(`<@&${ROLE}> **Reminder 2/3: not acknowledged after 45 min**`);
    expect(body.allowed_mentions).toEqual({ parse: [], roles: [ROLE], replied_user: false });
    expect(body.message_reference).toEqual({ message_id: '1300000000000000001', fail_if_not_exists: false });
    expect(body.nonce).toBe('reminder-key-0001');
    const title = (body.embeds as { title: string }[])[0]!.title;
    expect(title).toContain('<\u200b@&998877665544332211>');
    expect(title).toContain('hxxps://evil\\[.]example/x');
    const issues = validateDiscordMessage(body, { webhook: false, withComponents: false });
    // The fake's rules want parse [] with id lists, which this is; the one live ping it reports is the configured role.
    expect(issues.filter((i) => !i.includes(`would ping: <@&${ROLE}>`))).toEqual([]);
    expect(format('discord', view()).message_reference).toBeUndefined();
  });

  it('Discord webhook: the same mentions, in the channel (a webhook cannot reply)', () => {
    const body = format('hook', view({ replyTo: { webhookId: '112233445566778899', messageId: '1300000000000000001' } }));
    expect(body.message_reference).toBeUndefined();
    expect(body.allowed_mentions).toEqual({ parse: [], roles: [ROLE], replied_user: false });
    expect(String(body.content)).toContain(`<@&${ROLE}>`);
  });
});
