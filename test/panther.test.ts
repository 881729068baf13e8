import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { canonicalJson, canonicalJsonByWalk } from '../src/domain/canonical-json';
import type { JsonValue } from '../src/domain/alert';
import { isHttpUrl } from '../src/templates/escape';
import { parsePantherPayload, toWellFormed } from '../src/sources/panther';
import { parseAwsDateTime } from '../src/domain/aws-datetime';
import { severityAtLeast, SEVERITIES } from '../src/domain/alert';
import { defaultedExpectations, invalidFixtures, loadFixture, validFixtures } from './helpers/fixtures';

// Copies of the two public real payloads (shared/fixtures/panther), kept in the repo so a clean clone tests alone.
const NOW = Date.UTC(2025, 0, 2, 3, 4, 5);
const NOW_ISO = new Date(NOW).toISOString();
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

  it('notes no default for a complete payload, nor for optionals sent as null, "" or left out', () => {
    const complete = parsePantherPayload(base());
    expect(complete.ok && complete.defaults).toEqual([]);
    const sparse = parsePantherPayload({ ...base(), name: null, alertId: '', description: null, runbook: '', tags: null, version: null, alertContext: null });
    expect(sparse.ok && sparse.defaults).toEqual([]);
  });

  it.each([
    ['severity', 'high', { severity: 'HIGH' }],
    ['severity', ' Critical ', { severity: 'CRITICAL' }],
    ['severity', 'URGENT', { severity: 'HIGH' }],
    ['severity', 'DEFAULT', { severity: 'HIGH' }],
    ['severity', 3, { severity: 'HIGH' }],
    ['severity', null, { severity: 'HIGH' }],
    ['type', 'rule', { type: 'RULE' }],
    ['type', 'RULE ERROR', { type: 'RULE_ERROR' }],
    ['type', 'system-error', { type: 'SYSTEM_ERROR' }],
    ['type', '_RULE', { type: 'UNKNOWN' }],
    ['type', 1, { type: 'UNKNOWN' }],
    ['link', '/alerts/1', { link: '' }],
    ['link', 'javascript:alert(1)', { link: '' }],
    ['link', 'ftp://x.example/a', { link: '' }],
    ['link', '', { link: '' }],
    ['link', 1, { link: '' }],
    ['createdAt', '2024-05-06T07:08:09', { createdAt: NOW_ISO, createdAtMs: NOW }],
    ['createdAt', '2023-02-30T00:00:00Z', { createdAt: NOW_ISO, createdAtMs: NOW }],
    ['createdAt', '2024-05-06T07:08:09.1234567890Z', { createdAt: NOW_ISO, createdAtMs: NOW }],
    ['createdAt', 1714979289, { createdAt: NOW_ISO, createdAtMs: NOW }],
    ['tags', 'a,b', { tags: ['a,b'] }],
    ['tags', ['a', 1, true, null, { x: 1 }], { tags: ['a', '1', 'true'] }],
    ['tags', { a: 'b' }, { tags: [] }],
    ['alertContext', ['a'], { context: { alertContext: ['a'] } }],
    ['alertContext', 'x', { context: { alertContext: 'x' } }],
    ['id', '', { detectionId: 'Panther.Rule', title: 'Root login' }],
    ['id', '  ', { detectionId: 'Panther.Rule' }],
    ['id', null, { detectionId: 'Panther.Rule' }],
    ['id', 12345, { detectionId: '12345' }],
    ['title', 5, { title: '5' }],
    ['title', '', { title: 'Root Login' }],
    ['title', null, { title: 'Root Login' }],
    ['name', 7, { detectionName: '7' }],
    ['name', { n: 1 }, { detectionName: null }],
    ['alertId', 123, { alertId: '123' }],
    ['description', { text: 'x' }, { description: null }],
    ['runbook', ['https://a.example'], { runbook: null }],
    ['version', 1, { version: '1' }],
  ])('accepts %s = %j with a display default, and notes the field', (field, value, expected) => {
    const result = parsePantherPayload({ ...base(), [field]: value }, { now: NOW });
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.alert).toMatchObject(expected);
    expect(result.defaults).toEqual([field]);
  });

  it.each([
    ['id', { detectionId: 'Panther.Rule' }],
    ['createdAt', { createdAt: NOW_ISO, createdAtMs: NOW }],
    ['severity', { severity: 'HIGH' }],
    ['type', { type: 'UNKNOWN', detectionId: 'AWS.CloudTrail.RootLogin' }],
    ['link', { link: '' }],
    ['title', { title: 'Root Login' }],
  ])('accepts a payload without %s, with a display default', (field, expected) => {
    const payload: Record<string, unknown> = base();
    delete payload[field];
    const result = parsePantherPayload(payload, { now: NOW });
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.alert).toMatchObject(expected);
    expect(result.defaults).toEqual([field]);
  });

  it('titles an alert without one from its name, else its detection id, else its type', () => {
    const titleOf = (payload: Record<string, unknown>) => {
      const result = parsePantherPayload({ ...base(), title: '', ...payload });
      if (!result.ok) throw new Error(JSON.stringify(result.issues));
      return result.alert.title;
    };
    expect(titleOf({ name: 'Root Login' })).toBe('Root Login');
    expect(titleOf({ name: null })).toBe('AWS.CloudTrail.RootLogin');
    expect(titleOf({ name: null, id: '', type: 'SYSTEM_ERROR' })).toBe('Panther system error');
    expect(titleOf({ name: null, id: '', type: 'POLICY' })).toBe('Panther policy failure');
  });

  it('accepts a System Error: no detection id, name, version or tags, CRITICAL', () => {
    const result = parsePantherPayload(loadFixture('valid/system-error/system-error-empty-id.json'));
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.alert).toMatchObject({ type: 'SYSTEM_ERROR', severity: 'CRITICAL', detectionId: 'Panther.SystemError', detectionName: null, version: null, tags: [] });
    expect(result.alert.title).toMatch(/\S/);
    expect(result.defaults).toEqual(['id']);
    // Panther sends system errors as CRITICAL; one that comes without a severity is taken to be one.
    const unrated = parsePantherPayload({ ...loadFixture<Record<string, unknown>>('valid/system-error/system-error-empty-id.json'), severity: null });
    expect(unrated.ok && unrated.alert.severity).toBe('CRITICAL');
  });

  it.each([
    [null, '(body)'],
    [[], '(body)'],
    [5, '(body)'],
    ['text', '(body)'],
    [{}, '(body)'],
    [{ severity: 'HIGH', createdAt: '2024-01-01T00:00:00Z', link: 'https://x.example/a', alertContext: { a: 1 } }, '(body)'],
    [{ id: ' ', name: '', title: null, type: '_RULE' }, '(body)'],
  ])('refuses %j: nothing that could be shown', (body, path) => {
    const result = parsePantherPayload(body);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.path)).toEqual([path]);
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

  it('keeps the dedup keys of earlier versions, so retries in flight across an upgrade still collide', () => {
    // Computed by the strict parser this one replaced (commit 297b3f3).
    const key = (body: unknown) => {
      const result = parsePantherPayload(body);
      if (!result.ok) throw new Error(JSON.stringify(result.issues));
      return result.alert.dedupKey;
    };
    expect(key(base())).toBe('ec8f5492aa74f4c987fe81f36a4cde46b21ff272b148270e1efa325be6c54a85');
    expect(key({ ...base(), extra: 1, name: null, tags: null, alertContext: null })).toBe('62ee31d2cf2d51a833643808200d12e8b79bfc53871f173066aefcfad5ad038f');
    expect(key(shared('send-test-alert.json'))).toBe('7747a8a0f18f00e10ffa50f3e0097f928c602ff471cf71fb80faa35d62319986');
  });

  it('dedups retries of a payload whose fields were defaulted on what was sent, not on the defaults', () => {
    const payload: Record<string, unknown> = { ...base(), id: '', alertId: null };
    delete payload.createdAt;
    const first = parsePantherPayload(payload, { now: NOW });
    const retry = parsePantherPayload(JSON.parse(JSON.stringify(payload)), { now: NOW + 900_000 });
    const other = parsePantherPayload({ ...payload, title: 'Another system error' }, { now: NOW });
    if (!first.ok || !retry.ok || !other.ok) throw new Error('parse failed');
    expect(retry.alert.createdAtMs).toBe(NOW + 900_000);
    expect(retry.alert.dedupKey).toBe(first.alert.dedupKey);
    expect(other.alert.dedupKey).not.toBe(first.alert.dedupKey);
  });
});

describe('the fixture corpus (test/fixtures/panther)', () => {
  it.each(Object.entries(defaultedExpectations()))('accepts %s, defaulting exactly %j', (name, fields) => {
    const result = parsePantherPayload(validFixtures()[name]);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.defaults.sort()).toEqual([...fields].sort());
    expect(result.alert.title.trim()).not.toBe('');
  });

  it('accepts every other valid fixture without defaulting a documented field', () => {
    for (const [name, payload] of Object.entries(validFixtures()).filter(([n]) => !n.startsWith('defaulted/'))) {
      const result = parsePantherPayload(payload);
      if (!result.ok) throw new Error(`${name}: ${JSON.stringify(result.issues)}`);
      // System errors carry an empty detection id; nothing else of the documented shape is ever defaulted.
      expect([name, result.defaults]).toEqual([name, name.startsWith('system-error/') ? ['id'] : []]);
    }
  });

  it.each(Object.entries(invalidFixtures()))('refuses %s as a whole body', (_name, fixture) => {
    let body: unknown;
    try {
      body = JSON.parse(fixture.raw);
    } catch {
      return; // not JSON: the webhook refuses it before any parser (test/http.test.ts)
    }
    const result = parsePantherPayload(body);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.path)).toEqual([fixture.expect.path.length === 0 ? '(body)' : fixture.expect.path.join('.')]);
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
    const expectedKey = createHash('sha256').update(canonicalJson(payload as unknown as JsonValue)).digest('hex');
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
    const body = JSON.parse(JSON.stringify(base()).replace('"alertContext":{', '"alertContext":{"__proto__":{"polluted":"\\ud800"},'));
    const result = parsePantherPayload(body);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const alert = result.alert;
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
