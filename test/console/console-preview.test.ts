/**
 * The playground's API on the real bridge: the preview is the exact body the fakes receive, hostile text is
 * inert and reported, routing is explained, and a template is saved only after check passes, then hot-reloaded.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { makeAlertPayload } from '../helpers/fixtures';
import { postAlert } from '../helpers/bridge-harness';
import { adminAuth, csrf, settle, startConsoleEnv, type ConsoleEnv } from './console-harness';

jest.setTimeout(30_000);

const ROUTES = `routes:
  - name: page-high
    match: { severity: { min: HIGH }, tags: { none: [Test] } }
    to: [soc-slack]
    digest: off
    mentions: { slack: { here: true } }
    continue: true
  - name: everything
    to: [soc-slack, soc-discord, lab-hook]
    digest: off`;

let env: ConsoleEnv;
beforeEach(async () => {
  env = await startConsoleEnv({ routesYaml: ROUTES });
});
afterEach(async () => {
  await env?.close();
});

type Preview = { platform: string; destination: string; route: string | null; body: Record<string, unknown> | null; warnings: { kind: string; text: string }[]; problem?: string };
type Answer = { previews: Preview[]; explain: { routes: { route: string; verdict: string; reason: string | null; delivers: string[] }[] } };

const call = (method: string, path: string, body?: unknown) =>
  fetch(`${env.bridge.url}/console/api${path}`, { method, headers: { ...adminAuth, ...csrf }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
const previewOf = async (request: unknown): Promise<Answer> => {
  const res = await call('POST', '/preview', request);
  expect(res.status).toBe(200);
  return (await res.json()) as Answer;
};
const slackOf = (a: Answer) => a.previews.find((p) => p.platform === 'slack')!;
const discordOf = (a: Answer) => a.previews.find((p) => p.platform === 'discord')!;

describe('console preview', () => {
  it('is exactly what the fake Slack and Discord received for a stored alert', async () => {
    // The route's configured @here is the one live mention allowed; the fake flags every live mention, so record it.
    env.slack.rejectViolations = false;
    await postAlert(env.bridge, makeAlertPayload({ severity: 'HIGH' }));
    await settle(() => env.bridge.store!.counts().delivered === 3);
    const alertRow = env.bridge.store!.ledger().list()[0]!.alertRow;

    const answer = await previewOf({ alertRow });
    const slack = slackOf(answer);
    // The first route (page-high) sends it to soc-slack, with its configured @here.
    expect(slack).toMatchObject({ destination: 'soc-slack', route: 'page-high' });
    const posted = env.slack.messagesFor('C0123456789')[0]!.args;
    for (const [key, value] of Object.entries(slack.body!)) expect([key, posted[key]]).toEqual([key, value]);
    expect(slack.warnings).toContainEqual({ kind: 'mention', text: expect.stringContaining('<!here>') });

    const discord = discordOf(answer);
    expect(discord.destination).toBe('soc-discord');
    expect(env.discord.messagesFor('1100000000000000001').find((m) => !m.webhookId)!.body).toEqual(discord.body);

    const routes = answer.explain.routes;
    expect(routes.map((r) => [r.route, r.verdict])).toEqual([['page-high', 'matched'], ['everything', 'matched']]);
    expect(routes[1]!.delivers).toEqual(['soc-discord', 'lab-hook']);
  });

  it('validates a pasted payload with the webhook schema and explains why a route did not match', async () => {
    const invalid = await call('POST', '/preview', { payloadText: JSON.stringify({ severity: 'SEVERE', tags: ['x'] }) });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ error: 'invalid_payload', issues: [{ path: '(body)' }] });
    // What the webhook accepts with a default (here an unreadable severity), the preview shows too.
    expect((await call('POST', '/preview', { payloadText: JSON.stringify({ ...makeAlertPayload(), severity: 'SEVERE' }) })).status).toBe(200);
    const notJson = await call('POST', '/preview', { payloadText: '{"id": ' });
    expect(await notJson.json()).toMatchObject({ issues: [{ path: '(body)', message: expect.stringContaining('not valid JSON') }] });

    const low = await previewOf({ payloadText: JSON.stringify(makeAlertPayload({ severity: 'LOW' })) });
    expect(low.explain.routes[0]).toMatchObject({ route: 'page-high', verdict: 'not matched', reason: 'severity LOW is below the minimum HIGH' });
    const test = await previewOf({ payloadText: JSON.stringify(makeAlertPayload({ severity: 'CRITICAL', tags: ['test'] })) });
    expect(test.explain.routes[0]!.reason).toBe('excluded tag present: Test');
    expect(slackOf(low).route).toBe('everything');
  });

  it('previews a pasted Alertmanager group by its first alert, and explains a source condition', async () => {
    const group = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'examples', 'alerts', 'alertmanager-group.json'), 'utf8'));
    const answer = await previewOf({ payloadText: JSON.stringify(group) });
    expect(JSON.stringify(slackOf(answer).body)).toContain(group.alerts[0].annotations.summary);
    const mismatch = await call('POST', '/preview', { payloadText: JSON.stringify(group), source: 'panther' });
    expect(await mismatch.json()).toMatchObject({ error: 'invalid_payload', issues: [{ message: 'the payload has the shape of alertmanager, not panther' }] });
  });

  it('shows hostile text inert and lists each neutralisation', async () => {
    const hostile = makeAlertPayload({ title: 'Pwn <!channel> <@U123ABC> @everyone <@&123456789012345678> <script>alert(1)</script>' });
    const answer = await previewOf({ payloadText: JSON.stringify(hostile) });
    const slack = JSON.stringify(slackOf(answer).body);
    expect(slack).not.toMatch(/<!channel>|<@U123ABC>|<script>/);
    expect(slack).toContain('&lt;!channel&gt;');
    const discord = discordOf(answer);
    expect(JSON.stringify(discord.body)).not.toMatch(/(?<!\\u200b)@everyone|<@&1/);
    expect(discord.body!.allowed_mentions).toEqual({ parse: [] });
    const escapes = (p: Preview) => p.warnings.filter((w) => w.kind === 'escape').map((w) => w.text).join('\n');
    expect(escapes(slackOf(answer))).toMatch(/escaped a broadcast mention in alert text \("<!channel>"\)/);
    expect(escapes(slackOf(answer))).toMatch(/user\/channel mention/);
    expect(escapes(discord)).toMatch(/broadcast mention in alert text \("@everyone"\)/);
    expect(escapes(discord)).toMatch(/role mention/);
  });

  it('previews an unsaved template edit and reports one that does not compile', async () => {
    const payloadText = JSON.stringify(makeAlertPayload());
    const edited = await previewOf({
      payloadText,
      template: { name: 'mine', sources: { slack: '{ "text": "Custom {{alert.title}}", "blocks": [ { "type": "header", "text": { "type": "plain_text", "text": "Hello {{alert.severity}}" } } ] }' } },
    });
    expect(slackOf(edited).body).toMatchObject({ text: expect.stringMatching(/^Custom /), blocks: [{ type: 'header', text: { text: 'Hello HIGH' } }] });
    // No Discord variant of "mine" yet: Discord falls back to default and says so.
    expect(discordOf(edited).warnings).toContainEqual({ kind: 'template', text: 'template "mine" has no discord variant; used "default"' });

    const broken = await previewOf({ payloadText, template: { name: 'mine', sources: { slack: '{{#if}' } } });
    expect(slackOf(broken)).toMatchObject({ body: null, problem: expect.stringContaining('Parse error') });
    expect((await call('POST', '/preview', { payloadText, template: { name: '../etc' } })).status).toBe(400);
  });
});

describe('console template save', () => {
  const source = (marker: string) => `{ "text": "${marker} {{alert.title}}", "blocks": [ { "type": "section", "text": { "type": "mrkdwn", "text": "${marker} {{alert.title}}" } } ] }`;

  it('refuses names outside the templates directory and templates that fail check, writing nothing', async () => {
    for (const name of ['..', '.hidden', 'a..b', '%2E%2E%2Fescape', 'partials', 'x'.repeat(65)]) {
      const res = await call('PUT', `/templates/${name}/slack`, { source: source('X') });
      expect([name, res.status]).toEqual([name, res.status === 404 ? 404 : 400]);
    }
    expect((await call('PUT', '/templates/ok/evil', { source: source('X') })).status).toBe(400);
    const failing = await call('PUT', '/templates/broken/slack', { source: '{ "text": {{alert.title}} }' });
    expect(failing.status).toBe(422);
    expect(await failing.json()).toMatchObject({ error: 'check_failed', errors: expect.arrayContaining([expect.stringContaining('template "broken" (slack) fails on sample')]) });
    expect(readdirSync(env.templatesDir)).toEqual([]);
  });

  it('saves after check passes, atomically, and the next alert uses it without a restart', async () => {
    const saved = await call('PUT', '/templates/default/slack', { source: source('SAVED') });
    expect(saved.status).toBe(200);
    expect(await saved.json()).toMatchObject({ saved: true, file: 'default.slack.hbs' });
    expect(readFileSync(path.join(env.templatesDir, 'default.slack.hbs'), 'utf8')).toBe(source('SAVED'));
    expect(readdirSync(env.templatesDir)).toEqual(['default.slack.hbs']); // no temp file left behind
    const read = await (await call('GET', '/templates/default/slack')).json();
    expect(read).toMatchObject({ origin: 'user', source: source('SAVED') });

    await postAlert(env.bridge, makeAlertPayload({ severity: 'LOW' }));
    await env.slack.waitForMessages(1, 5000);
    expect(String(env.slack.messages[0]!.args.text)).toMatch(/^SAVED /);
    expect(existsSync(path.join(env.templatesDir, 'default.discord.hbs'))).toBe(false);
  });
});
