/**
 * The store contract on every engine, part 3: silences from chat. A choice is recorded once per interaction id,
 * one silence per alert holds at a time, every change a message shows schedules an edit of every copy, the API
 * calls come due and their outcomes move the silence along (also when an Unsilence arrives while the create is under
 * way), and purge keeps an alert whose silence holds. The same tests on SQLite and PostgreSQL; on PostgreSQL also two
 * replicas: one current silence between two choices at the same moment, each call leased to one replica.
 */
import type { StoreEngine } from '../src/delivery/store-contract';
import { PostgresEngine } from '../src/delivery/postgres/postgres-engine';
import { parseAlertmanagerPayload } from '../src/sources/alertmanager';
import type { SilenceRequestInput } from '../src/triage/silence-store';
import type { TriageActor } from '../src/triage/state';
import { accept, deliverAll, ENGINES, useEngine } from './helpers/store-engines';
import { parsedAlert } from './helpers/fixtures';
import { createTestDatabase } from './helpers/postgres';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteEngine } from '../src/delivery/sqlite-engine';
import { OutboxStore } from '../src/delivery/store';
import { copySqliteToPostgres } from '../src/delivery/store-copy';
import { silentLogger } from '../src/observability/logger';

const ann: TriageActor = { platform: 'slack', id: 'U1', name: 'ann' };
const bob: TriageActor = { platform: 'discord', id: '42', name: 'bob' };
const HOUR = 3_600_000;
const later = () => Date.now() + 1000;

/** One Alertmanager alert (its labels are what a silence matches). */
function amAlert(instance: string) {
  const parsed = parseAlertmanagerPayload({
    externalURL: 'http://am.example.com:9093',
    alerts: [{ status: 'firing', labels: { alertname: 'HighCPU', instance }, startsAt: '2026-03-01T10:00:00Z', fingerprint: `fp-${instance}` }],
  });
  if (!parsed.ok) throw new Error('fixture');
  return parsed.alerts[0]!;
}

async function delivered(engine: StoreEngine, instance = 'api-1', destinations = ['slack', 'discord']): Promise<{ alertRow: number; ids: number[] }> {
  await accept(engine, amAlert(instance), destinations.map((destination) => ({ route: 'r', destination })));
  await deliverAll(engine, later());
  const rows = await engine.ledger().list({ alertId: `fp-${instance}` });
  return { alertRow: rows[0]!.alertRow, ids: rows.map((r) => r.id).sort((a, b) => a - b) };
}

const request = (alertRow: number, deliveryId: number, at: number, extra: Partial<SilenceRequestInput> = {}): SilenceRequestInput => ({
  alertRow,
  deliveryId,
  source: 'alertmanager',
  actor: ann,
  durationMs: HOUR,
  matchers: [
    { name: 'alertname', value: 'HighCPU', isRegex: false, isEqual: true },
    { name: 'instance', value: 'api-1', isRegex: false, isEqual: true },
  ],
  comment: 'Silenced for 1 h from Slack by @ann',
  at,
  ...extra,
});

describe.each(ENGINES)('store contract on %s: silences', (_name, open) => {
  const ctx = useEngine(open);
  let engine: StoreEngine;
  beforeEach(() => {
    engine = ctx.engine;
  });
  const stale = async (at: number) => (await engine.triage().staleMessages(at, 10, 0)).map((m) => [m.id, m.revision]);
  const due = async (at: number) => engine.silences().due(at, 10, 0);

  it('records a choice once per interaction id, one silence per alert at a time, and every copy then needs an edit', async () => {
    const { alertRow, ids } = await delivered(engine);
    const now = later();
    expect(await stale(now)).toEqual([]);
    expect(await engine.silences().request(request(alertRow, ids[0]!, now, { interactionId: 'i-1' }))).toBe('recorded');
    expect(await stale(now)).toEqual([[ids[0], 1], [ids[1], 1]]);
    expect(await engine.silences().request(request(alertRow, ids[1]!, now, { interactionId: 'i-1' }))).toBe('duplicate');
    expect(await engine.silences().request(request(alertRow, ids[1]!, now, { interactionId: 'i-2', actor: bob }))).toBe('busy');
    expect(await stale(now)).toEqual([[ids[0], 1], [ids[1], 1]]);
    const view = await engine.triage().view(alertRow, ids[0]);
    expect(view.silence).toEqual({ state: 'creating', source: 'alertmanager', by: ann, durationMs: HOUR, endsAt: now + HOUR });
    // Another alert is silenced on its own.
    const other = await delivered(engine, 'api-2');
    expect(await engine.silences().request(request(other.alertRow, other.ids[0]!, now, { interactionId: 'i-3' }))).toBe('recorded');
  });

  it('creates, ends at its time, and the API calls come due with what they need', async () => {
    const { alertRow, ids } = await delivered(engine);
    const now = later();
    await engine.silences().request(request(alertRow, ids[0]!, now));
    expect(await engine.silences().nextDueAt()).toBe(now);
    expect(await due(now - 1)).toEqual([]);
    const [job] = await due(now);
    expect(job).toEqual({
      id: expect.any(Number),
      alertRow,
      source: 'alertmanager',
      state: 'creating',
      matchers: request(alertRow, 0, now).matchers,
      comment: 'Silenced for 1 h from Slack by @ann',
      createdBy: 'ann',
      startsAt: now,
      endsAt: now + HOUR,
      silenceId: null,
      attempts: 0,
      lastError: null,
    });
    await engine.silences().finish(job!, { kind: 'created', silenceId: 'am-1' }, now + 10);
    expect((await engine.triage().view(alertRow)).silence).toMatchObject({ state: 'active', silenceId: 'am-1' });
    expect(await stale(now + 10)).toEqual([[ids[0], 2], [ids[1], 2]]);
    // An active silence is due again only when its time is up: then it ends, and the menu comes back.
    expect(await engine.silences().nextDueAt()).toBe(now + HOUR);
    expect(await due(now + HOUR - 1)).toEqual([]);
    const [ending] = await due(now + HOUR);
    expect(ending).toMatchObject({ state: 'active', silenceId: 'am-1' });
    await engine.silences().finish(ending!, { kind: 'ended' }, now + HOUR);
    expect((await engine.triage().view(alertRow)).silence).toMatchObject({ state: 'ended' });
    expect(await engine.silences().nextDueAt()).toBeUndefined();
    expect(await engine.silences().request(request(alertRow, ids[1]!, now + HOUR + 1, { actor: bob }))).toBe('recorded');
  });

  it('failures: a retry shows a new reason once, a create given up fails, an expire given up leaves the silence active', async () => {
    const { alertRow, ids } = await delivered(engine);
    const now = later();
    await engine.silences().request(request(alertRow, ids[0]!, now));
    const revision = async (): Promise<number> => Number((await stale(now + HOUR))[0]![1]);
    let [job] = await due(now);
    await engine.silences().finish(job!, { kind: 'retry', at: now + 500, reason: '401 from Alertmanager' }, now);
    expect((await engine.triage().view(alertRow)).silence).toMatchObject({ state: 'creating', error: '401 from Alertmanager' });
    const shown = await revision();
    expect(await due(now + 499)).toEqual([]);
    [job] = await due(now + 500);
    expect(job).toMatchObject({ attempts: 1, lastError: '401 from Alertmanager' });
    // The same reason again changes nothing a message shows: no edit.
    await engine.silences().finish(job!, { kind: 'retry', at: now + 1500, reason: '401 from Alertmanager' }, now + 500);
    expect(await revision()).toBe(shown);
    [job] = await due(now + 1500);
    await engine.silences().finish(job!, { kind: 'gaveUp', reason: '400 from Alertmanager: bad matcher' }, now + 1500);
    expect((await engine.triage().view(alertRow)).silence).toMatchObject({ state: 'failed', error: '400 from Alertmanager: bad matcher' });
    expect(await revision()).toBeGreaterThan(shown);
    expect(await engine.silences().nextDueAt()).toBeUndefined();

    // A new choice after a failure; created; Unsilence; its expire gives up: still active, with the reason.
    await engine.silences().request(request(alertRow, ids[0]!, now + 2000));
    [job] = await due(now + 2000);
    await engine.silences().finish(job!, { kind: 'created', silenceId: 'am-2' }, now + 2000);
    expect(await engine.silences().unsilence({ alertRow, actor: bob, at: now + 3000 })).toBe('recorded');
    [job] = await due(now + 3000);
    expect(job).toMatchObject({ state: 'expiring', silenceId: 'am-2' });
    await engine.silences().finish(job!, { kind: 'gaveUp', reason: '403 from Alertmanager' }, now + 3000);
    expect((await engine.triage().view(alertRow)).silence).toMatchObject({ state: 'active', silenceId: 'am-2', error: '403 from Alertmanager', unsilencedBy: bob });
    expect(await engine.silences().nextDueAt()).toBe(now + 2000 + HOUR);
  });

  it('Unsilence: once per interaction id, none without a silence, and one during the create expires what it made', async () => {
    const { alertRow, ids } = await delivered(engine);
    const now = later();
    expect(await engine.silences().unsilence({ alertRow, actor: bob, at: now })).toBe('none');
    await engine.silences().request(request(alertRow, ids[0]!, now));
    const [creating] = await due(now);
    // The click lands while the create is under way.
    expect(await engine.silences().unsilence({ alertRow, actor: bob, interactionId: 'u-1', at: now + 5 })).toBe('recorded');
    expect(await engine.silences().unsilence({ alertRow, actor: bob, interactionId: 'u-1', at: now + 5 })).toBe('duplicate');
    expect(await engine.silences().unsilence({ alertRow, actor: bob, interactionId: 'u-2', at: now + 5 })).toBe('none');
    await engine.silences().finish(creating!, { kind: 'created', silenceId: 'am-3' }, now + 10);
    const [expiring] = await due(now + 10);
    expect(expiring).toMatchObject({ state: 'expiring', silenceId: 'am-3' });
    await engine.silences().finish(expiring!, { kind: 'expired' }, now + 20);
    expect((await engine.triage().view(alertRow)).silence).toEqual({
      state: 'expired',
      source: 'alertmanager',
      by: ann,
      durationMs: HOUR,
      endsAt: now + HOUR,
      silenceId: 'am-3',
      unsilencedBy: bob,
      unsilencedAt: now + 5,
    });
    expect(await engine.silences().nextDueAt()).toBeUndefined();
    expect(await engine.silences().request(request(alertRow, ids[0]!, now + 30))).toBe('recorded');
  });

  it('purge keeps an alert whose silence holds and takes a finished one with its silences', async () => {
    // Alerts without an episode (a firing Alertmanager episode is kept by purge whatever else holds it).
    const plain = async (alertId: string) => {
      await accept(engine, parsedAlert({ alertId }), [{ route: 'r', destination: 'slack' }]);
      await deliverAll(engine, later());
      const rows = await engine.ledger().list({ alertId });
      return { alertRow: rows[0]!.alertRow, ids: rows.map((r) => r.id) };
    };
    const held = await plain('held');
    const done = await plain('done');
    const now = later();
    for (const { alertRow, ids } of [held, done]) await engine.silences().request(request(alertRow, ids[0]!, now));
    for (const job of await due(now)) await engine.silences().finish(job, { kind: 'created', silenceId: `am-${job.alertRow}` }, now);
    const [ending] = (await due(now + HOUR)).filter((j) => j.alertRow === done.alertRow);
    await engine.silences().finish(ending!, { kind: 'ended' }, now + HOUR);
    // Both alerts' messages are up to date (no edit pending would keep them).
    for (const message of await engine.triage().staleMessages(now + 2 * HOUR, 10, 0)) await engine.triage().markEdited(message.id, message.revision);
    const purged = await engine.ledger().purge(0, now + 10 * HOUR);
    expect(purged.alerts).toBe(1);
    expect(await engine.ledger().alert(held.alertRow)).toBeDefined();
    expect(await engine.ledger().alert(done.alertRow)).toBeUndefined();
    expect((await engine.triage().view(held.alertRow)).silence).toMatchObject({ state: 'active' });
  });

  it('keeps NUL bytes and other hostile text of names and comments as it was given', async () => {
    const { alertRow, ids } = await delivered(engine);
    const now = later();
    const odd: TriageActor = { platform: 'slack', id: 'U\u0000X', name: 'a\u0000b\u2400c' };
    await engine.silences().request(request(alertRow, ids[0]!, now, { actor: odd, comment: 'x\u0000y', matchers: [{ name: 'instance', value: 'a\u0000b', isRegex: false, isEqual: true }] }));
    const [job] = await due(now);
    expect(job).toMatchObject({ comment: 'x\u0000y', createdBy: 'a\u0000b\u2400c', matchers: [{ name: 'instance', value: 'a\u0000b' }] });
    expect((await engine.triage().view(alertRow)).silence?.by).toEqual(odd);
  });
});

describe('silences on PostgreSQL with two replicas', () => {
  it('one current silence between two choices at the same moment; each call leased to one replica, its outcome only from it', async () => {
    const db = await createTestDatabase();
    const a = await PostgresEngine.open(db.url, 'replica-a');
    const b = await PostgresEngine.open(db.url, 'replica-b');
    try {
      const { alertRow, ids } = await delivered(a);
      const now = later();
      const results = await Promise.all([
        a.silences().request(request(alertRow, ids[0]!, now, { interactionId: 'x-1' })),
        b.silences().request(request(alertRow, ids[1]!, now, { interactionId: 'x-2', actor: bob })),
      ]);
      expect(results.sort()).toEqual(['busy', 'recorded']);
      const [job] = await a.silences().due(now, 10, 60_000);
      expect(job).toBeDefined();
      expect(await b.silences().due(now, 10, 60_000)).toEqual([]);
      expect(await b.silences().nextDueAt()).toBe(now + 60_000);
      // Replica b's outcome for a job it does not hold is dropped; a's stands.
      await b.silences().finish(job!, { kind: 'gaveUp', reason: 'not mine' }, now);
      expect((await a.triage().view(alertRow)).silence).toMatchObject({ state: 'creating' });
      await a.silences().finish(job!, { kind: 'created', silenceId: 'am-9' }, now);
      expect((await b.triage().view(alertRow)).silence).toMatchObject({ state: 'active', silenceId: 'am-9' });
    } finally {
      await Promise.all([a.close(), b.close()]);
      await db.drop();
    }
  });
});

describe('migrate --from sqlite', () => {
  it('copies silences (hostile text included): the PostgreSQL store shows them, expires them and keeps one per alert', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'cb-silence-copy-')), 'outbox.db');
    const sqlite = new SqliteEngine(new OutboxStore(file));
    const { alertRow, ids } = await delivered(sqlite);
    const now = later();
    await sqlite.silences().request(request(alertRow, ids[0]!, now, { interactionId: 'copy-1', comment: 'x\u0000y', actor: { platform: 'slack', id: 'U1', name: 'a\u2400b' } }));
    const [job] = await sqlite.silences().due(now, 10, 0);
    await sqlite.silences().finish(job!, { kind: 'created', silenceId: 'am-copied' }, now);
    const seen = (await sqlite.triage().view(alertRow)).silence;
    await sqlite.close();

    const db = await createTestDatabase();
    const pg = await (async () => {
      await copySqliteToPostgres(file, db.url, silentLogger());
      return PostgresEngine.open(db.url, 'replica-a');
    })();
    try {
      expect((await pg.triage().view(alertRow)).silence).toEqual(seen);
      expect(await pg.silences().request(request(alertRow, ids[1]!, now, { interactionId: 'copy-1' }))).toBe('duplicate');
      expect(await pg.silences().request(request(alertRow, ids[1]!, now, { interactionId: 'copy-2' }))).toBe('busy');
      expect(await pg.silences().unsilence({ alertRow, actor: bob, at: now + 1 })).toBe('recorded');
      const [expiring] = await pg.silences().due(now + 1, 10, 60_000);
      expect(expiring).toMatchObject({ state: 'expiring', silenceId: 'am-copied', comment: 'x\u0000y', createdBy: 'a\u2400b' });
      // Silences made on PostgreSQL after the copy get ids past the copied ones.
      await pg.silences().finish(expiring!, { kind: 'expired' }, now + 2);
      expect(await pg.silences().request(request(alertRow, ids[1]!, now + 3, { interactionId: 'copy-3' }))).toBe('recorded');
      const [fresh] = await pg.silences().due(now + 3, 10, 60_000);
      expect(fresh!.id).toBeGreaterThan(job!.id);
    } finally {
      await pg.close();
      await db.drop();
    }
  });
});

