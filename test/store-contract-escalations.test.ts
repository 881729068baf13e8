/**
 * The store contract on every engine, part 5: escalation reminders (escalation-store.ts semantics). A posted
 * message's first reminder is scheduled with its post; due reminders are handed out once (leased on PostgreSQL);
 * each outcome moves the schedule and schedules an edit of the message's line; an acknowledge or resolve click on
 * any copy, or the source's resolution, stops every copy's reminders; purge keeps an alert whose reminders are still
 * to come. The same tests on SQLite and PostgreSQL.
 */
import type { Alert } from '../src/domain/alert';
import { PostgresEngine } from '../src/delivery/postgres/postgres-engine';
import type { StoreEngine } from '../src/delivery/store-contract';
import type { DueReminder } from '../src/escalation/state';
import type { TriageActor } from '../src/triage/state';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { copySqliteToPostgres } from '../src/delivery/store-copy';
import { SqliteEngine } from '../src/delivery/sqlite-engine';
import { OutboxStore } from '../src/delivery/store';
import { silentLogger } from '../src/observability/logger';
import { parsedAlert } from './helpers/fixtures';
import { createTestDatabase } from './helpers/postgres';
import { accept, ENGINES, useEngine } from './helpers/store-engines';

const ann: TriageActor = { platform: 'slack', id: 'U1', name: 'ann' };

describe.each(ENGINES)('store contract on %s: escalations', (_name, open) => {
  const ctx = useEngine(open);
  let engine: StoreEngine;
  /** "Now" of the test: after every accept it makes (the engines stamp accepts with their own clock). */
  let T0: number;
  beforeEach(() => {
    engine = ctx.engine;
    T0 = Date.now() + 1000;
  });

  /**
   * One alert posted to `destinations` at T0 (as the worker records a post), each message escalating at `firstAt`
   * (none for the destinations in `quiet`); its row and the delivery ids, in destination order.
   */
  async function posted(alert: Alert, destinations: string[], firstAt: number, quiet: string[] = []): Promise<{ alertRow: number; ids: number[] }> {
    await accept(engine, alert, destinations.map((destination) => ({ route: 'r', destination })));
    const claimed = [];
    for (let batch = await engine.claim(100, new Set(), 60_000, T0); batch.length > 0; batch = await engine.claim(100, new Set(), 60_000, T0)) claimed.push(...batch);
    // Whatever else was pending goes out too (without escalating); the ids are this alert's messages.
    const mine = claimed.filter((d) => d.alert.dedupKey === alert.dedupKey);
    for (const d of claimed) {
      const escalates = mine.includes(d) && !quiet.includes(d.destination);
      await engine.recordAttempt({ kind: 'delivered', id: d.id, ref: { channel: 'C1', ts: `${d.id}.0` }, renderedRevision: d.revision, ...(escalates ? { escalateAt: firstAt } : {}) }, T0);
    }
    const ids = mine.sort((a, b) => a.destination.localeCompare(b.destination)).map((d) => d.id);
    return { alertRow: mine[0]!.alertRow, ids };
  }

  const due = (at: number, limit = 10) => engine.escalations().due(at, limit, 60_000);
  const stale = async (at: number) => (await engine.triage().staleMessages(at, 100, 0)).map((m) => m.id).sort((a, b) => a - b);
  const editAll = async (at: number) => {
    for (const m of await engine.triage().staleMessages(at, 100, 0)) await engine.triage().markEdited(m.id, m.revision);
  };

  it('schedules the first reminder with the post, hands it out when due, and moves the schedule with each one sent', async () => {
    const { alertRow, ids } = await posted(parsedAlert({ alertId: 'a' }), ['discord', 'slack'], T0 + 15_000, ['discord']);
    const [discord, slack] = ids as [number, number];
    expect(await engine.escalations().state(slack)).toEqual({ status: 'pending', sent: 0, dueAt: T0 + 15_000 });
    expect(await engine.escalations().state(discord)).toBeUndefined();
    expect(await engine.escalations().nextDueAt()).toBe(T0 + 15_000);
    expect(await due(T0 + 14_999)).toEqual([]);
    const [first, ...none] = await due(T0 + 15_000);
    expect(none).toEqual([]);
    expect(first).toMatchObject({ deliveryId: slack, alertRow, route: 'r', destination: 'slack', ref: { channel: 'C1', ts: `${slack}.0` }, threadRef: null, sent: 0, attempts: 0, dueAt: T0 + 15_000, alert: { alertId: 'a' } });
    await editAll(T0 + 15_000);

    await engine.escalations().record(first!, { kind: 'sent', nextAt: T0 + 45_000, threadRef: { channelId: '999' } }, T0 + 15_001);
    expect(await engine.escalations().state(slack)).toEqual({ status: 'pending', sent: 1, dueAt: T0 + 45_000 });
    // The message's line moved: its edit is due.
    expect(await stale(T0 + 15_001)).toEqual([slack]);
    expect((await engine.triage().view(alertRow, slack)).escalation).toEqual({ status: 'pending', sent: 1, dueAt: T0 + 45_000 });
    // The thread the reminder started is the message's thread from now on.
    expect((await engine.triage().threadParent('slack', 'Rule.X', 0, -1))?.threadRef).toEqual({ channelId: '999' });
    // A second record of the same claim (a retried write) changes nothing.
    await engine.escalations().record(first!, { kind: 'sent', nextAt: T0 + 99_000, threadRef: null }, T0 + 15_002);
    expect(await engine.escalations().state(slack)).toMatchObject({ sent: 1, dueAt: T0 + 45_000 });

    expect(await due(T0 + 44_999)).toEqual([]);
    const [second] = await due(T0 + 45_000);
    expect(second).toMatchObject({ sent: 1, dueAt: T0 + 45_000 });
    await engine.escalations().record(second!, { kind: 'sent', nextAt: null, threadRef: null }, T0 + 45_001);
    expect(await engine.escalations().state(slack)).toEqual({ status: 'done', sent: 2, dueAt: T0 + 45_000 });
    expect(await engine.escalations().nextDueAt()).toBeUndefined();
    expect(await due(T0 + 999_999)).toEqual([]);
  });

  it('a deferral moves the try without counting it; a retry counts and keeps the schedule; a reminder given up shows in the line', async () => {
    const { ids } = await posted(parsedAlert({ alertId: 'a' }), ['slack'], T0 + 1000);
    const [id] = ids as [number];
    let [r] = await due(T0 + 1000);
    await engine.escalations().record(r!, { kind: 'deferred', at: T0 + 3000 }, T0 + 1000);
    expect(await due(T0 + 2999)).toEqual([]);
    expect(await engine.escalations().nextDueAt()).toBe(T0 + 3000);
    [r] = await due(T0 + 3000);
    expect(r).toMatchObject({ attempts: 0, dueAt: T0 + 1000 });
    await engine.escalations().record(r!, { kind: 'retry', at: T0 + 5000, reason: 'HTTP 503' }, T0 + 3000);
    expect(await engine.escalations().state(id)).toEqual({ status: 'pending', sent: 0, dueAt: T0 + 1000, lastError: 'HTTP 503' });
    [r] = await due(T0 + 5000);
    expect(r).toMatchObject({ attempts: 1, dueAt: T0 + 1000 });
    await editAll(T0 + 5000);
    await engine.escalations().record(r!, { kind: 'dead', reason: 'channel_not_found' }, T0 + 5000);
    expect(await engine.escalations().state(id)).toEqual({ status: 'dead', sent: 0, dueAt: T0 + 1000, lastError: 'channel_not_found' });
    expect(await stale(T0 + 5000)).toEqual([id]);
    expect(await engine.escalations().nextDueAt()).toBeUndefined();
  });

  it('an acknowledgement or resolution on any copy stops every copy in the click; an assignment does not', async () => {
    const { alertRow, ids } = await posted(parsedAlert({ alertId: 'a' }), ['discord', 'slack', 'slack-2'], T0 + 1000);
    await editAll(T0);
    await engine.triage().record({ alertRow, deliveryId: ids[0]!, action: 'assign', actor: ann, at: T0 + 10 });
    expect((await engine.escalations().state(ids[1]!))?.status).toBe('pending');
    await engine.triage().record({ alertRow, deliveryId: ids[0]!, action: 'acknowledge', actor: ann, at: T0 + 20 });
    for (const id of ids) expect(await engine.escalations().state(id)).toEqual({ status: 'stopped', sent: 0, dueAt: T0 + 1000, stopReason: 'acknowledge' });
    expect(await due(T0 + 999_999)).toEqual([]);
    expect(await engine.escalations().nextDueAt()).toBeUndefined();
    expect(await stale(T0 + 20)).toEqual(ids);
    // Inside a transaction as the triage service records a click: the same.
    const other = await posted(parsedAlert({ alertId: 'b' }), ['slack'], T0 + 1000);
    await engine.transaction((tx) => tx.triage().record({ alertRow: other.alertRow, deliveryId: other.ids[0]!, action: 'resolve', actor: ann, at: T0 + 30 }));
    expect(await engine.escalations().state(other.ids[0]!)).toMatchObject({ status: 'stopped', stopReason: 'resolve' });
  });

  it('a copy posted after its alert was acknowledged elsewhere does not escalate', async () => {
    await accept(engine, parsedAlert({ alertId: 'a' }), [{ route: 'r', destination: 'slack' }, { route: 'r', destination: 'zz-late' }]);
    const [first] = await engine.claim(1, new Set(['zz-late']), 60_000, T0);
    await engine.recordAttempt({ kind: 'delivered', id: first!.id, ref: { channel: 'C1', ts: '1.0' }, renderedRevision: 0, escalateAt: T0 + 1000 }, T0);
    await engine.triage().record({ alertRow: first!.alertRow, deliveryId: first!.id, action: 'acknowledge', actor: ann, at: T0 + 1 });
    const [late] = await engine.claim(1, new Set(), 60_000, T0 + 2);
    expect(late!.destination).toBe('zz-late');
    await engine.recordAttempt({ kind: 'delivered', id: late!.id, ref: { channel: 'C2', ts: '2.0' }, renderedRevision: late!.revision, escalateAt: T0 + 1002 }, T0 + 2);
    expect(await engine.escalations().state(late!.id)).toBeUndefined();
    expect(await due(T0 + 999_999)).toEqual([]);
  });

  it('a resolution from the source stops the reminders of every firing copy of the episode, whatever the route does with it', async () => {
    const label = (status: 'firing' | 'resolved', content = ''): Alert => ({
      ...parsedAlert({ alertId: `ep-${status}${content}`, title: `ep is ${status}` }),
      source: 'alertmanager',
      dedupKey: `ep|${status}:${content}`,
      episodeKey: 'ep',
      status,
    });
    const first = await posted(label('firing'), ['slack'], T0 + 1000);
    const again = await posted(label('firing', 'v2'), ['discord'], T0 + 1000);
    await editAll(T0);
    await accept(engine, label('resolved'), [{ route: 'r', destination: 'elsewhere', onResolved: 'post' }]);
    for (const id of [...first.ids, ...again.ids]) expect(await engine.escalations().state(id)).toMatchObject({ status: 'stopped', stopReason: 'source' });
    expect(await stale(T0 + 10)).toEqual([...first.ids, ...again.ids].sort((a, b) => a - b));
    expect(await due(T0 + 999_999)).toEqual([]);
    // A new firing episode after it escalates again.
    const next: Alert = { ...label('firing', 'next'), episodeKey: 'ep2' };
    const later = await posted(next, ['slack'], T0 + 1000);
    expect((await engine.escalations().state(later.ids[0]!))?.status).toBe('pending');
  });

  it('a reminder stopped while it was being sent keeps its stop: the late outcome is not written', async () => {
    const { alertRow, ids } = await posted(parsedAlert({ alertId: 'a' }), ['slack'], T0 + 1000);
    const [r] = await due(T0 + 1000);
    await engine.triage().record({ alertRow, deliveryId: ids[0]!, action: 'acknowledge', actor: ann, at: T0 + 1001 });
    await engine.escalations().record(r!, { kind: 'sent', nextAt: T0 + 5000, threadRef: null }, T0 + 1002);
    expect(await engine.escalations().state(ids[0]!)).toEqual({ status: 'stopped', sent: 0, dueAt: T0 + 1000, stopReason: 'acknowledge' });
    await engine.escalations().record(r!, { kind: 'stopped', reason: 'config' }, T0 + 1003);
    expect((await engine.escalations().state(ids[0]!))?.stopReason).toBe('acknowledge');
  });

  it('purge keeps an alert while a reminder is still to come, then deletes its escalations with it', async () => {
    const { ids } = await posted(parsedAlert({ alertId: 'a' }), ['slack'], T0 + 1000);
    await editAll(T0);
    expect(await engine.ledger().purge(0, T0 + 10_000)).toMatchObject({ alerts: 0 });
    const [r] = await due(T0 + 1000);
    await engine.escalations().record(r!, { kind: 'sent', nextAt: null, threadRef: null }, T0 + 1000);
    await editAll(T0 + 1000);
    expect(await engine.ledger().purge(0, T0 + 10_000)).toMatchObject({ alerts: 1, deliveries: 1 });
    expect(await engine.escalations().state(ids[0]!)).toBeUndefined();
  });

  it('several processes: a leased reminder goes to one of them; a lease that ran out is taken over, and the first holder\'s late outcome is dropped', async () => {
    if (engine.engine !== 'postgres') return; // one SQLite process has no one to share reminders with
    const other = new PostgresEngine((engine as PostgresEngine).pool, 'replica-b');
    const { ids } = await posted(parsedAlert({ alertId: 'a' }), ['slack'], T0 + 1000);
    const [mine] = await engine.escalations().due(T0 + 1000, 10, 5000);
    expect(mine).toBeDefined();
    expect(await other.escalations().due(T0 + 1000, 10, 5000)).toEqual([]);
    expect(await other.escalations().nextDueAt()).toBe(T0 + 6000);
    const [theirs] = await other.escalations().due(T0 + 6000, 10, 5000);
    expect(theirs).toMatchObject({ deliveryId: ids[0], sent: 0 });
    // The first holder's late outcomes, while the other holds the reminder, write nothing…
    await engine.escalations().record(mine as DueReminder, { kind: 'dead', reason: 'timeout' }, T0 + 6001);
    await engine.escalations().record(mine as DueReminder, { kind: 'sent', nextAt: T0 + 7000, threadRef: null }, T0 + 6002);
    expect(await engine.escalations().state(ids[0]!)).toEqual({ status: 'pending', sent: 0, dueAt: T0 + 1000 });
    // …and the holder's stands.
    await other.escalations().record(theirs as DueReminder, { kind: 'sent', nextAt: T0 + 9000, threadRef: null }, T0 + 6003);
    expect(await engine.escalations().state(ids[0]!)).toEqual({ status: 'pending', sent: 1, dueAt: T0 + 9000 });
  });
});

describe('migrate --from sqlite: escalations', () => {
  it('copies the schedules, so PostgreSQL replicas send the reminders a SQLite store had still to send', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'cb-copy-esc-')), 'outbox.db');
    const sqlite = new SqliteEngine(new OutboxStore(file));
    const now = Date.now() + 1000;
    await accept(sqlite, parsedAlert({ alertId: 'a' }), [{ route: 'r', destination: 'slack' }, { route: 'r', destination: 'discord' }]);
    for (const d of await sqlite.claim(10, new Set(), 60_000, now)) {
      await sqlite.recordAttempt({ kind: 'delivered', id: d.id, ref: { channel: 'C1', ts: `${d.id}.0` }, renderedRevision: 0, escalateAt: now + 1000 }, now);
    }
    const [first] = await sqlite.escalations().due(now + 1000, 1, 0);
    await sqlite.escalations().record(first!, { kind: 'sent', nextAt: now + 5000, threadRef: null }, now + 1000);
    await sqlite.close();
    const db = await createTestDatabase();
    try {
      const summary = await copySqliteToPostgres(file, db.url, silentLogger());
      expect(summary.copied.escalations).toBe(2);
      expect(summary.nextIds.escalations).toBe(3);
      const pg = await PostgresEngine.open(db.url, 'replica-a');
      try {
        const due = await pg.escalations().due(now + 5000, 10, 60_000);
        expect(due.map((r) => [r.sent, r.dueAt]).sort()).toEqual([[0, now + 1000], [1, now + 5000]]);
        expect(await pg.escalations().state(first!.deliveryId)).toEqual({ status: 'pending', sent: 1, dueAt: now + 5000 });
      } finally {
        await pg.close();
      }
    } finally {
      await db.drop();
    }
  });
});
