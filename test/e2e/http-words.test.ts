/**
 * What the webhook endpoints answer and log when a request is refused, against a running bridge over real HTTP:
 * the answer and the log line use the same reason word, a 401's line says whether a credential came (never its
 * value), a 413 names the limit, a GET is a 405 naming POST, a missing field is "required".
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { startBridge, type RunningBridge } from '../../src/bridge';
import { loadConfigText } from '../../src/config/load';

jest.setTimeout(30_000);

const PANTHER_TOKEN = 'words-panther-secret-1';
const AM_TOKEN = 'words-am-secret-2';
type Line = { msg: string; [key: string]: unknown };

let bridge: RunningBridge;
const lines: Line[] = [];

beforeAll(async () => {
  const store = path.join(mkdtempSync(path.join(os.tmpdir(), 'cb-http-words-')), 'outbox.db');
  const loaded = loadConfigText(
    `server: { port: 0, host: 127.0.0.1 }
store: { path: "${store}" }
delivery: { thread: false }
sources:
  panther:
    bodyLimitBytes: 1048576
    auth: { header: X-Panther-Token, tokens: ["${PANTHER_TOKEN}"] }
  alertmanager:
    auth: { bearer: ["${AM_TOKEN}"] }
destinations: { c: { type: console } }
routes: [{ name: none, match: { detection: "never.*" }, to: [c] }]
`,
    {},
  );
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Line);
      done();
    },
  });
  bridge = await startBridge(loaded.config, pino({ level: 'info' }, sink), 0);
});
afterAll(async () => {
  await bridge.stop();
});

async function call(method: string, route: string, headers: Record<string, string> = {}, body?: string) {
  const res = await fetch(`${bridge.url}${route}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text), requestId: res.headers.get('x-request-id') };
}
const rejected = async (requestId: string | null) => {
  for (let i = 0; i < 50 && !lines.some((l) => l.msg === 'webhook rejected' && l.requestId === requestId); i++) await new Promise((r) => setTimeout(r, 10));
  return lines.find((l) => l.msg === 'webhook rejected' && l.requestId === requestId);
};
const json = { 'content-type': 'application/json' };

describe('refused webhook requests', () => {
  it('a body that is not JSON: answer and log line both say invalid_payload', async () => {
    const res = await call('POST', '/webhooks/panther', { ...json, 'x-panther-token': PANTHER_TOKEN }, '{ "title": "body-marker-text"');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_payload');
    const line = await rejected(res.requestId);
    expect(line).toMatchObject({ status: 400, reason: 'invalid_payload', issues: [{ path: '(body)', message: 'not valid JSON' }] });
    expect(JSON.stringify(lines)).not.toContain('body-marker-text');
  });

  it('a 401 log line says whether the credential was missing or wrong, never its value', async () => {
    const missing = await call('POST', '/webhooks/panther', json, '{}');
    const wrong = await call('POST', '/webhooks/panther', { ...json, 'x-panther-token': 'typo-token-value-9' }, '{}');
    const bearerMissing = await call('POST', '/webhooks/alertmanager', json, '{}');
    const bearerWrong = await call('POST', '/webhooks/alertmanager', { ...json, authorization: 'Bearer typo-token-value-9' }, '{}');
    expect([missing.status, wrong.status, bearerMissing.status, bearerWrong.status]).toEqual([401, 401, 401, 401]);
    expect(wrong.body).toEqual({ error: 'unauthorized' });
    const got = await Promise.all([missing, wrong, bearerMissing, bearerWrong].map(async (r) => (await rejected(r.requestId))!));
    expect(got.map((l) => [l.source, l.reason, l.credential])).toEqual([
      ['panther', 'unauthorized', 'missing'],
      ['panther', 'unauthorized', 'wrong'],
      ['alertmanager', 'unauthorized', 'missing'],
      ['alertmanager', 'unauthorized', 'wrong'],
    ]);
    expect(JSON.stringify(lines)).not.toContain('typo-token-value-9');
  });

  it('a 413 names the limit', async () => {
    const res = await call('POST', '/webhooks/panther', { ...json, 'x-panther-token': PANTHER_TOKEN }, JSON.stringify({ title: 'x'.repeat(1024 * 1024) }));
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ error: 'payload_too_large', message: 'body over the 1 MiB limit' });
  });

  it.each(['GET', 'PUT', 'DELETE'])('%s on a webhook path is a 405 with Allow: POST', async (method) => {
    for (const route of ['/webhooks/panther', '/webhooks/alertmanager']) {
      const res = await call(method, route);
      expect([route, res.status, res.headers.get('allow'), res.body?.error]).toEqual([route, 405, 'POST', 'method_not_allowed']);
    }
  });

  it('a group without its alerts list: the 400 says the field is required', async () => {
    const res = await call('POST', '/webhooks/alertmanager', { ...json, authorization: `Bearer ${AM_TOKEN}` }, JSON.stringify({ version: '4', status: 'firing' }));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_payload', issues: [{ path: 'alerts', message: 'is required (must be a list of alerts)' }] });
    expect(await rejected(res.requestId)).toMatchObject({ reason: 'invalid_payload', issues: res.body.issues });
  });
});
