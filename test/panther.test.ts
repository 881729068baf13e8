import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parsePantherPayload } from '../src/sources/panther';
import { parseAwsDateTime } from '../src/domain/aws-datetime';
import { severityAtLeast, SEVERITIES } from '../src/domain/alert';

// Copies of the two public real payloads (shared/fixtures/panther), kept in the repo so a clean clone tests alone.
const shared = (name: string) => JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'panther', 'valid', 'real', name), 'utf8'));
const base = () => ({
  id: 'AWS.CloudTrail.RootLogin',
  createdAt: '2024-05-06T07:08:09.123456Z',
  severity: 'HIGH',
  type: 'RULE',
  link: 'https://acme.runpanther.net/alerts/0123456789abcdef0123456789abcdef',
  title: 'Root login',
  name: 'Root Login',
  alertId: '0123456789abcdef0123456789abcdef',
  alertContext: { ip: '1.2.3.4' },
  description: 'desc',
  runbook: 'https://wiki.example/runbook',
  tags: ['AWS', 'Production'],
  version: 'v1',
});

describe('Panther payload schema', () => {
  it.each(['seed-docs-example.json', 'send-test-alert.json'])('accepts the real payload %s', (file) => {
    const result = parsePantherPayload(shared(file));
    expect(result.ok).toBe(true);
  });

  it('normalises nulls and missing optionals', () => {
    const payload: Record<string, unknown> = { ...base(), name: null, alertId: null, description: null, runbook: '', tags: null, version: null, alertContext: null };
    const result = parsePantherPayload(payload);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.alert).toMatchObject({ detectionName: null, alertId: null, description: null, runbook: null, tags: [], version: null, context: {} });
    for (const key of ['name', 'alertId', 'description', 'runbook', 'tags', 'version', 'alertContext']) delete payload[key];
    expect(parsePantherPayload(payload).ok).toBe(true);
  });

  it('ignores unknown extra fields', () => {
    const result = parsePantherPayload({ ...base(), newField: { x: 1 }, assignee: 'bob' });
    expect(result.ok).toBe(true);
  });

  it.each(SEVERITIES)('accepts severity %s', (severity) => expect(parsePantherPayload({ ...base(), severity }).ok).toBe(true));
  it.each(['RULE', 'RULE_ERROR', 'POLICY', 'SCHEDULED_RULE', 'SCHEDULED_RULE_ERROR', 'CORRELATION_RULE', 'SYSTEM_ERROR', 'BRAND_NEW_TYPE2'])(
    'accepts type %s',
    (type) => expect(parsePantherPayload({ ...base(), type }).ok).toBe(true),
  );

  it.each([
    ['severity', 'high'],
    ['severity', 'URGENT'],
    ['type', 'rule'],
    ['type', 'RULE ERROR'],
    ['type', '_RULE'],
    ['link', '/alerts/1'],
    ['link', 'javascript:alert(1)'],
    ['link', 'ftp://x.example/a'],
    ['createdAt', '2024-05-06T07:08:09'],
    ['createdAt', '2023-02-30T00:00:00Z'],
    ['createdAt', '2024-05-06T07:08:09.1234567890Z'],
    ['createdAt', 1714979289],
    ['tags', 'a,b'],
    ['tags', ['a', 1]],
    ['alertContext', ['a']],
    ['alertContext', 'x'],
    ['id', ''],
    ['title', 5],
  ])('rejects %s = %j with the path named', (field, value) => {
    const result = parsePantherPayload({ ...base(), [field]: value });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.some((i) => i.path.startsWith(field))).toBe(true);
  });

  it.each(['id', 'createdAt', 'severity', 'type', 'link', 'title'])('requires %s', (field) => {
    const payload: Record<string, unknown> = base();
    delete payload[field];
    const result = parsePantherPayload(payload);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues[0]?.path).toBe(field);
  });

  it.each([null, [], 5, 'text'])('rejects a body that is %j', (body) => {
    const result = parsePantherPayload(body);
    expect(result.ok).toBe(false);
  });

  it('gives retries of the same alert one dedup key, regardless of key order', () => {
    const a = parsePantherPayload(base());
    const reordered = Object.fromEntries(Object.entries(base()).reverse());
    const b = parsePantherPayload(JSON.parse(JSON.stringify(reordered).replace(/</g, '\\u003c')));
    const resent = parsePantherPayload({ ...base(), title: '[Re-sent]: Root login' });
    if (!a.ok || !b.ok || !resent.ok) throw new Error('parse failed');
    expect(a.alert.dedupKey).toBe(b.alert.dedupKey);
    expect(resent.alert.dedupKey).not.toBe(a.alert.dedupKey);
  });
});

describe('AWSDateTime', () => {
  it.each([
    ['2020-10-13T03:35:24Z', Date.UTC(2020, 9, 13, 3, 35, 24)],
    ['2022-04-26T03:17:32.099054303Z', Date.UTC(2022, 3, 26, 3, 17, 32, 99)],
    ['2020-09-01T21:10:41.8Z', Date.UTC(2020, 8, 1, 21, 10, 41, 800)],
    ['2024-01-02T08:34:05+05:30', Date.UTC(2024, 0, 2, 3, 4, 5)],
    ['2024-01-01T19:04:05-08:00', Date.UTC(2024, 0, 2, 3, 4, 5)],
    ['2024-01-02T03:04:05+00:00:00', Date.UTC(2024, 0, 2, 3, 4, 5)],
    ['2024-01-02T03:04Z', Date.UTC(2024, 0, 2, 3, 4)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
  ])('parses %s', (text, expected) => expect(parseAwsDateTime(text)).toBe(expected));

  it.each(['2023-02-29T00:00:00Z', '2024-13-01T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T00:00:00', '2024-01-01 00:00:00Z', '2024-01-01T00:00:00+24:00', ''])(
    'rejects %s',
    (text) => expect(parseAwsDateTime(text)).toBeNull(),
  );
});

describe('severity order', () => {
  it('orders INFO < LOW < MEDIUM < HIGH < CRITICAL', () => {
    expect(severityAtLeast('CRITICAL', 'HIGH')).toBe(true);
    expect(severityAtLeast('MEDIUM', 'HIGH')).toBe(false);
    expect(severityAtLeast('INFO', 'INFO')).toBe(true);
  });
});
