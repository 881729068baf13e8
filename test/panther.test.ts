import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { canonicalJson, canonicalJsonByWalk } from '../src/domain/canonical-json';
import type { JsonValue } from '../src/domain/alert';
import { isHttpUrl } from '../src/templates/escape';
import { parsePantherPayload, pantherPayloadSchema, pantherToAlert, toWellFormed } from '../src/sources/panther';
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

describe('link normalisation', () => {
  const linkOf = (link: string): string => {
    const result = parsePantherPayload({ ...base(), link });
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    return result.alert.link;
  };

  it.each([
    'https://domain.runpanther.net',
    'https://acme.runpanther.net/alerts/0123?a=1&b=2#frag',
    'HTTPS://ACME.example/Alerts',
    'http://10.0.0.1:8080/x/../y',
    'https://acme.example/a<b>"c"',
  ])('keeps %s byte-identical (the renderer already accepts it)', (link) => expect(linkOf(link)).toBe(link));

  it.each([
    [' https://acme.example/alerts/1 ', 'https://acme.example/alerts/1'],
    ['\thttps://acme.example/alerts/1\n', 'https://acme.example/alerts/1'],
    ['https:acme.example/alerts/1', 'https://acme.example/alerts/1'],
    ['https:/acme.example/alerts/1', 'https://acme.example/alerts/1'],
    ['HTTP:\\\\acme.example\\alerts', 'http://acme.example/alerts'],
    ['https://acme.example/a\nb\tc', 'https://acme.example/abc'],
    ['https://acme.example/a b', 'https://acme.example/a%20b'],
    ['https://acme.example/a\u00a0b?q=\u3000', 'https://acme.example/a%C2%A0b?q=%E3%80%80'],
    ['https://acme.example/a\u0001b', 'https://acme.example/a%01b'],
  ])('stores %j as the URL it means, %s, which the renderer accepts', (link, expected) => {
    expect(isHttpUrl(link)).toBe(false);
    expect(linkOf(link)).toBe(expected);
    expect(isHttpUrl(linkOf(link))).toBe(true);
  });
});

describe('well-formed strings', () => {
  const LONE = ['\ud800', '\udfff', 'a\ud83d', '\ude00b', '\udc00\ud800'];
  const wf = (s: string) => (s as string & { isWellFormed(): boolean }).isWellFormed();
  const allStrings = (v: unknown): string[] =>
    typeof v === 'string' ? [v] : Array.isArray(v) ? v.flatMap(allStrings) : v && typeof v === 'object' ? Object.entries(v).flatMap(([k, x]) => [k, ...allStrings(x)]) : [];

  it('toWellFormed replaces only lone surrogates', () => {
    expect(LONE.map(toWellFormed)).toEqual(['\ufffd', '\ufffd', 'a\ufffd', '\ufffdb', '\ufffd\ufffd']);
    expect(toWellFormed('ok 😀 \ud83d\ude00')).toBe('ok 😀 😀');
  });

  it.each(LONE)('normalises %j in every string of the alert, context deep, and keeps the dedup hash on the raw payload', (lone) => {
    const payload = {
      ...base(),
      id: `Rule${lone}`,
      title: `T${lone}`,
      name: `N${lone}`,
      alertId: `A${lone}`,
      description: `D${lone}`,
      runbook: `R${lone}`,
      version: `V${lone}`,
      link: `https://acme.example/${lone}`,
      tags: [`t${lone}`, 'ok'],
      alertContext: { [`k${lone}`]: { [`n${lone}`]: [`v${lone}`, 1, null, { deep: lone }] }, plain: 'x' },
    };
    const result = parsePantherPayload(payload);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const { alert } = result;
    const bad = allStrings(alert).filter((s) => !wf(s));
    expect(bad).toEqual([]);
    const fixed = toWellFormed(lone);
    expect(alert).toMatchObject({
      detectionId: `Rule${fixed}`, title: `T${fixed}`, detectionName: `N${fixed}`, alertId: `A${fixed}`,
      description: `D${fixed}`, runbook: `R${fixed}`, version: `V${fixed}`, tags: [`t${fixed}`, 'ok'],
    });
    expect(alert.context).toEqual({ [`k${fixed}`]: { [`n${fixed}`]: [`v${fixed}`, 1, null, { deep: fixed }] }, plain: 'x' });
    expect(isHttpUrl(alert.link)).toBe(true);
    const expectedKey = createHash('sha256').update(canonicalJson(pantherPayloadSchema.parse(payload) as unknown as JsonValue)).digest('hex');
    expect(alert.dedupKey).toBe(expectedKey);
  });

  it('keeps distinct raw payloads distinct in the dedup key even when they normalise to the same text', () => {
    const a = parsePantherPayload({ ...base(), title: 'x\ud800' });
    const b = parsePantherPayload({ ...base(), title: 'x\udc00' });
    if (!a.ok || !b.ok) throw new Error('parse failed');
    expect(a.alert.title).toBe(b.alert.title);
    expect(a.alert.dedupKey).not.toBe(b.alert.dedupKey);
  });

  it('keeps a __proto__ context key an ordinary own property', () => {
    // zod's record parsing already drops it; pantherToAlert must not turn it into a prototype either.
    const payload = pantherPayloadSchema.parse(base());
    payload.alertContext = JSON.parse('{"__proto__":{"polluted":"\\ud800"},"ip":"1.2.3.4"}') as Record<string, unknown>;
    const alert = pantherToAlert(payload);
    expect(Object.getPrototypeOf(alert.context)).toBe(Object.prototype);
    expect(Object.keys(alert.context)).toEqual(['__proto__', 'ip']);
    expect(JSON.stringify(alert.context)).toBe('{"__proto__":{"polluted":"\ufffd"},"ip":"1.2.3.4"}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('leaves well-formed text (emoji, astral characters) untouched', () => {
    const result = parsePantherPayload({ ...base(), title: 'Root 😀 𝕏', alertContext: { 'ключ': ['👍🏽'] } });
    if (!result.ok) throw new Error('parse failed');
    expect(result.alert.title).toBe('Root 😀 𝕏');
    expect(result.alert.context).toEqual({ 'ключ': ['👍🏽'] });
  });
});

describe('canonical JSON (the dedup key text)', () => {
  it('is the same text as the reference walk, for any JSON (integer-like, __proto__ and toJSON keys included)', () => {
    const key = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 6 }),
      fc.constantFrom('__proto__', 'constructor', 'toJSON', '0', '9', '10', '01', '-1', '4294967294', '4294967295', '1e3', ''),
      fc.nat({ max: 30 }).map(String),
    );
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 1, stringUnit: 'binary' }), fc.array(tie('value'), { maxLength: 5 }), fc.dictionary(key, tie('value'), { maxKeys: 8 })),
    }));
    fc.assert(
      fc.property(value, (generated) => {
        // As the webhook sees it: parsed from text, so __proto__ keys are own properties.
        const parsed = JSON.parse(JSON.stringify(generated)) as JsonValue;
        expect(canonicalJson(parsed)).toBe(canonicalJsonByWalk(parsed));
      }),
      { numRuns: 3000 },
    );
    const tricky = JSON.parse('{"b":{"10":1,"9":2,"a":3},"__proto__":{"z":1,"y":2},"a":[{"d":1,"c":2}]}') as JsonValue;
    expect(canonicalJson(tricky)).toBe('{"__proto__":{"y":2,"z":1},"a":[{"c":2,"d":1}],"b":{"10":1,"9":2,"a":3}}');
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
