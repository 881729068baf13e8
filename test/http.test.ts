import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createApp } from '../src/http/app';
import { OutboxStore } from '../src/delivery/store';
import { routeAlert } from '../src/routing/router';
import { silentLogger } from '../src/observability/logger';
import { BridgeMetrics } from '../src/observability/metrics';
import { PAYLOAD_DEFAULT_FIELDS } from '../src/sources/detect';

const TOKENS = ['old-token-123456', 'new-token-abcdef'];
const payload = (overrides: Record<string, unknown> = {}) => ({
  id: 'AWS.CloudTrail.RootLogin',
  createdAt: '2024-05-06T07:08:09Z',
  severity: 'HIGH',
  type: 'RULE',
  link: 'https://acme.runpanther.net/alerts/0123456789abcdef0123456789abcdef',
  title: 'Root login',
  alertId: '0123456789abcdef0123456789abcdef',
  tags: ['Production'],
  ...overrides,
});

function setup(options: { failStore?: boolean } = {}) {
  const store = new OutboxStore(path.join(mkdtempSync(path.join(os.tmpdir(), 'cb-http-')), 'db.sqlite'));
  let notified = 0;
  const metrics = new BridgeMetrics(['panther'], ['soc-slack', 'soc-discord'], () => [], PAYLOAD_DEFAULT_FIELDS);
  const app = createApp({
    logger: silentLogger(),
    metrics,
    panther: { path: '/webhooks/panther', bodyLimitBytes: 1024 * 1024, auth: { header: 'X-Panther-Token', tokens: TOKENS } },
    route: (alert) => routeAlert(alert, [{ name: 'prod', match: { tags: { any: ['production'] } }, to: ['soc-slack', 'soc-discord'] }]),
    accept: (items) => {
      if (options.failStore) throw new Error('SQLITE_FULL: database or disk is full');
      return items.map(({ alert, targets }) => store.accept(alert, targets));
    },
    accepted: () => notified++,
    readiness: () => [{ name: 'store', ok: store.isWritable() }],
  });
  return { app, store, metrics, notified: () => notified };
}

const post = (app: ReturnType<typeof setup>['app'], body: unknown, headers: Record<string, string> = { 'X-Panther-Token': TOKENS[1]! }) => {
  const req = request(app).post('/webhooks/panther').set('Content-Type', 'application/json');
  for (const [k, v] of Object.entries(headers)) req.set(k, v);
  return req.send(typeof body === 'string' ? body : JSON.stringify(body));
};

describe('Panther webhook endpoint', () => {
  it('accepts a valid alert with any configured token and answers with the delivery summary', async () => {
    const { app, store, notified } = setup();
    const res = await post(app, payload(), { 'X-Panther-Token': TOKENS[0]! });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'accepted',
      alertId: '0123456789abcdef0123456789abcdef',
      deliveries: [
        { route: 'prod', destination: 'soc-slack', status: 'pending' },
        { route: 'prod', destination: 'soc-discord', status: 'pending' },
      ],
    });
    // Written without express's res.json (src/http/json-answer.ts): the same type and an exact length.
    expect(res.get('content-type')).toBe('application/json; charset=utf-8');
    expect(Number(res.get('content-length'))).toBe(Buffer.byteLength(res.text));
    expect(store.counts().pending).toBe(2);
    expect(notified()).toBe(1);
  });

  it('answers duplicate for a retry with different bytes (key order, whitespace, \\u003c escapes)', async () => {
    const { app, store } = setup();
    await post(app, payload({ title: '<b>x</b>' }));
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(payload({ title: '<b>x</b>' })).reverse()), null, 3).replace(/</g, '\\u003c');
    const res = await post(app, reordered);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('duplicate');
    expect(store.counts().pending).toBe(2);
  });

  it('treats a repeated Send Test Alert (new createdAt) and a manual re-send as new alerts', async () => {
    const { app, store } = setup();
    const testAlert = payload({ id: 'Test.Alert', alertId: 'Test.Alert', title: 'This is a Test Alert' });
    expect((await post(app, testAlert)).body.status).toBe('accepted');
    expect((await post(app, { ...testAlert, createdAt: '2024-05-06T07:09:00.5Z' })).body.status).toBe('accepted');
    expect((await post(app, payload())).body.status).toBe('accepted');
    expect((await post(app, payload({ title: '[Re-sent]: Root login' }))).body.status).toBe('accepted');
    expect((await post(app, payload({ title: '[Re-sent]: Root login' }))).body.status).toBe('duplicate');
    expect(store.counts().pending).toBe(8);
  });

  it('accepts an unrouted alert with no deliveries', async () => {
    const { app } = setup();
    const res = await post(app, payload({ tags: [] }));
    expect(res.status).toBe(200);
    expect(res.body.deliveries).toEqual([]);
  });

  it.each([
    ['missing', {}],
    ['wrong', { 'X-Panther-Token': 'nope' }],
    ['empty', { 'X-Panther-Token': '' }],
    ['in another header', { Authorization: `Bearer ${TOKENS[0]}` }],
  ])('rejects a %s token with 401 and no detail', async (_label, headers) => {
    const { app, store } = setup();
    const res = await post(app, payload(), headers as Record<string, string>);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'unauthorized' });
    expect(store.counts().pending).toBe(0);
  });

  it('rejects a non-JSON content type with 415', async () => {
    const { app } = setup();
    const res = await request(app).post('/webhooks/panther').set('X-Panther-Token', TOKENS[0]!).set('Content-Type', 'text/plain').send('hello');
    expect(res.status).toBe(415);
  });

  it('rejects a body over the limit with 413', async () => {
    const { app } = setup();
    const res = await post(app, payload({ description: 'x'.repeat(1024 * 1024) }));
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ error: 'payload_too_large', message: 'body over the 1 MiB limit' });
  });

  it('accepts a payload whose fields drifted, stores it with defaults, and counts each defaulted field in /metrics', async () => {
    const { app, store, metrics } = setup();
    const res = await post(app, payload({ id: '', severity: 'high', link: 'javascript:alert(1)', createdAt: '2024-02-30T00:00:00Z' }));
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('accepted');
    expect(store.counts().pending).toBe(2);
    const text = (await metrics.render()).body;
    for (const field of ['id', 'severity', 'link', 'createdAt']) expect(text).toContain(`chatops_payload_defaults_total{source="panther",field="${field}"} 1`);
    expect(text).toContain('chatops_payload_defaults_total{source="panther",field="title"} 0');
  });

  it('refuses with 400 a JSON object that has nothing to show, naming the body', async () => {
    const { app } = setup();
    const res = await post(app, { severity: 'HIGH', createdAt: '2024-05-06T07:08:09Z', tags: ['Production'] });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_payload', issues: [{ path: '(body)', message: expect.stringMatching(/nothing to show/) }] });
  });

  it.each([['not json', '{"id":'], ['an array', '[]'], ['null', 'null'], ['deep nesting', '['.repeat(5000) + ']'.repeat(5000)]])(
    'rejects %s with 400 invalid_payload',
    async (_label, body) => {
      const { app } = setup();
      const res = await post(app, body);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_payload');
      expect(res.body.issues.length).toBeGreaterThan(0);
    },
  );

  it('answers 503 when the store cannot commit, without leaking the error', async () => {
    const { app } = setup({ failStore: true });
    const res = await post(app, payload());
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: 'store_unavailable' });
  });

  it('serves liveness and readiness', async () => {
    const { app } = setup();
    expect((await request(app).get('/healthz')).status).toBe(200);
    const ready = await request(app).get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual([{ name: 'store', ok: true }]);
  });
});

describe('GET /metrics', () => {
  const METRICS_TOKEN = 'metrics-scrape-token-0123';
  const appWith = (metricsToken?: string) =>
    createApp({
      logger: silentLogger(),
      metrics: new BridgeMetrics(['panther'], ['soc-slack'], () => []),
      ...(metricsToken ? { metricsToken } : {}),
      route: () => [],
      accept: (items) => items.map(() => ({ status: 'accepted' as const, deliveries: [] })),
      accepted: () => undefined,
      readiness: () => [],
    });

  it('is open when no server.metricsToken is configured', async () => {
    const res = await request(appWith()).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toContain('chatops_alerts_received_total{source="panther"} 0');
  });

  it('requires Authorization: Bearer <metricsToken> when one is configured', async () => {
    const app = appWith(METRICS_TOKEN);
    const ok = await request(app).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`);
    expect(ok.status).toBe(200);
    expect(ok.get('content-type')).toMatch(/^text\/plain/);
    expect(ok.text).toContain('chatops_queue_depth{destination="soc-slack"} 0');
    for (const authorization of [undefined, `Bearer ${METRICS_TOKEN}x`, `Bearer ${METRICS_TOKEN.slice(0, -1)}`, METRICS_TOKEN, `Basic ${METRICS_TOKEN}`, 'Bearer ']) {
      const req = request(app).get('/metrics');
      const res = await (authorization === undefined ? req : req.set('Authorization', authorization));
      expect([authorization, res.status, res.body, res.get('www-authenticate')]).toEqual([authorization, 401, { error: 'unauthorized' }, 'Bearer']);
      expect(res.text).not.toContain('chatops_');
    }
  });

  it('leaves the other operational endpoints open', async () => {
    const app = appWith(METRICS_TOKEN);
    expect((await request(app).get('/healthz')).status).toBe(200);
    expect((await request(app).get('/readyz')).status).toBe(200);
  });
});
