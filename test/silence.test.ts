/**
 * Silences from chat, the pure parts: durations and their labels, matchers from labels, Alertmanager's filter
 * syntax, the "new silence" links of Alertmanager and Grafana, the ids the controls carry, the state lines, the
 * config (defaults, refusals, warnings, secrets), and what format() draws on each platform — checked against the
 * platforms' rules by the independent validators of the fakes.
 */
import { configSecrets } from '../src/bridge';
import { formatProblems, loadConfigText } from '../src/config/load';
import { DiscordChannelFormatter } from '../src/destinations/discord-format';
import { SlackFormatter } from '../src/destinations/slack-format';
import type { Alert } from '../src/domain/alert';
import { parseAlertmanagerPayload } from '../src/sources/alertmanager';
import { parseGrafanaPayload } from '../src/sources/grafana';
import { loadFixture } from './helpers/fixtures';
import { TemplateEngine } from '../src/templates/engine';
import { fitDiscordMessage } from '../src/templates/fit-discord';
import { triageContext, triagePolicies } from '../src/triage/policy';
import {
  durationLabel,
  matcherFilter,
  parseSilenceDuration,
  parseSilenceRequest,
  silenceComment,
  silenceControl,
  silenceFormLinks,
  silenceLines,
  silenceMatchers,
  silenceMenuId,
  silenceOptionValue,
  unsilenceButtonId,
} from '../src/triage/silence';
import { OPEN_VIEW, type SilenceView, type TriageView } from '../src/triage/state';
import { validateDiscordMessage } from './helpers/fake-discord-validate';
import { validateSlackMessage } from './helpers/fake-slack-validate';

const HOUR = 3_600_000;

function amAlert(labels: Record<string, string> = { alertname: 'HighCPU', instance: 'api-1:9100', job: 'node' }, externalURL = 'http://am.example.com:9093'): Alert {
  const parsed = parseAlertmanagerPayload({ externalURL, alerts: [{ status: 'firing', labels, annotations: { summary: 'CPU hot on api-1' }, startsAt: '2026-03-01T10:00:00Z', fingerprint: 'f00dfeedf00dfeed' }] });
  if (!parsed.ok) throw new Error('fixture');
  return parsed.alerts[0]!;
}

describe('durations', () => {
  it.each([
    ['30m', 1_800_000, '30 min'],
    ['1h', HOUR, '1 h'],
    ['90m', 5_400_000, '1 h 30 min'],
    ['24h', 86_400_000, '24 h'],
    ['1d', 86_400_000, '24 h'],
    ['2d', 172_800_000, '2 d'],
    ['60h', 216_000_000, '2 d 12 h'],
  ])('%s is %i ms, shown as %s', (text, ms, label) => {
    expect(parseSilenceDuration(text)).toBe(ms);
    expect(durationLabel(ms)).toBe(label);
  });
  it.each(['', '1', '1s', 'h', '0h', '1.5h', '-1h', '1 hour', '1h30m'])('refuses %j', (text) => {
    expect(parseSilenceDuration(text)).toBeNull();
  });
});

describe('matchers', () => {
  it('are all labels, or the named ones (a missing one as empty: exactly as narrow as configured), sorted', () => {
    const labels = { team: 'a', alertname: 'X', instance: 'h:1' };
    expect(silenceMatchers(labels, 'all').map((m) => `${m.name}=${m.value}`)).toEqual(['alertname=X', 'instance=h:1', 'team=a']);
    expect(silenceMatchers(labels, ['instance', 'alertname', 'cluster', 'instance'])).toEqual([
      { name: 'alertname', value: 'X', isRegex: false, isEqual: true },
      { name: 'cluster', value: '', isRegex: false, isEqual: true },
      { name: 'instance', value: 'h:1', isRegex: false, isEqual: true },
    ]);
    // A "__proto__" label is a label like any other.
    expect(silenceMatchers(JSON.parse('{"__proto__":"p"}'), ['__proto__'])[0]!.value).toBe('p');
  });

  it("are written in Alertmanager's filter syntax with every value quoted and escaped", () => {
    expect(matcherFilter(silenceMatchers({ alertname: 'A "quoted" \\ one', 'odd.name': 'x\ny', job: '' }, 'all'))).toBe('{alertname="A \\"quoted\\" \\\\ one",job="","odd.name"="x\\ny"}');
  });

  it("quote each value as Alertmanager's UI reads it back (a JSON string: tabs and other control characters too)", () => {
    // Alertmanager's UI (ui/app/src/Utils/Filter.elm) decodes a quoted value with a JSON string decoder, so a value
    // it cannot decode (a raw tab, carriage return, NUL) makes the whole filter unreadable: the form opens empty.
    const value = 'a\tb\rc\u0000d\u001fe "f" \\ g\nh';
    const filter = matcherFilter(silenceMatchers({ alertname: 'X', path: value }, 'all'));
    const quotedValue = /path=("[^]*")}$/.exec(filter)![1]!;
    expect(JSON.parse(quotedValue)).toBe(value);
  });
});

describe('links to the source\'s own "new silence" form', () => {
  it('Alertmanager: #/silences/new with the filter and a comment, then without the comment', () => {
    const alert = amAlert();
    const [full, short] = silenceFormLinks(alert, silenceMatchers(alert.labels!, 'all'));
    expect(full).toBe(
      `http://am.example.com:9093/#/silences/new?filter=${encodeURIComponent('{alertname="HighCPU",instance="api-1:9100",job="node"}')}&comment=${encodeURIComponent('chatops-bridge: "CPU hot on api-1" (fingerprint f00dfeedf00dfeed)')}`,
    );
    expect(short).toBe(`http://am.example.com:9093/#/silences/new?filter=${encodeURIComponent('{alertname="HighCPU",instance="api-1:9100",job="node"}')}`);
  });

  it('Grafana: alerting/silence/new with alertmanager=grafana, one matcher each, and the org', () => {
    const alert = { ...amAlert(), source: 'grafana', group: { ...amAlert().group!, externalURL: 'https://grafana.example.com/sub/', orgId: 3 } };
    const url = new URL(silenceFormLinks(alert, silenceMatchers(alert.labels!, ['alertname', 'instance']))[0]!);
    expect(`${url.origin}${url.pathname}`).toBe('https://grafana.example.com/sub/alerting/silence/new');
    expect(url.searchParams.get('alertmanager')).toBe('grafana');
    expect(url.searchParams.getAll('matcher')).toEqual(['alertname=HighCPU', 'instance=api-1:9100']);
    expect(url.searchParams.get('orgId')).toBe('3');
  });

  it('none without an external URL, or without a matcher that matches something', () => {
    const alert = amAlert(undefined, '');
    expect(silenceFormLinks(alert, silenceMatchers(alert.labels!, 'all'))).toEqual([]);
    expect(silenceFormLinks(amAlert(), silenceMatchers(amAlert().labels!, ['cluster']))).toEqual([]);
    expect(silenceFormLinks({ ...amAlert(), source: 'panther' }, silenceMatchers(amAlert().labels!, 'all'))).toEqual([]);
  });
});

describe('ids and the comment', () => {
  it('round-trip through both platforms, and anything else is not ours', () => {
    expect(parseSilenceRequest(silenceOptionValue(42, HOUR))).toEqual({ kind: 'silence', deliveryId: 42, durationMs: HOUR });
    expect(parseSilenceRequest(silenceMenuId(42), String(4 * HOUR))).toEqual({ kind: 'silence', deliveryId: 42, durationMs: 4 * HOUR });
    expect(parseSilenceRequest(unsilenceButtonId(7))).toEqual({ kind: 'unsilence', deliveryId: 7 });
    for (const [id, chosen] of [[silenceMenuId(42), undefined], [silenceMenuId(42), 'abc'], ['sl:x', '1'], ['cb:acknowledge:1', undefined], [42, undefined], ['su:1:2', undefined]] as const) {
      expect(parseSilenceRequest(id, chosen)).toBeNull();
    }
  });

  it('names the bridge, the clicker, the alert and the message', () => {
    const text = silenceComment({ actor: { platform: 'discord', id: '1400000000000000001', name: 'bob' }, durationMs: 4 * HOUR, alert: { title: 'x'.repeat(500), fingerprint: 'abc' }, destination: 'soc-discord', deliveryId: 9 });
    expect(text).toBe(`Silenced for 4 h from Discord by @bob (1400000000000000001) with chatops-bridge. Alert: "${'x'.repeat(199)}…" (fingerprint abc). Message: delivery 9 to soc-discord`);
  });
});

describe('state lines and controls', () => {
  const ana = { platform: 'slack' as const, id: 'U1', name: 'ana' };
  const bob = { platform: 'discord' as const, id: '2', name: 'bob' };
  const start = Date.parse('2026-03-01T17:00:00Z');
  const view = (extra: Partial<SilenceView>): SilenceView => ({ state: 'active', source: 'alertmanager', by: ana, durationMs: HOUR, endsAt: start + HOUR, ...extra });
  it.each<[Partial<SilenceView>, string[], ReturnType<typeof silenceControl>]>([
    [{ state: 'creating' }, ['Silence for 1 h requested by @ana'], 'unsilence'],
    [{ state: 'creating', error: '401 from Alertmanager' }, ['Silence for 1 h requested by @ana', 'Silence failed: 401 from Alertmanager (retrying)'], 'unsilence'],
    [{}, ['Silenced by @ana until 18:00 UTC'], 'unsilence'],
    [{ durationMs: 86_400_000, endsAt: start + 86_400_000 }, ['Silenced by @ana until 2026-03-02 17:00 UTC'], 'unsilence'],
    [{ error: '403 from Grafana', unsilencedBy: bob }, ['Silenced by @ana until 18:00 UTC', 'Unsilence failed: 403 from Grafana'], 'unsilence'],
    [{ state: 'expiring', unsilencedBy: bob }, ['Silenced by @ana until 18:00 UTC', 'Unsilence requested by @bob'], 'none'],
    [{ state: 'expired', unsilencedBy: bob, unsilencedAt: start + 600_000 }, ['Unsilenced by @bob at 17:10 UTC (silenced by @ana)'], 'menu'],
    [{ state: 'ended' }, ['Silence by @ana ended at 18:00 UTC'], 'menu'],
    [{ state: 'failed', error: '400 from Alertmanager: bad matcher' }, ['Silence failed: 400 from Alertmanager: bad matcher'], 'menu'],
  ])('%j', (extra, lines, control) => {
    expect(silenceLines(view(extra))).toEqual(lines);
    expect(silenceControl(view(extra))).toBe(control);
  });
  it('no silence yet: the menu', () => expect(silenceControl(undefined)).toBe('menu'));
});

describe('config', () => {
  const base = (sources: string, extra = '') =>
    `sources:\n${sources}\n${extra}destinations:\n  c: { type: console }\nroutes:\n  - name: r\n    to: [c]\n`;
  const load = (yaml: string, env: Record<string, string> = {}) => loadConfigText(yaml, env);

  it('silences are on with 1 h, 4 h, 24 h and all labels unless configured otherwise; off is off', () => {
    const on = load(base('  alertmanager: {}'));
    if (!on.ok) throw new Error(formatProblems(on.problems, 'c'));
    expect(on.config.sources.alertmanager!.silence).toEqual({ durations: [HOUR, 4 * HOUR, 24 * HOUR], matchers: 'all' });
    expect(on.config.sources.alertmanager!.api).toBeUndefined();
    const off = load(base('  grafana: { silence: off }'));
    expect(off.ok && off.config.sources.grafana!.silence).toBe('off');
    const custom = load(base('  alertmanager:\n    silence: { durations: [30m, 2d], matchers: [alertname, instance], allow: { slackUsers: [U0ONCALL1] } }'));
    expect(custom.ok && custom.config.sources.alertmanager!.silence).toEqual({ durations: [1_800_000, 172_800_000], matchers: ['alertname', 'instance'], allow: { slackUsers: ['U0ONCALL1'] } });
  });

  it.each([
    ['  alertmanager:\n    silence: { durations: [90s] }', 'sources.alertmanager.silence.durations[0]', /from 1m to 90d/],
    ['  alertmanager:\n    silence: { durations: [100d] }', 'sources.alertmanager.silence.durations[0]', /from 1m to 90d/],
    ['  alertmanager:\n    silence: { durations: [1h, 60m] }', 'sources.alertmanager.silence.durations', /same duration twice/],
    ['  alertmanager:\n    silence: { durations: [] }', 'sources.alertmanager.silence.durations', /at least one duration/],
    [`  alertmanager:\n    silence: { durations: [${Array.from({ length: 26 }, (_, i) => `${i + 1}h`).join(', ')}] }`, 'sources.alertmanager.silence.durations', /at most 25/],
    ['  alertmanager:\n    silence: { matchers: [] }', 'sources.alertmanager.silence.matchers', /all or a list|at least one label/],
    ['  alertmanager:\n    api: { url: "ftp://am" }', 'sources.alertmanager.api.url', /http\(s\)/],
    ['  alertmanager:\n    api: { url: "not a url" }', 'sources.alertmanager.api.url', /http\(s\)/],
    ['  alertmanager:\n    api: { url: "http://am:9093", auth: { bearer: t, basic: { username: u, password: p } } }', 'sources.alertmanager.api.auth', /either bearer or basic/],
    ['  grafana:\n    api: { url: "http://g", headers: { Authorization: x } }', 'sources.grafana.api.headers', /set by the bridge/],
    // fetch() refuses a URL with credentials: every call would fail as "unreachable (network error)".
    ['  alertmanager:\n    api: { url: "https://bridge:pw-0001@am.example.com" }', 'sources.alertmanager.api.url', /auth\.basic/],
    // A call longer than half the job's 120 s lease lets another replica take the job over mid-call and silence twice.
    ['  alertmanager:\n    api: { url: "http://am:9093", timeoutMs: 60000 }', 'sources.alertmanager.api.timeoutMs', /at most 55000/],
  ])('refuses %j', (sources, path, message) => {
    const result = load(base(sources));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.some((p) => p.path === path && message.test(p.message))).toBe(true);
    expect(JSON.stringify(result.problems)).not.toContain('pw-0001');
  });

  it('warns about an API without interactivity, and about credentials over plain http; never echoes a secret', () => {
    const result = load(base('  alertmanager:\n    api: { url: "http://am.internal:9093", auth: { bearer: "${AM_API_TOKEN}" } }'), { AM_API_TOKEN: 'am-secret-0001' });
    if (!result.ok) throw new Error(formatProblems(result.problems, 'c'));
    expect(result.warnings.filter((w) => w.path.startsWith('sources.alertmanager.api')).map((w) => [w.path, w.message])).toEqual([
      ['sources.alertmanager.api', expect.stringMatching(/needs slack.signingSecret or discord.publicKey/)],
      ['sources.alertmanager.api.url', expect.stringMatching(/plain http/)],
    ]);
    expect(JSON.stringify(result.warnings)).not.toContain('am-secret-0001');
  });

  it('every API credential and header value is a secret to redact', () => {
    const result = load(base('  alertmanager:\n    api: { url: "https://am", auth: { basic: { username: u, password: pw-0001 } }, headers: { X-Scope-OrgID: tenant-7 } }\n  grafana:\n    api: { url: "https://g", auth: { bearer: sa-token-0001 } }'));
    if (!result.ok) throw new Error(formatProblems(result.problems, 'c'));
    expect(configSecrets(result.config)).toEqual(expect.arrayContaining(['pw-0001', 'tenant-7', 'sa-token-0001']));
  });
});

describe('what format() draws', () => {
  const engine = new TemplateEngine(undefined);
  const config = (api: boolean) => {
    const result = loadConfigText(
      `sources:\n  alertmanager: {${api ? ' api: { url: "https://am.example.com" } ' : ''}}\ndestinations:\n  c: { type: console }\nroutes:\n  - name: r\n    to: [c]\n`,
      {},
    );
    if (!result.ok) throw new Error(formatProblems(result.problems, 'c'));
    return result.config;
  };
  const ctxFor = (api: boolean, view: TriageView = OPEN_VIEW, revision = 0) => ({
    route: 'r',
    deliveryKey: 'k',
    ...triageContext(triagePolicies(config(api).routes, config(api).sources).get('r'), 12, revision, () => view, amAlert()),
  });
  const silenced: TriageView = { ...OPEN_VIEW, silence: { state: 'active', source: 'alertmanager', by: { platform: 'slack', id: 'U1', name: 'ana' }, durationMs: HOUR, endsAt: Date.parse('2026-03-01T18:00:00Z') } };

  it('Slack: the menu in an actions block of its own; the Unsilence button once silenced; a link without interactivity', () => {
    const slack = new SlackFormatter('s', { channel: 'C0123456789' }, engine, true);
    const menu = slack.format(amAlert(), ctxFor(true)).body as unknown as { blocks: { type: string; block_id?: string; elements?: unknown[] }[] };
    expect(menu.blocks.at(-1)).toEqual({
      type: 'actions',
      block_id: 'silence.r0',
      elements: [
        {
          type: 'static_select',
          action_id: 'silence_menu',
          placeholder: { type: 'plain_text', text: 'Silence for…' },
          options: [
            { text: { type: 'plain_text', text: '1 h' }, value: 'sl:3600000:12' },
            { text: { type: 'plain_text', text: '4 h' }, value: 'sl:14400000:12' },
            { text: { type: 'plain_text', text: '24 h' }, value: 'sl:86400000:12' },
          ],
        },
      ],
    });
    expect(validateSlackMessage(menu as never)).toEqual([]);
    const after = slack.format(amAlert(), ctxFor(true, silenced, 3)).body as unknown as { blocks: { block_id?: string; elements?: { text: string }[] }[] };
    expect(JSON.stringify(after.blocks)).toContain('Silenced by @ana until 18:00 UTC');
    expect(after.blocks.at(-1)).toMatchObject({ block_id: 'silence.r3', elements: [{ type: 'button', action_id: 'silence_unsilence', value: 'su:12' }] });
    const plain = new SlackFormatter('s', { channel: 'C0123456789' }, engine, false).format(amAlert(), ctxFor(true)).body as unknown as { blocks: { elements?: { url?: string }[] }[] };
    expect(plain.blocks.at(-1)!.elements![0]!.url).toMatch(/^http:\/\/am\.example\.com:9093\/#\/silences\/new\?filter=/);
  });

  it('no control for what cannot be silenced through an Alertmanager: Panther alerts, legacy Grafana alerts', () => {
    const result = loadConfigText(`sources:\n  grafana: { api: { url: "https://g.example.com" } }\ndestinations:\n  c: { type: console }\nroutes:\n  - name: r\n    to: [c]\n`, {});
    if (!result.ok) throw new Error(formatProblems(result.problems, 'c'));
    const policy = triagePolicies(result.config.routes, result.config.sources).get('r');
    const grafana = (file: string) => {
      const parsed = parseGrafanaPayload(loadFixture(`../grafana/${file}`));
      if (!parsed.ok) throw new Error('fixture');
      return parsed.alerts[0]!;
    };
    expect(triageContext(policy, 1, 0, () => OPEN_VIEW, grafana('v11-values-null-relative.json')).triage?.silence).toMatchObject({ menu: true });
    expect(triageContext(policy, 1, 0, () => OPEN_VIEW, grafana('legacy-alerting.json')).triage?.silence).toBeUndefined();
    expect(triageContext(policy, 1, 0, () => OPEN_VIEW, { ...amAlert(), source: 'panther' }).triage?.silence).toBeUndefined();
  });

  it('Discord layout v2: the select sits in the container in a row of its own, valid by the fake\'s V2 rules', () => {
    const discord = new DiscordChannelFormatter('d', { channel: '1100000000000000001', layout: 'v2' }, engine, true);
    const body = discord.format(amAlert(), ctxFor(true)).body as { flags: number; components: unknown[] };
    const rows: { type: number; components: { type: number; custom_id?: string }[] }[] = [];
    const walk = (list: unknown): void => {
      for (const c of Array.isArray(list) ? (list as { type: number; components?: unknown }[]) : []) {
        if (c.type === 1) rows.push(c as (typeof rows)[number]);
        walk(c.components);
      }
    };
    walk(body.components);
    expect(rows.find((r) => r.components.some((c) => c.type === 3))?.components).toEqual([expect.objectContaining({ type: 3, custom_id: 'sl:12' })]);
    expect(validateDiscordMessage(body, { webhook: false, withComponents: false })).toEqual([]);
  });

  it('Discord: a string select alone in the row after the triage buttons; the fitter keeps it, a plain webhook gets none', () => {
    const discord = new DiscordChannelFormatter('d', { channel: '1100000000000000001' }, engine, true);
    const body = discord.format(amAlert(), ctxFor(true)).body as { components: { components: { type: number }[] }[] };
    expect(body.components[0]!.components.map((c) => c.type)).toEqual([2, 2, 2]);
    expect(body.components[1]).toEqual({ type: 1, components: [{ type: 3, custom_id: 'sl:12', placeholder: 'Silence for…', options: [{ label: '1 h', value: '3600000' }, { label: '4 h', value: '14400000' }, { label: '24 h', value: '86400000' }] }] });
    expect(validateDiscordMessage(body, { webhook: false, withComponents: false })).toEqual([]);
    // The fitter: a select shares its row with nothing, and a plain webhook cannot send one.
    const crowded = fitDiscordMessage({ content: 'x', components: [{ type: 1, components: [{ type: 2, style: 1, label: 'A', custom_id: 'a' }, body.components[1]!.components[0]] }] }, { allowInteractive: true });
    expect((crowded.body.components as { components: { type: number }[] }[])[0]!.components.map((c) => c.type)).toEqual([3]);
    expect(crowded.warnings).toContainEqual(expect.stringMatching(/select must be alone/));
    const webhook = fitDiscordMessage({ content: 'x', components: [body.components[1]!] }, { allowInteractive: false });
    expect(webhook.body.components).toBeUndefined();
  });
});
