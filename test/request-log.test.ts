/**
 * One log line per HTTP request on every route, with a request id echoed in X-Request-Id and carried into the
 * webhook's own log lines; never a header or a body in the logs.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import request from 'supertest';
import { createApp } from '../src/http/app';
import { OutboxStore } from '../src/delivery/store';
import { SqliteEngine } from '../src/delivery/sqlite-engine';
import { operatorLedger } from '../src/delivery/operator-ledger';
import { BridgeMetrics } from '../src/observability/metrics';
import { routeAlert } from '../src/routing/router';

const TOKEN = 'panther-header-secret-123';
const ADMIN = 'admin-bearer-secret-456';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const alert = {
  id: 'AWS.CloudTrail.RootLogin',
  createdAt: '2024-05-06T07:08:09Z',
  severity: 'HIGH',
  type: 'RULE',
  link: 'https://acme.runpanther.net/alerts/0123456789abcdef0123456789abcdef',
  title: 'Root login from body-marker-title',
  alertId: '0123456789abcdef0123456789abcdef',
};

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function setup() {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as LogLine);
      done();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const store = new OutboxStore(path.join(mkdtempSync(path.join(os.tmpdir(), 'cb-reqlog-')), 'db.sqlite'));
  const app = createApp({
    logger,
    metrics: new BridgeMetrics(['panther'], ['console'], () => store.queueStats()),
    panther: { path: '/webhooks/panther', bodyLimitBytes: 64 * 1024, auth: { header: 'X-Panther-Token', tokens: [TOKEN] } },
    admin: { tokens: [ADMIN], ledger: () => operatorLedger(new SqliteEngine(store)) },
    route: (a) => routeAlert(a, [{ name: 'everything', to: ['console'] }]),
    accept: (items) => items.map(({ alert, targets }) => store.accept(alert, targets)),
    accepted: () => undefined,
    readiness: () => [{ name: 'store', ok: true }],
  });
  // The line is written when the response finishes, which may be just after supertest resolves.
  const requestLines = async (count = 1) => {
    for (let i = 0; i < 50 && lines.filter((l) => l.msg === 'request').length < count; i++) await new Promise((r) => setTimeout(r, 5));
    return lines.filter((l) => l.msg === 'request');
  };
  return { app, lines, requestLines };
}

const postAlert = (app: ReturnType<typeof setup>['app'], body: unknown, headers: Record<string, string> = {}) =>
  request(app)
    .post('/webhooks/panther?token=query-secret-789')
    .set({ 'Content-Type': 'application/json', 'X-Panther-Token': TOKEN, ...headers })
    .send(JSON.stringify(body));

describe('request log', () => {
  it('logs one line per webhook request with method, path without query, status, duration, request id and alert id', async () => {
    const { app, lines, requestLines } = setup();
    const res = await postAlert(app, alert, { 'X-Request-Id': 'panther-delivery.42_a' });
    expect(res.status).toBe(200);
    expect(res.get('x-request-id')).toBe('panther-delivery.42_a');
    const [line, ...more] = await requestLines();
    expect(more).toEqual([]);
    expect(line).toEqual({
      level: 30,
      time: expect.any(Number),
      pid: expect.any(Number),
      hostname: expect.any(String),
      msg: 'request',
      method: 'POST',
      path: '/webhooks/panther',
      status: 200,
      durationMs: expect.any(Number),
      requestId: 'panther-delivery.42_a',
      alertId: alert.alertId,
    });
    // The webhook's own line carries the same ids.
    expect(lines.find((l) => l.msg === 'webhook accepted')).toMatchObject({ requestId: 'panther-delivery.42_a', alertId: alert.alertId });
  });

  it('lists the fields a payload had defaulted in its webhook accepted line', async () => {
    const { app, lines } = setup();
    const res = await postAlert(app, { ...alert, id: '', type: 'SYSTEM_ERROR', severity: 'CRITICAL', name: null, version: null, tags: [] }, { 'X-Request-Id': 'sys-1' });
    expect(res.status).toBe(200);
    expect(lines.find((l) => l.msg === 'webhook accepted')).toMatchObject({ requestId: 'sys-1', defaults: ['id'] });
    await postAlert(app, { ...alert, alertId: 'fedcba9876543210fedcba9876543210' }, { 'X-Request-Id': 'complete' });
    expect(lines.find((l) => l.msg === 'webhook accepted' && l.requestId === 'complete')).not.toHaveProperty('defaults');
  });

  it.each([
    ['too long', 'a'.repeat(129)],
    ['spaces', 'two words'],
    ['log-forging characters', 'id"}\\n{"level":60'],
    ['empty', ''],
  ])('replaces a client X-Request-Id with %s by a new UUID', async (_what, presented) => {
    const { app, requestLines } = setup();
    const res = await request(app).get('/nowhere').set('X-Request-Id', presented);
    expect(res.get('x-request-id')).toMatch(UUID);
    expect((await requestLines())[0]).toMatchObject({ requestId: res.get('x-request-id'), status: 404 });
  });

  it('accepts a 128-character id and generates one when none is sent', async () => {
    const { app } = setup();
    const id = `${'A1._-'.repeat(25)}xyz`;
    expect((await request(app).get('/healthz').set('X-Request-Id', id)).get('x-request-id')).toBe(id);
    const a = (await request(app).get('/healthz')).get('x-request-id');
    const b = (await request(app).get('/healthz')).get('x-request-id');
    expect([a, b]).toEqual([expect.stringMatching(UUID), expect.stringMatching(UUID)]);
    expect(a).not.toBe(b);
  });

  it('puts successful probes and scrapes at debug, everything else at info', async () => {
    const { app, requestLines } = setup();
    await request(app).get('/healthz');
    await request(app).get('/metrics');
    await request(app).get('/readyz');
    await request(app).get('/admin/outbox');
    await request(app).get('/admin/outbox').set('Authorization', `Bearer ${ADMIN}`);
    await request(app).post('/webhooks/panther').set('Content-Type', 'text/plain').send('x');
    const got = (await requestLines(6)).map((l) => [l.method, l.path, l.status, l.level]);
    expect(got).toEqual([
      ['GET', '/healthz', 200, 20],
      ['GET', '/metrics', 200, 20],
      ['GET', '/readyz', 200, 20],
      ['GET', '/admin/outbox', 401, 30],
      ['GET', '/admin/outbox', 200, 30],
      ['POST', '/webhooks/panther', 401, 30],
    ]);
  });

  it('logs rejections (401, 400, 413) with the request id, and never a header, query or body', async () => {
    const { app, lines, requestLines } = setup();
    await postAlert(app, alert, { 'X-Panther-Token': 'wrong-token-value-000', 'X-Request-Id': 'r-401' });
    await postAlert(app, { severity: 'NOPE', description: 'body-marker-title' }, { 'X-Request-Id': 'r-400' });
    await postAlert(app, { ...alert, description: 'x'.repeat(70 * 1024) }, { 'X-Request-Id': 'r-413' });
    await request(app).get('/admin/outbox?status=dead').set('Authorization', `Bearer ${ADMIN}`);
    expect((await requestLines(4)).map((l) => [l.requestId ?? null, l.status, l.path])).toEqual([
      ['r-401', 401, '/webhooks/panther'],
      ['r-400', 400, '/webhooks/panther'],
      ['r-413', 413, '/webhooks/panther'],
      [expect.stringMatching(UUID), 200, '/admin/outbox'],
    ]);
    expect(lines.filter((l) => l.msg === 'webhook rejected').map((l) => [l.requestId, l.status])).toEqual([
      ['r-401', 401],
      ['r-400', 400],
    ]);
    const text = JSON.stringify(lines);
    for (const secret of [TOKEN, 'wrong-token-value-000', ADMIN, 'query-secret-789', 'body-marker-title', 'status=dead']) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toMatch(/headers|content-type|user-agent/i);
  });

  it('marks a request whose client went away before the answer as aborted', async () => {
    const { app, requestLines } = setup();
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as { port: number };
    const net = await import('node:net');
    // Headers promise a body that never comes; the socket closes while the body is being read.
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`POST /webhooks/panther HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Panther-Token: ${TOKEN}\r\nX-Request-Id: gone\r\nContent-Length: 100\r\n\r\n{`);
      setTimeout(() => socket.destroy(), 50);
    });
    const [line] = await requestLines();
    server.close();
    expect(line).toMatchObject({ requestId: 'gone', path: '/webhooks/panther', aborted: true, level: 30 });
  });
});
