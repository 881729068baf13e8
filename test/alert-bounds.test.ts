/**
 * Strings over 50,000 characters are cut when an alert is accepted (src/domain/alert-bounds.ts): the pure function,
 * and through the real bridge (HTTP → store → Slack fake): what is stored and posted, and that duplicates are still
 * judged on the payload as sent.
 */
import type { RunningBridge } from '../src/bridge';
import { loadConfigText } from '../src/config/load';
import type { Alert, JsonValue } from '../src/domain/alert';
import { ALERT_STRING_MAX, GROUP_TEXT_MAX, boundAlert } from '../src/domain/alert-bounds';
import { renderPayload } from '../src/rendering/render-alert';
import { parsePantherPayload } from '../src/sources/panther';
import { harnessConfig, postAlert, postGroup, startHarnessBridge, tempStorePath } from './helpers/bridge-harness';
import { startFakeDiscord, type FakeDiscord } from './helpers/fake-discord';
import { startFakeSlack, type FakeSlack } from './helpers/fake-slack';
import { makeAlertPayload } from './helpers/fixtures';
import { until } from './helpers/interactions';
import { queryStore } from './helpers/store-query';
import { accept, ENGINES, useEngine } from './helpers/store-engines';

const base: Alert = {
  source: 'panther',
  dedupKey: 'k',
  alertId: 'a1',
  detectionId: 'D.1',
  detectionName: null,
  severity: 'HIGH',
  type: 'RULE',
  title: 't',
  description: null,
  runbook: null,
  link: 'https://acme.runpanther.net/alerts/a1',
  tags: [],
  createdAt: '2026-12-07T00:00:00Z',
  createdAtMs: 0,
  version: null,
  context: {},
};
const long = (n = 900_000, c = 'A') => c.repeat(n);

describe('boundAlert', () => {
  it('returns the same object when nothing is over the bound', () => {
    const alert = { ...base, title: long(ALERT_STRING_MAX), context: { deep: [{ x: long(ALERT_STRING_MAX) }] } };
    expect(boundAlert(alert)).toBe(alert);
  });

  it('cuts text to the bound with …, keeping what a channel could show', () => {
    const alert = boundAlert({ ...base, title: `Start ${long()}`, description: long(), runbook: long(), tags: ['ok', long()] });
    for (const value of [alert.title, alert.description!, alert.runbook!, alert.tags[1]!]) {
      expect(value.length).toBe(ALERT_STRING_MAX);
      expect(value.endsWith('…')).toBe(true);
    }
    expect(alert.title.startsWith('Start AAAA')).toBe(true);
    expect(alert.tags[0]).toBe('ok');
  });

  it('never leaves half a surrogate pair at the cut', () => {
    // '😀' is two code units, and the cut (the bound less one for …) is odd: it falls inside a pair.
    const title = '😀'.repeat(ALERT_STRING_MAX);
    const cut = boundAlert({ ...base, title }).title;
    expect(cut.length).toBeLessThanOrEqual(ALERT_STRING_MAX);
    expect(/[\uD800-\uDBFF]$/.test(cut.slice(0, -1))).toBe(false);
  });

  it('keeps distinct long ids distinct, and the same id the same', () => {
    const a = boundAlert({ ...base, alertId: `${long()}1`, detectionId: `${long()}1` });
    const b = boundAlert({ ...base, alertId: `${long()}2`, detectionId: `${long()}2` });
    const a2 = boundAlert({ ...base, alertId: `${long()}1`, detectionId: `${long()}1` });
    expect(a.alertId!.length).toBeLessThanOrEqual(ALERT_STRING_MAX);
    expect(a.alertId).toMatch(/…#[0-9a-f]{16}$/);
    expect(a.alertId).not.toBe(b.alertId);
    expect(a.detectionId).not.toBe(b.detectionId);
    expect(a.alertId).toBe(a2.alertId);
  });

  it('drops a link over the bound instead of cutting it into another URL', () => {
    const alert = boundAlert({ ...base, link: `https://x.example/${long()}`, links: [{ label: 'ok', url: 'https://g.example/d' }, { label: 'big', url: `https://g.example/${long()}` }] });
    expect(alert.link).toBe('');
    expect(alert.links).toEqual([{ label: 'ok', url: 'https://g.example/d' }]);
  });

  it('cuts strings and keys anywhere in context, annotations and values; keeps labels as sent', () => {
    const labels = { alertname: 'Big', pod: long() };
    const group = { receiver: 'r', status: 'firing', groupKey: 'g', groupLabels: { pod: long() }, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am', truncatedAlerts: 0 };
    const alert = boundAlert({
      ...base,
      context: { small: 1, nested: { list: [true, long()], [long(60_000, 'k')]: 'v' } },
      annotations: { summary: long() },
      values: { A: long() },
      valueString: long(),
      labels,
      group,
    });
    const nested = alert.context.nested as { list: unknown[] } & Record<string, unknown>;
    expect(alert.context.small).toBe(1);
    expect((nested.list[1] as string).length).toBe(ALERT_STRING_MAX);
    expect(Object.keys(nested).every((k) => k.length <= ALERT_STRING_MAX)).toBe(true);
    expect(alert.annotations!.summary!.length).toBe(ALERT_STRING_MAX);
    expect((alert.values!.A as string).length).toBe(ALERT_STRING_MAX);
    expect(alert.valueString!.length).toBe(ALERT_STRING_MAX);
    expect(alert.labels).toBe(labels);
    expect(alert.group!.groupLabels.pod).toHaveLength(GROUP_TEXT_MAX - 3); // its key takes 3 of the group budget
  });

  it('reads each part of a deep alert once, however deep the long string lies', () => {
    // A probe property at the bottom of a 200-deep chain, beside a long string: asking "is anything below long?"
    // at every level read it once per level (3.7 s of CPU for an 860 KB alertContext built so); one walk reads it once.
    let reads = 0;
    const bottom: { [key: string]: JsonValue } = {};
    Object.defineProperty(bottom, 'probe', { enumerable: true, get: () => (reads++, 'small') });
    let node: JsonValue = { long: long(60_000), wide: bottom };
    for (let depth = 0; depth < 200; depth++) node = { x: node };
    const alert = boundAlert({ ...base, context: { c: node } });
    expect(reads).toBe(1);
    expect(JSON.stringify(alert.context)).toContain('"probe":"small"');
  });

  it('keeps an own `__proto__` key of a context it copies', () => {
    const context = JSON.parse(`{"__proto__":{"polluted":1},"big":"${long(60_000)}"}`) as Alert['context'];
    const bounded = boundAlert({ ...base, context }).context;
    expect(Object.keys(bounded)).toEqual(['__proto__', 'big']);
    expect(JSON.parse(JSON.stringify(bounded)).__proto__).toEqual({ polluted: 1 });
    expect(({} as { polluted?: number }).polluted).toBeUndefined();
  });

  it('cuts every other string a source can send long: type, fingerprint, endsAt and the group (its URL dropped)', () => {
    const group = { receiver: long(), status: 'firing', groupKey: long(), groupLabels: { a: long() }, commonLabels: {}, commonAnnotations: { d: long() }, externalURL: `http://am.example/${long()}`, notificationReason: long(), truncatedAlerts: 0 };
    const alert = boundAlert({ ...base, type: long(), fingerprint: long(), endsAt: `2026-12-07T00:00:00.${'0'.repeat(900_000)}Z`, labels: { a: long() }, group });
    for (const value of [alert.type, alert.endsAt!, alert.group!.receiver, alert.group!.groupKey, alert.group!.notificationReason!]) {
      expect(value.length).toBe(ALERT_STRING_MAX);
    }
    // The group's maps share GROUP_TEXT_MAX: the first entry takes it all, cut; the next is left out.
    expect(alert.group!.groupLabels.a).toHaveLength(GROUP_TEXT_MAX - 1);
    expect(alert.group!.groupLabels.a!.endsWith('…')).toBe(true);
    expect(alert.group!.commonAnnotations).toEqual({});
    expect(alert.fingerprint).toMatch(/^A+…#[0-9a-f]{16}$/);
    expect(alert.group!.externalURL).toBe('');
    expect(alert.labels!.a).toHaveLength(900_000);
  });

  it("holds the group's labels and annotations to GROUP_TEXT_MAX together, once per POST, in order", () => {
    // 18 annotations of 50,000 characters: copied into each of 1,000 alerts, 900 MB of stored alerts from 1 MB.
    const commonAnnotations = Object.fromEntries(Array.from({ length: 18 }, (_, i) => [`a${i}`, long(ALERT_STRING_MAX, String.fromCharCode(97 + i))]));
    const group = { receiver: 'r', status: 'firing', groupKey: 'g', groupLabels: { alertname: 'Big' }, commonLabels: { job: 'node' }, commonAnnotations, externalURL: 'http://am', truncatedAlerts: 0 };
    const first = boundAlert({ ...base, title: 'one', group });
    const second = boundAlert({ ...base, title: 'two', group });
    expect(second.group).toBe(first.group);
    const text = (m: Record<string, string>) => Object.entries(m).reduce((n, [k, v]) => n + k.length + v.length, 0);
    const kept = first.group!;
    expect(text(kept.groupLabels) + text(kept.commonLabels) + text(kept.commonAnnotations)).toBeLessThanOrEqual(GROUP_TEXT_MAX);
    expect(kept.groupLabels).toEqual({ alertname: 'Big' });
    expect(kept.commonLabels).toEqual({ job: 'node' });
    expect(Object.keys(kept.commonAnnotations)).toEqual(['a0']);
    expect(kept.commonAnnotations.a0!.startsWith('aaaa')).toBe(true);

    const small = { ...group, commonAnnotations: { summary: 'disk full' } };
    expect(boundAlert({ ...base, group: small }).group).toBe(small);
  });

  it('never leaves half a surrogate pair in a long id', () => {
    const id = `${'a'.repeat(199)}😀${long()}`;
    const bounded = boundAlert({ ...base, alertId: id }).alertId!;
    expect(/\p{Surrogate}/u.test(bounded)).toBe(false);
    expect(bounded).toMatch(/^a{199}…#[0-9a-f]{16}$/);
  });

  it('render (and explain, the console preview) shows the alert as serve keeps it', () => {
    // The console destination writes the title whole: render showed 900,000 characters where serve writes 50,000.
    const loaded = loadConfigText('destinations:\n  out: { type: console }\nroutes:\n  - name: all\n    to: [out]\n', {});
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    const rendered = renderPayload(loaded.config, makeAlertPayload({ title: long() }));
    if (!rendered.ok) throw new Error(JSON.stringify(rendered.issues));
    const { title } = rendered.deliveries[0]!.body as { title: string };
    expect(title).toHaveLength(ALERT_STRING_MAX);
    expect(title.endsWith('A…')).toBe(true);
  });
});

describe.each(ENGINES)('on %s, an alert with an id over the bound', (_name, open) => {
  const ctx = useEngine(open);
  it('is found by the id as the source sent it (outbox list --alert, the console)', async () => {
    const id = `${long(60_000, 'i')}1`;
    const parsed = parsePantherPayload(makeAlertPayload({ alertId: id }));
    if (!parsed.ok) throw new Error('fixture does not parse');
    expect((await accept(ctx.engine, boundAlert(parsed.alert), [{ route: 'r', destination: 'slack' }])).status).toBe('accepted');
    expect(await ctx.engine.ledger().list({ alertId: id })).toHaveLength(1);
    expect(await ctx.engine.ledger().list({ alertId: `${long(60_000, 'i')}2` })).toHaveLength(0);
  });
});

describe('through the bridge', () => {
  let slack: FakeSlack;
  let discord: FakeDiscord;
  let bridge: RunningBridge;
  beforeAll(async () => {
    slack = await startFakeSlack();
    discord = await startFakeDiscord();
    bridge = await startHarnessBridge(
      harnessConfig({ slackUrl: slack.url, discordApi: discord.api, webhookUrl: discord.webhookUrl(), storePath: tempStorePath(), routesYaml: 'routes:\n  - name: all\n    to: [soc-slack]\n    digest: off' }),
    );
  });
  afterAll(async () => {
    await bridge.stop();
    await slack.close();
    await discord.close();
  });

  it('stores and posts a 900 KB title cut to the bound; payloads that differ past the cut are two alerts, a retry is one', async () => {
    const first = makeAlertPayload({ alertId: 'big-1', title: `${long()}1` });
    const second = makeAlertPayload({ alertId: 'big-1', title: `${long()}2` });
    expect((await postAlert(bridge, first)).body.status).toBe('accepted');
    expect((await postAlert(bridge, second)).body.status).toBe('accepted');
    expect((await postAlert(bridge, first)).body.status).toBe('duplicate');

    const stored = queryStore<{ n: number }>(bridge, `SELECT length(alert_json) AS n FROM alerts`);
    expect(stored).toHaveLength(2);
    for (const { n } of stored) expect(n).toBeLessThan(ALERT_STRING_MAX + 5_000);
    await until(() => slack.messages.filter((m) => m.method === 'chat.postMessage').length === 2);
    expect(JSON.stringify(slack.messages)).toContain('AAAA');
  });

  it('cuts an Alertmanager annotation but keeps the full label a silence matches on', async () => {
    const pod = long(60_000, 'p');
    const group = {
      version: '4',
      status: 'firing',
      receiver: 'r',
      groupKey: 'g',
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://am.example',
      truncatedAlerts: 0,
      alerts: [{ status: 'firing', labels: { alertname: 'Big', pod }, annotations: { summary: long() }, startsAt: '2026-12-07T00:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://prom.example/g', fingerprint: 'f1' }],
    };
    expect((await postGroup(bridge, group)).status).toBe(200);
    const [row] = queryStore<{ json: string }>(bridge, `SELECT alert_json AS json FROM alerts WHERE source = 'alertmanager'`);
    const alert = JSON.parse(row!.json) as Alert;
    expect(alert.labels!.pod).toBe(pod);
    expect(alert.annotations!.summary!.length).toBe(ALERT_STRING_MAX);
  });
});
