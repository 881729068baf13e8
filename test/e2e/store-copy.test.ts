/**
 * Moving from SQLite to PostgreSQL (issue 16, point 7): `migrate --from sqlite:… --to postgres://…` on a store that
 * the real `serve` (the built CLI) filled — delivered, pending, dead, digested, triaged (a click, with its Panther
 * write-back still pending), threaded, NUL-carrying and Alertmanager firing alerts — into a fresh PostgreSQL
 * database; then `serve` on the PostgreSQL store carries on where SQLite stopped: the pending work is sent, retries
 * are duplicates, the history lists as it did, a resolve edits the message posted from SQLite, a repeat threads
 * under it, and new rows get new ids.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { AM_TOKEN, harnessYaml, PANTHER_TOKEN, tempStorePath } from '../helpers/bridge-harness';
import { discordKeys, send, signSlack, slackClick, startFakePanther, SLACK_SIGNING_SECRET, type FakePanther } from '../helpers/interactions';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres';

jest.setTimeout(180_000);

const MAIN = path.resolve(__dirname, '..', '..', 'dist', 'main.js');
const PASSWORD = 'hunter2-copy-secret';
const fixture = (file: string) => JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'alertmanager', file), 'utf8'));

const keys = discordKeys();
let slack: FakeSlack;
let discord: FakeDiscord;
let panther: FakePanther;
let database: TestDatabase;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  slack = await startFakeSlack({ channels: ['C0123456789', 'C0SECOND01', 'C0LATER001'] });
  discord = await startFakeDiscord();
  panther = await startFakePanther();
  database = await createTestDatabase();
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all([slack.close(), discord.close(), panther.close()]);
  await database.drop();
});

const ROUTES = `routes:
  - name: am
    match: { source: [alertmanager] }
    to: [soc-slack, soc-discord]
    digest: off
  - name: burst
    match: { detection: "Burst.*" }
    to: [burst-slack]
    digest: { backlog: 2, maxWaitMs: 1000 }
  - name: later
    match: { detection: "Later.*" }
    to: [later-slack]
    digest: off
  - name: gone
    match: { detection: "Gone.*" }
    to: [gone-slack]
    digest: off
  - name: soc
    to: [soc-slack, soc-discord]
    digest: off
    threads: on`;

/** The operator's YAML for the fakes: the SQLite store at `storePath`, or PostgreSQL through ${DATABASE_URL}. */
function configYaml(storePath: string, engine: 'sqlite' | 'postgres'): string {
  const yaml = harnessYaml({
    slackUrl: slack.url,
    discordApi: discord.api,
    webhookUrl: discord.webhookUrl(),
    storePath,
    slackSigningSecret: SLACK_SIGNING_SECRET,
    discordPublicKey: keys.publicKeyHex,
    routesYaml: ROUTES,
    extraDestinations: [
      '  later-slack: { type: slack, channel: C0LATER001, pace: { limit: 50, windowMs: 100 } }',
      '  gone-slack: { type: slack, channel: C0GONE0001, pace: { limit: 50, windowMs: 100 } }',
      '  burst-slack: { type: slack, channel: C0SECOND01 }',
    ].join('\n'),
    extraYaml: `panther:\n  api: { url: "${panther.url}", token: "\${PANTHER_API_TOKEN}" }`,
  });
  return engine === 'sqlite' ? yaml : yaml.replace(/^store: .*$/m, 'store: { url: "${DATABASE_URL}" }');
}

function env(databaseUrl: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    PANTHER_TOKEN,
    SLACK_BOT_TOKEN: 'xoxb-test',
    DISCORD_BOT_TOKEN: 'discord-test-token',
    DISCORD_WEBHOOK_URL: discord.webhookUrl(),
    PANTHER_API_TOKEN: 'panther-api-key-0001',
    DATABASE_URL: databaseUrl,
  };
}

/** `serve` from dist/, resolved once it listens. */
function serve(configFile: string, environment: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--config', configFile], { env: { ...environment, LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = /"port":(\d+).*"msg":"chatops-bridge listening"/.exec(stderr);
      if (m) resolve({ child, url: `http://127.0.0.1:${m[1]}`, stderr: () => stderr });
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  children.delete(child);
}

/** A CLI command (asynchronously: the fakes answer from this process meanwhile). */
function cli(args: string[], environment: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })));
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function post(base: string, route: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}
const panther_ = (base: string, body: unknown) => post(base, '/webhooks/panther', { 'x-panther-token': PANTHER_TOKEN }, body);
const alertmanager = (base: string, body: unknown) => post(base, '/webhooks/alertmanager', { authorization: `Bearer ${AM_TOKEN}` }, body);

/** Rows of every table of the SQLite store's data, read while or after serve runs. */
function sqliteCounts(storePath: string): Record<string, number> {
  const db = new Database(storePath, { readonly: true, fileMustExist: true });
  try {
    const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    return Object.fromEntries(['alerts', 'deliveries', 'digests', 'triage_events', 'panther_sync', 'alert_episodes'].map((t) => [t, count(t)]));
  } finally {
    db.close();
  }
}
function sqliteOne<T>(storePath: string, sql: string): T {
  const db = new Database(storePath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).get() as T;
  } finally {
    db.close();
  }
}
async function pgRows<T>(sql: string): Promise<T[]> {
  const client = new Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

const A1 = makeAlertPayload({ alertId: 'copy-0001', id: 'AWS.CloudTrail.RootActivity', title: 'First root activity' });
const A2 = makeAlertPayload({ alertId: 'copy-0002', id: 'AWS.CloudTrail.RootActivity', title: 'Second root activity' });
/** NUL in the alert id and the title: stored as they are by SQLite, encoded on PostgreSQL. */
const NUL = makeAlertPayload({ alertId: 'copy\u0000nul-0003', id: 'AWS.Nul.Check', title: 'before\u0000after' });
const LATER = makeAlertPayload({ alertId: 'copy-0004', id: 'Later.Check', title: 'Sent once Slack recovers' });
const GONE = makeAlertPayload({ alertId: 'copy-0005', id: 'Gone.Check', title: 'To a channel that is gone' });
const bursts = Array.from({ length: 8 }, (_, i) => makeAlertPayload({ alertId: `copy-burst-${i}`, id: 'Burst.Check', title: `Burst ${i}`, severity: 'MEDIUM' }));

const slackPosts = (channel = 'C0123456789') => slack.messages.filter((m) => m.method === 'chat.postMessage' && m.channel === channel);
const postOf = (title: string) => slackPosts().find((m) => JSON.stringify(m.args.blocks ?? m.args.text).includes(title));

it('copies a store filled by serve on SQLite into PostgreSQL, where serve carries on with its work and history', async () => {
  const storePath = tempStorePath();
  const dir = path.dirname(storePath);
  const sqliteConfig = path.join(dir, 'sqlite.yaml');
  const pgConfig = path.join(dir, 'pg.yaml');
  writeFileSync(sqliteConfig, configYaml(storePath, 'sqlite'));
  writeFileSync(pgConfig, configYaml(storePath, 'postgres'));
  const url = new URL(database.url);
  url.password = PASSWORD;
  const pgUrl = url.toString();
  const environment = env(pgUrl);
  const outputs: string[] = [];

  // --- serve on SQLite: every kind of row the store holds. ---
  panther.failWith = 503; // the click's write-back stays pending
  // Slack answers 503 for one channel: its delivery stays pending (retried with backoff) until PostgreSQL serves.
  slack.behaviour = (req) => ((req.body as { channel?: string } | undefined)?.channel === 'C0LATER001' ? 503 : undefined);
  const first = await serve(sqliteConfig, environment);
  const pending = () => sqliteOne<{ n: number }>(storePath, `SELECT COUNT(*) AS n FROM deliveries WHERE status = 'pending'`).n;
  expect((await panther_(first.url, A1)).body.status).toBe('accepted');
  await until(() => postOf('First root activity') !== undefined, 10_000, 'first alert posted');
  expect((await panther_(first.url, A2)).body.status).toBe('accepted');
  expect((await panther_(first.url, NUL)).body.status).toBe('accepted');
  expect((await alertmanager(first.url, fixture('v0.25-firing-two.json'))).body.status).toBe('accepted');
  expect((await panther_(first.url, LATER)).body.status).toBe('accepted');
  expect((await panther_(first.url, GONE)).body.status).toBe('accepted');
  for (const alert of bursts) expect((await panther_(first.url, alert)).body.status).toBe('accepted');
  const firstPost = postOf('First root activity')!;
  const button = (firstPost.args.blocks as { elements?: { action_id: string; value: string }[] }[]).flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'triage_acknowledge')!;
  expect((await send(`${first.url}/slack/events`, signSlack(slackClick({ actionId: button.action_id, value: button.value, channel: firstPost.channel, messageTs: firstPost.ts })))).status).toBe(200);
  await until(
    () => pending() === 1 && sqliteOne<{ n: number }>(storePath, `SELECT COUNT(*) AS n FROM digests`).n > 0 && panther.requests.length > 0,
    60_000,
    'SQLite serve settled: one pending delivery, a digest, a failed write-back',
  );
  const before = sqliteCounts(storePath);
  expect(before).toMatchObject({ triage_events: 1, panther_sync: 1, alert_episodes: 2 });
  expect(sqliteOne<{ n: number }>(storePath, `SELECT COUNT(*) AS n FROM deliveries WHERE status = 'dead'`).n).toBe(1);
  expect(sqliteOne<{ n: number }>(storePath, `SELECT COUNT(*) AS n FROM deliveries WHERE via = 'digest'`).n).toBeGreaterThan(0);
  expect(sqliteOne<{ n: number }>(storePath, `SELECT COUNT(*) AS n FROM deliveries WHERE thread_parent IS NOT NULL`).n).toBe(2);
  const secondPost = postOf('Second root activity')!;
  expect(secondPost.args.thread_ts).toBe(firstPost.ts);

  // While serve holds the SQLite store the copy refuses, naming it.
  const refused = await cli(['migrate', '--from', `sqlite:${storePath}`, '--to', pgUrl], environment);
  outputs.push(refused.stdout, refused.stderr);
  expect(refused.status).toBe(1);
  expect(refused.stderr).toMatch(/cannot copy the store: the SQLite store .* is in use by chatops-bridge instance .* stop it before copying/);
  expect(await pgRows(`SELECT to_regclass('alerts') IS NULL AS none`)).toEqual([{ none: true }]);

  await stop(first.child);
  const ledgerArgs = ['outbox', 'list', '--json', '--limit', '1000', '--config'];
  const sqliteLedger = await cli([...ledgerArgs, sqliteConfig], environment);
  expect(sqliteLedger.status).toBe(0);

  // --- the copy: into the config's store.url (no --to), one transaction, a JSON summary. ---
  const copy = await cli(['migrate', '--from', `sqlite:${storePath}`, '--config', pgConfig], environment);
  outputs.push(copy.stdout, copy.stderr);
  expect([copy.status, copy.stderr]).toEqual([0, '']);
  const summary = JSON.parse(copy.stdout);
  expect(summary).toMatchObject({ from: `sqlite:${storePath}`, to: expect.stringContaining(':***@127.0.0.1:5432/'), copied: before, pendingDeliveries: 1 });
  const maxDelivery = sqliteOne<{ n: number }>(storePath, `SELECT MAX(id) AS n FROM deliveries`).n;
  expect(summary.nextIds.deliveries).toBe(maxDelivery + 1);

  // The same ledger, row for row (titles and alert ids with their NUL decoded, message refs, reasons, times).
  const pgLedger = await cli([...ledgerArgs, pgConfig], environment);
  outputs.push(pgLedger.stderr);
  expect(pgLedger.status).toBe(0);
  expect(JSON.parse(pgLedger.stdout)).toEqual(JSON.parse(sqliteLedger.stdout));
  // On PostgreSQL the NUL is stored in the engine's reversible encoding, and no lease is held.
  expect(await pgRows(`SELECT alert_id, title FROM alerts WHERE alert_id LIKE 'copy%nul-0003'`)).toEqual([{ alert_id: 'copy\u24000nul-0003', title: 'before\u24000after' }]);
  expect(await pgRows(`SELECT COUNT(*)::int AS n FROM deliveries WHERE lease_until <> 0 OR claimed_by IS NOT NULL`)).toEqual([{ n: 0 }]);

  // A second copy finds the store not empty and writes nothing.
  const again = await cli(['migrate', '--from', `sqlite:${storePath}`, '--to', pgUrl], environment);
  outputs.push(again.stdout, again.stderr);
  expect(again.status).toBe(1);
  expect(again.stderr).toMatch(/the PostgreSQL store postgres:\/\/postgres:\*\*\*@.* is not empty \(alerts: \d+, deliveries: \d+.*nothing was written/);

  // --- serve on PostgreSQL carries on. ---
  panther.failWith = undefined;
  slack.behaviour = undefined;
  const postsBefore = slackPosts().length;
  const second = await serve(pgConfig, environment);
  try {
    // Pending work copied from SQLite is sent: the delivery, and the click's write-back to Panther.
    await until(() => slackPosts('C0LATER001').length === 1, 15_000, 'the pending delivery sent from PostgreSQL');
    expect(JSON.stringify(slackPosts('C0LATER001')[0]!.args.blocks)).toContain('Sent once Slack recovers');
    await until(() => panther.requests.some((r) => /mutation/.test(r.query) && r.variables?.input?.status === 'TRIAGED'), 15_000, 'the pending write-back');
    expect(panther.requests.filter((r) => /mutation/.test(r.query)).at(-1)!.variables.input.ids).toEqual(['copy-0001']);

    // Retries of copied alerts are duplicates, the NUL-keyed one included; nothing more is posted for them.
    for (const alert of [A1, NUL, LATER]) expect((await panther_(second.url, alert)).body.status).toBe('duplicate');
    expect((await alertmanager(second.url, fixture('v0.25-firing-two.json'))).body.status).toBe('duplicate');

    // The resolve edits the message serve posted from SQLite.
    const firingPost = slackPosts().find((m) => JSON.stringify(m.args.blocks).includes('High 5xx rate on api-1'))!;
    const resolved = await alertmanager(second.url, fixture('v0.25-resolved-one.json'));
    // (The first new alert row: an identity left behind the copied ids would collide here, a 503.)
    expect([resolved.status, resolved.body.status]).toEqual([200, 'accepted']);
    expect(resolved.body.alerts[0].deliveries.map((d: { status: string }) => d.status)).toEqual(['updated', 'updated']);
    await until(() => slack.messages.some((m) => m.method === 'chat.update' && m.ts === firingPost.ts && /Resolved at/.test(JSON.stringify(m.args.blocks))), 15_000, 'the resolve edit');

    // A new repeat of the first detection: new ids past the copied ones, posted in the copied message's thread.
    const third = await panther_(second.url, makeAlertPayload({ alertId: 'copy-0006', id: 'AWS.CloudTrail.RootActivity', title: 'Third root activity' }));
    expect([third.status, third.body.status]).toEqual([200, 'accepted']);
    await until(() => postOf('Third root activity') !== undefined, 15_000, 'the new alert posted');
    expect(postOf('Third root activity')!.args.thread_ts).toBe(firstPost.ts);
    const newRows = await pgRows<{ id: number }>(`SELECT d.id FROM deliveries d JOIN alerts a ON a.id = d.alert_row WHERE a.alert_id = 'copy-0006'`);
    expect(newRows.every((r) => Number(r.id) > maxDelivery)).toBe(true);
    expect(slackPosts().length - postsBefore).toBe(1); // the third alert, nothing repeated

    // A triage button of a message posted from SQLite still works: the click is recorded and the message edited.
    const resolve = (firstPost.args.blocks as { elements?: { action_id: string; value: string }[] }[]).flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'triage_resolve')!;
    const updatesBefore = slack.messages.filter((m) => m.method === 'chat.update' && m.ts === firstPost.ts).length;
    const click = await send(`${second.url}/slack/events`, signSlack(slackClick({ actionId: resolve.action_id, value: resolve.value, channel: firstPost.channel, messageTs: firstPost.ts })));
    expect(click.status).toBe(200);
    await until(async () => (await pgRows<{ n: number }>(`SELECT COUNT(*)::int AS n FROM triage_events WHERE action = 'resolve'`))[0]!.n === 1, 15_000, 'the click recorded');
    await until(() => slack.messages.filter((m) => m.method === 'chat.update' && m.ts === firstPost.ts).length > updatesBefore, 15_000, 'the clicked message edited');
  } finally {
    await stop(second.child);
    outputs.push(second.stderr());
  }

  // The history lists on PostgreSQL, the copied delivery now delivered.
  const history = JSON.parse((await cli([...ledgerArgs, pgConfig], environment)).stdout) as { alertId: string | null; status: string; destination: string }[];
  expect(history.find((e) => e.alertId === 'copy-0004')).toMatchObject({ status: 'delivered', destination: 'later-slack' });
  expect(history.find((e) => e.alertId === 'copy-0005')).toMatchObject({ status: 'dead', destination: 'gone-slack' });
  expect(history.filter((e) => e.alertId === 'copy\u0000nul-0003')).toHaveLength(2);
  for (const out of outputs) expect(out).not.toContain(PASSWORD);
});
