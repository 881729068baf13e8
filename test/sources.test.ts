/**
 * The Alertmanager and Grafana parsers against payloads as the senders emit them across versions (fixtures in
 * test/fixtures/alertmanager and test/fixtures/grafana), invalid ones (400 issues with paths) and hostile ones.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseAlertmanagerPayload } from '../src/sources/alertmanager';
import { parseGrafanaPayload } from '../src/sources/grafana';
import { absoluteHttpUrl, labelFingerprint, parseGoTime, severityFromLabels } from '../src/sources/labels';
import { detectSource } from '../src/sources/detect';

const dir = (source: string) => path.join(__dirname, 'fixtures', source);
const load = (source: string, file: string) => JSON.parse(fs.readFileSync(path.join(dir(source), file), 'utf8'));
const valid = (source: string) => fs.readdirSync(dir(source)).filter((f) => f.endsWith('.json'));

describe.each([
  ['alertmanager', parseAlertmanagerPayload],
  ['grafana', parseGrafanaPayload],
] as const)('%s fixtures', (source, parse) => {
  it.each(valid(source))('%s parses, with http(s)-only links and a stable dedup key', (file) => {
    const body = load(source, file);
    expect(detectSource(body)).toBe(source);
    const first = parse(body, { now: 1_700_000_000_000 });
    const again = parse(JSON.parse(JSON.stringify(body)), { now: 1_800_000_000_000 });
    if (!first.ok || !again.ok) throw new Error(JSON.stringify(first));
    expect(first.alerts.length).toBeGreaterThan(0);
    expect(first.defaults).toEqual([]);
    for (const [i, alert] of first.alerts.entries()) {
      expect(alert.source).toBe(source);
      expect(alert.fingerprint).toMatch(/\S/);
      expect(['firing', 'resolved']).toContain(alert.status);
      for (const url of [alert.link, ...(alert.links ?? []).map((l) => l.url)].filter((u) => u !== '')) expect(url).toMatch(/^https?:\/\//);
      // A re-send (repeat_interval, retry) is the same alert: same dedup key, whatever the receipt time.
      expect(again.alerts[i]!.dedupKey).toBe(alert.dedupKey);
      expect(alert.title.trim()).not.toBe('');
    }
  });
});

describe.each([
  ['alertmanager', parseAlertmanagerPayload],
  ['grafana', parseGrafanaPayload],
] as const)('%s payloads with fields to default', (source, parse) => {
  it.each(fs.readdirSync(path.join(dir(source), 'defaulted')))('%s is accepted, defaulting exactly the listed fields', (file) => {
    const { defaults, payload } = load(source, path.join('defaulted', file)) as { defaults: string[]; payload: unknown };
    const parsed = parse(payload, { now: 1_700_000_000_000 });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    expect([...new Set(parsed.defaults)].sort()).toEqual([...defaults].sort());
    expect(parsed.alerts.length).toBeGreaterThan(0);
    for (const alert of parsed.alerts) {
      expect(alert.title.trim()).not.toBe('');
      for (const url of [alert.link, ...(alert.links ?? []).map((l) => l.url)].filter((u) => u !== '')) expect(url).toMatch(/^https?:\/\//);
    }
  });
});

describe('alertmanager defaults', () => {
  const NOW = 1_700_000_000_000;
  const parse = (file: string) => {
    const parsed = parseAlertmanagerPayload(load('alertmanager', path.join('defaulted', file)).payload, { now: NOW });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    return parsed;
  };

  it('an unreadable startsAt shows the receipt time, and still keeps one episode apart from another', () => {
    const { alerts } = parse('bad-startsAt.json');
    expect(alerts[1]).toMatchObject({ createdAtMs: NOW, createdAt: new Date(NOW).toISOString() });
    const later = parseAlertmanagerPayload({ alerts: [{ labels: { alertname: 'x' }, startsAt: 'the day after' }] });
    const retry = parseAlertmanagerPayload({ alerts: [{ labels: { alertname: 'x' }, startsAt: 'yesterday' }] }, { now: NOW + 60_000 });
    if (!later.ok || !retry.ok) throw new Error('invalid');
    expect(retry.alerts[0]!.dedupKey).toBe(alerts[1]!.dedupKey);
    expect(later.alerts[0]!.episodeKey).not.toBe(alerts[1]!.episodeKey);
  });

  it('an unknown status is taken from the group, else firing', () => {
    expect(parse('bad-status.json').alerts[0]!.status).toBe('firing');
    const resolved = parseAlertmanagerPayload({ status: 'resolved', alerts: [{ status: 'exploded', labels: { alertname: 'x' } }] });
    expect(resolved.ok && resolved.alerts[0]!.status).toBe('resolved');
  });

  it('label values that are not text are kept as text: numbers and booleans as written, nested values as JSON', () => {
    expect(parse('nested-label.json').alerts[0]!.labels).toEqual({ alertname: 'x', nested: '{"a":"b"}' });
    expect(parse('item-wrong-types.json').alerts[0]!.labels).toEqual({ alertname: 'x', port: '9100', up: 'false' });
  });

  it('an entry of the list that is no alert is left out (counted once per entry), the rest of the group is delivered', () => {
    const parsed = parse('item-not-an-object.json');
    expect(parsed.alerts.map((a) => a.title)).toEqual(['kept']);
    expect(parsed.defaults).toEqual(['alerts', 'alerts']);
  });

  it('counts a field once per alert it was defaulted in', () => {
    const parsed = parseAlertmanagerPayload({ alerts: [{ status: 'x', labels: { alertname: 'a' } }, { status: 'y', labels: { alertname: 'b' } }, { labels: { alertname: 'c' } }] });
    expect(parsed.ok && parsed.defaults).toEqual(['alerts.status', 'alerts.status']);
  });
});

describe('alertmanager mapping', () => {
  it('maps a v0.25 group: severity, title, description, runbook, generator link, tags, firing without endsAt', () => {
    const parsed = parseAlertmanagerPayload(load('alertmanager', 'v0.25-firing-two.json'));
    if (!parsed.ok) throw new Error('invalid');
    const [a, b] = parsed.alerts;
    expect(a).toMatchObject({
      severity: 'CRITICAL',
      title: 'High 5xx rate on api-1',
      description: '5xx rate is 12% over the last 5 minutes.',
      runbook: 'https://runbooks.example.com/api/high-error-rate',
      linkLabel: 'Generator',
      detectionId: 'HighErrorRate',
      alertId: 'a1b2c3d4e5f60718',
      status: 'firing',
      createdAtMs: Date.parse('2024-05-02T10:15:30.123Z'),
    });
    expect(a!.link).toMatch(/^http:\/\/prometheus\.example\.com:9090\/graph\?/);
    expect(a!.endsAt).toBeUndefined();
    expect(a!.tags).toEqual(['alertname=HighErrorRate', 'instance=api-1:9100', 'job=api', 'severity=critical', 'team=payments']);
    expect(a!.context).toEqual({ instance: 'api-1:9100', job: 'api', severity: 'critical', team: 'payments' });
    expect(a!.dedupKey).not.toBe(b!.dedupKey);
  });

  it('resolved: same episode as the firing alert, another dedup key, endsAt set', () => {
    const firing = parseAlertmanagerPayload(load('alertmanager', 'v0.25-firing-two.json'));
    const resolved = parseAlertmanagerPayload(load('alertmanager', 'v0.25-resolved-one.json'));
    if (!firing.ok || !resolved.ok) throw new Error('invalid');
    expect(resolved.alerts[0]!.episodeKey).toBe(firing.alerts[0]!.episodeKey);
    expect(resolved.alerts[0]!.dedupKey).not.toBe(firing.alerts[0]!.dedupKey);
    expect(resolved.alerts[0]!.endsAtMs).toBe(Date.parse('2024-05-02T10:31:02.500Z'));
  });

  it('≤0.19: derives the fingerprint from the labels and resolves a relative generatorURL against externalURL', () => {
    const parsed = parseAlertmanagerPayload(load('alertmanager', 'v0.19-no-fingerprint-relative-url.json'));
    if (!parsed.ok) throw new Error('invalid');
    const alert = parsed.alerts[0]!;
    expect(alert.fingerprint).toBe(labelFingerprint({ alertname: 'NodeDown', instance: 'node-7:9100', severity: 'warning' }));
    expect(alert.link).toBe('http://am.internal:9093/graph?g0.expr=up+%3D%3D+0&g0.tab=1');
    expect(alert.severity).toBe('MEDIUM');
    expect(alert.title).toBe('NodeDown');
    expect(alert.group).toMatchObject({ truncatedAlerts: 0, groupLabels: {}, commonAnnotations: {} });
  });

  it('a relative generatorURL without externalURL is dropped: no link at all', () => {
    const parsed = parseAlertmanagerPayload(load('alertmanager', 'relative-generator-no-external-url.json'));
    if (!parsed.ok) throw new Error('invalid');
    expect(parsed.alerts[0]!.link).toBe('');
    expect(parsed.alerts[0]!.severity).toBe('INFO');
  });

  it('keeps notification_reason, truncatedAlerts and a regex-looking receiver as text', () => {
    const parsed = parseAlertmanagerPayload(load('alertmanager', 'v0.34-reason-routelabels.json'));
    if (!parsed.ok) throw new Error('invalid');
    expect(parsed.alerts[0]!.group).toMatchObject({ receiver: 'sec\\.ops-(prod|stage)', notificationReason: 'new alerts added', truncatedAlerts: 3 });
  });

  it('never turns a javascript: URL into a link or runbook button', () => {
    const parsed = parseAlertmanagerPayload(load('alertmanager', 'hostile-labels.json'));
    if (!parsed.ok) throw new Error('invalid');
    const alert = parsed.alerts[0]!;
    expect(alert.link).toBe('https://am.example.com/');
    expect(alert.linkLabel).toBe('Alertmanager');
    expect(alert.runbook).toBe('javascript:alert(1)'); // text only: templates link http(s) URLs alone
  });

  it.each(fs.readdirSync(path.join(dir('alertmanager'), 'invalid')))('invalid %s (nothing to show): 400 issues name the path', (file) => {
    const { expect: where, payload } = load('alertmanager', path.join('invalid', file));
    const parsed = parseAlertmanagerPayload(payload);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.issues.map((i) => i.path)).toContain(where);
  });

  it('a label named __proto__ is an ordinary label, never a prototype', () => {
    parseAlertmanagerPayload(JSON.parse('{"alerts":[{"labels":{"alertname":"x","__proto__":{"polluted":"yes"}}}]}'));
    const ok = parseAlertmanagerPayload(JSON.parse('{"alerts":[{"labels":{"alertname":"x","__proto__":"p"}}]}'));
    if (!ok.ok) throw new Error('invalid');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(ok.alerts[0]!.labels)).toBe(Object.prototype);
  });
});

describe('grafana mapping', () => {
  it('unified: dashboard, panel and silence links become buttons; values are facts; empty URLs are left out', () => {
    const parsed = parseGrafanaPayload(load('grafana', 'v9-unified-docs-example.json'));
    if (!parsed.ok) throw new Error('invalid');
    const [memory, cpu] = parsed.alerts;
    expect(memory!.links!.map((l) => l.label)).toEqual(['Silence']);
    expect(cpu!.links!.map((l) => l.label)).toEqual(['Dashboard', 'Panel', 'Silence']);
    expect(memory!.values).toEqual({ B: 44.23943737541908, C: 1 });
    expect(memory!.context).toMatchObject({ team: 'blue', zone: 'us-1', values: { B: 44.23943737541908, C: 1 } });
    expect(memory!.group!.orgId).toBe(1);
    expect(cpu!.severity).toBe('CRITICAL');
    expect(memory!.severity).toBe('MEDIUM');
  });

  it('values null and valueString "" are fine; a relative generatorURL resolves against externalURL', () => {
    const parsed = parseGrafanaPayload(load('grafana', 'v11-values-null-relative.json'));
    if (!parsed.ok) throw new Error('invalid');
    expect(parsed.alerts[0]!.values).toEqual({});
    expect(parsed.alerts[0]!.link).toBe('https://grafana.example.com/alerting/grafana/1afz29v7z/view');
  });

  it('legacy alerting: one alert per POST; ok resolves the same rule', () => {
    const firing = parseGrafanaPayload(load('grafana', 'legacy-alerting.json'));
    const ok = parseGrafanaPayload(load('grafana', 'legacy-ok.json'));
    if (!firing.ok || !ok.ok) throw new Error('invalid');
    expect(firing.alerts).toHaveLength(1);
    expect(firing.alerts[0]).toMatchObject({ status: 'firing', title: '[Alerting] Panel Title alert', detectionId: 'Panel Title alert' });
    expect(ok.alerts[0]!.status).toBe('resolved');
    expect(ok.alerts[0]!.episodeKey).toBe(firing.alerts[0]!.episodeKey);
    expect(firing.alerts[0]!.links!.map((l) => l.label)).toEqual(['Image']);
  });
});

describe('label helpers', () => {
  it('severity from the label: mapped, case-insensitive, upper-case severity words, default', () => {
    expect(severityFromLabels({ severity: 'Critical' })).toBe('CRITICAL');
    expect(severityFromLabels({ severity: 'error' })).toBe('HIGH');
    expect(severityFromLabels({ severity: 'none' })).toBe('LOW');
    expect(severityFromLabels({ severity: 'LOW' })).toBe('LOW');
    expect(severityFromLabels({ severity: 'page' })).toBe('MEDIUM');
    expect(severityFromLabels({})).toBe('MEDIUM');
    expect(severityFromLabels({ prio: 'p1' }, { label: 'prio', map: { p1: 'CRITICAL' }, default: 'INFO' })).toBe('CRITICAL');
    expect(severityFromLabels({ severity: 'constructor' })).toBe('MEDIUM');
  });

  it('Go times: fractions to nanoseconds, offsets, the zero time', () => {
    expect(parseGoTime('2024-05-02T10:15:30.123456789Z')).toBe(Date.parse('2024-05-02T10:15:30.123Z'));
    expect(parseGoTime('2021-10-12T09:51:03.157076+02:00')).toBe(Date.parse('2021-10-12T07:51:03.157Z'));
    expect(parseGoTime('0001-01-01T00:00:00Z')).toBeNull();
    expect(parseGoTime('yesterday')).toBeNull();
  });

  it('links: absolute http(s) kept, relative resolved, other schemes refused', () => {
    // URL semantics: an absolute path replaces the external URL's path, a relative one extends it.
    expect(absoluteHttpUrl('/graph?x=1', 'http://am:9093/prefix')).toBe('http://am:9093/graph?x=1');
    expect(absoluteHttpUrl('graph?x=1', 'http://am:9093/prefix')).toBe('http://am:9093/prefix/graph?x=1');
    expect(absoluteHttpUrl('graph', 'http://am:9093')).toBe('http://am:9093/graph');
    expect(absoluteHttpUrl('javascript:alert(1)', 'http://am:9093')).toBeNull();
    expect(absoluteHttpUrl('/x', '')).toBeNull();
    expect(absoluteHttpUrl('', 'http://am')).toBeNull();
  });

  it("the derived fingerprint is Prometheus' label-set fingerprint", () => {
    // Empty label set: the FNV-1a 64 offset basis, as model.LabelSet{}.Fingerprint().
    expect(labelFingerprint({})).toBe('cbf29ce484222325');
    expect(labelFingerprint({ b: '2', a: '1' })).toBe(labelFingerprint({ a: '1', b: '2' }));
  });
});
