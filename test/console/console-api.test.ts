/**
 * The console's JSON API on the real bridge: who may do what (401/403, CSRF), the ledger and its filters, and
 * resend semantics through the outbox (a delivered delivery is re-sent only when explicitly confirmed).
 */
import { makeAlertPayload } from '../helpers/fixtures';
import { postAlert } from '../helpers/bridge-harness';
import { adminAuth, csrf, settle, startConsoleEnv, viewerAuth, type ConsoleEnv } from './console-harness';

jest.setTimeout(30_000);

let env: ConsoleEnv;
beforeEach(async () => {
  env = await startConsoleEnv();
});
afterEach(async () => {
  await env?.close();
});

const get = (path: string, headers: Record<string, string> = adminAuth) => fetch(`${env.bridge.url}/console${path}`, { headers });
const post = (path: string, body: unknown, headers: Record<string, string> = { ...adminAuth, ...csrf }) =>
  fetch(`${env.bridge.url}/console${path}`, { method: 'POST', headers, body: JSON.stringify(body) });

describe('console access', () => {
  it('refuses every route without valid credentials, with the security headers on the refusal too', async () => {
    for (const path of ['', '/', '/api/meta', '/api/alerts', '/assets/app.js', '/api/templates/default/slack']) {
      const res = await get(path, {});
      expect([path, res.status]).toEqual([path, 401]);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="chatops-bridge console"/);
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    for (const authorization of ['Bearer wrong', 'Bearer panther-secret-token-0001', `Basic ${Buffer.from('viewer:wrong').toString('base64')}`, 'Basic !!!']) {
      expect((await get('/api/meta', { authorization })).status).toBe(401);
    }
    expect((await post('/api/preview', {}, csrf)).status).toBe(401);
  });

  it('knows the admin (token, also as a Basic password) and the viewer (username and password)', async () => {
    expect(await (await get('/api/meta')).json()).toMatchObject({ user: { name: 'token user 1', role: 'admin' } });
    const basicToken = { authorization: `Basic ${Buffer.from(`anyone:${adminAuth.authorization.slice(7)}`).toString('base64')}` };
    expect(await (await get('/api/meta', basicToken)).json()).toMatchObject({ user: { role: 'admin' } });
    const meta = (await (await get('/api/meta', viewerAuth)).json()) as { user: unknown; routes: unknown[] };
    expect(meta.user).toEqual({ name: 'viewer', role: 'viewer' });
    expect(JSON.stringify(meta)).not.toContain('viewer-password');
  });

  it('serves the app with a strict CSP and no inline script', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).not.toMatch(/<script>(?!<)/);
    const js = /src="\/console\/assets\/([^"]+\.js)"/.exec(html)![1]!;
    const asset = await get(`/assets/${js}`);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await get('/assets/..%2F..%2Fpackage.json')).status).toBe(404);
  });

  it('gives the viewer 403 on resend and save, and refuses changes without the CSRF header or from another origin', async () => {
    expect((await post('/api/deliveries/1/resend', {}, { ...viewerAuth, ...csrf })).status).toBe(403);
    expect((await post('/api/deliveries/resend-dead', {}, { ...viewerAuth, ...csrf })).status).toBe(403);
    const save = await fetch(`${env.bridge.url}/console/api/templates/x/slack`, { method: 'PUT', headers: { ...viewerAuth, ...csrf }, body: JSON.stringify({ source: '{}' }) });
    expect(save.status).toBe(403);

    const noHeader = await post('/api/deliveries/resend-dead', {}, { ...adminAuth, 'content-type': 'application/json' });
    expect(noHeader.status).toBe(403);
    expect(await noHeader.json()).toMatchObject({ error: 'csrf' });
    expect((await post('/api/deliveries/resend-dead', {}, { ...adminAuth, ...csrf, origin: 'https://evil.example' })).status).toBe(403);
    expect((await post('/api/deliveries/resend-dead', {}, { ...adminAuth, ...csrf, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    // A form post cannot send JSON: text/plain is refused even with the header.
    expect((await post('/api/deliveries/resend-dead', {}, { ...adminAuth, 'x-console-request': '1', 'content-type': 'text/plain' })).status).toBe(415);
    const sameOrigin = await post('/api/deliveries/resend-dead', {}, { ...adminAuth, ...csrf, origin: env.bridge.url, 'sec-fetch-site': 'same-origin' });
    expect(sameOrigin.status).toBe(200);
  });
});

describe('console ledger and resend', () => {
  it('lists alerts with per-destination status, filtered by source, severity, status, destination and text', async () => {
    env.slack.failNext(1, { kind: 'error', error: 'not_in_channel' }, 'chat.postMessage');
    const high = makeAlertPayload({ severity: 'HIGH', title: 'Root login from 100% new place' });
    await postAlert(env.bridge, high);
    await settle(() => env.bridge.store!.counts().dead === 1 && env.bridge.store!.counts().delivered === 2);
    await postAlert(env.bridge, makeAlertPayload({ severity: 'LOW', title: 'Quiet thing' }));
    await settle(() => env.bridge.store!.counts().delivered === 5);

    type Listed = { alerts: { title: string; severity: string; deliveries: { destination: string; status: string; lastReason: string | null; messageUrl: string | null; type: string }[] }[] };
    const list = async (query: string) => ((await (await get(`/api/alerts${query}`)).json()) as Listed).alerts;
    const all = await list('');
    expect(all.map((a) => a.title)).toEqual(['Quiet thing', 'Root login from 100% new place']);
    const root = all[1]!;
    expect(root.deliveries.map((d) => [d.destination, d.status]).sort()).toEqual([['lab-hook', 'delivered'], ['soc-discord', 'delivered'], ['soc-slack', 'dead']]);
    expect(root.deliveries.find((d) => d.status === 'dead')!.lastReason).toBe('not_in_channel');
    const quietSlack = all[0]!.deliveries.find((d) => d.destination === 'soc-slack')!;
    expect(quietSlack.messageUrl).toMatch(/^https:\/\/slack\.com\/archives\/C0123456789\/p\d+$/);

    expect((await list('?severity=LOW')).map((a) => a.title)).toEqual(['Quiet thing']);
    expect((await list('?status=dead')).map((a) => a.title)).toEqual(['Root login from 100% new place']);
    expect((await list('?status=dead&destination=soc-discord'))).toEqual([]);
    expect((await list('?q=100%25')).map((a) => a.title)).toEqual(['Root login from 100% new place']);
    expect(await list('?q=1_0')).toEqual([]); // "_" is literal, not LIKE's any-character
    expect((await list('?source=panther')).length).toBe(2);
    expect((await list('?source=grafana')).length).toBe(0);
    expect((await get('/api/alerts?status=bogus')).status).toBe(400);
  });

  it('resends a dead delivery through the outbox, and a delivered one only when confirmed', async () => {
    env.slack.failNext(1, { kind: 'error', error: 'not_in_channel' }, 'chat.postMessage');
    await postAlert(env.bridge, makeAlertPayload());
    await settle(() => env.bridge.store!.counts().dead === 1 && env.bridge.store!.counts().delivered === 2);
    const entries = env.bridge.store!.ledger().list();
    const dead = entries.find((e) => e.status === 'dead')!;
    const delivered = entries.find((e) => e.destination === 'soc-discord')!;

    const resent = await post(`/api/deliveries/${dead.id}/resend`, {});
    expect(resent.status).toBe(200);
    expect(await resent.json()).toEqual({ requeued: [dead.id], skipped: [] });
    await env.slack.waitForMessages(1, 5000);
    await settle(() => env.bridge.store!.counts().delivered === 3);

    const refused = await post(`/api/deliveries/${delivered.id}/resend`, {});
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: 'already_delivered' });
    await new Promise((r) => setTimeout(r, 300));
    expect(env.discord.messagesFor('1100000000000000001').filter((m) => !m.webhookId)).toHaveLength(1);

    // Confirmed: a second Slack message (Slack has no nonce that could fold it into the first).
    const slackDelivery = entries.find((e) => e.destination === 'soc-slack')!;
    const again = await post(`/api/deliveries/${slackDelivery.id}/resend`, { confirmDelivered: true });
    expect(again.status).toBe(200);
    await env.slack.waitForMessages(2, 5000);
    expect(env.slack.messagesFor('C0123456789')).toHaveLength(2);
    expect((await post('/api/deliveries/999999/resend', {})).status).toBe(404);
  });
});
