/**
 * The store contract on every engine, part 2: triage (clicks once per interaction id, the folded view, edits in
 * place, thread parents, Panther write-back jobs) and burst digests. The same tests on SQLite and PostgreSQL.
 */
import type { StoreEngine } from '../src/delivery/store-contract';
import type { TriageActor } from '../src/triage/state';
import { parsedAlert } from './helpers/fixtures';
import { accept, deliverAll, ENGINES, useEngine } from './helpers/store-engines';

const ann: TriageActor = { platform: 'slack', id: 'U1', name: 'ann' };
const bob: TriageActor = { platform: 'discord', id: '42', name: 'bob' };
const later = () => Date.now() + 1000;

describe.each(ENGINES)('store contract on %s: triage and digests', (_name, open) => {
  const ctx = useEngine(open);
  let engine: StoreEngine;
  beforeEach(() => {
    engine = ctx.engine;
  });

  /** One alert delivered to `destinations`; its row and delivery ids. */
  async function delivered(alertId: string, destinations = ['slack'], detection = 'Rule.X'): Promise<{ alertRow: number; ids: number[] }> {
    await accept(engine, parsedAlert({ alertId, id: detection }), destinations.map((destination) => ({ route: 'r', destination })));
    await deliverAll(engine, later());
    const rows = await engine.ledger().list({ alertId });
    return { alertRow: rows[0]!.alertRow, ids: rows.map((r) => r.id).sort((a, b) => a - b) };
  }

  describe('clicks and the view', () => {
    it('records a click once per interaction id, folds the view, and every message of the alert then needs an edit', async () => {
      const { alertRow, ids } = await delivered('a', ['slack', 'discord']);
      const now = later();
      const first = await engine.triage().record({ alertRow, deliveryId: ids[0]!, action: 'acknowledge', actor: ann, interactionId: 'i-1', at: now });
      expect(first).toEqual({ recorded: true, seq: expect.any(Number) });
      expect(await engine.triage().record({ alertRow, deliveryId: ids[1]!, action: 'resolve', actor: bob, interactionId: 'i-1', at: now })).toEqual({ recorded: false });
      const second = await engine.triage().record({ alertRow, deliveryId: ids[1]!, action: 'assign', actor: bob, at: now + 1 });
      expect(second.seq!).toBeGreaterThan(first.seq!);
      // Without an interaction id every record is a click of its own.
      expect((await engine.triage().record({ alertRow, deliveryId: ids[1]!, action: 'assign', actor: bob, at: now + 2 })).recorded).toBe(true);
      const view = await engine.triage().view(alertRow, ids[0]);
      expect(view).toMatchObject({ status: 'acknowledged', assignee: bob, threadReplies: 0 });
      expect(view.events.map((e) => [e.action, e.actor, e.at])).toEqual([
        ['acknowledge', ann, now],
        ['assign', bob, now + 1],
        ['assign', bob, now + 2],
      ]);
      expect(view.panther).toBeUndefined();
      expect((await engine.triage().staleMessages(now, 10, 0)).map((m) => [m.id, m.revision, m.attempts])).toEqual([
        [ids[0], 3, 0],
        [ids[1], 3, 0],
      ]);
      expect(await engine.triage().delivery(ids[1]!)).toEqual({ id: ids[1], alertRow, alertId: 'a', source: 'panther', route: 'r', destination: 'discord', status: 'delivered' });
      expect(await engine.triage().delivery(987654)).toBeUndefined();
    });

    it('edits: due now or at a deferred time, attempts counted only by a reschedule, done or abandoned up to a revision', async () => {
      const { alertRow, ids } = await delivered('a');
      const [id] = ids as [number];
      const now = later();
      const stale = async (at: number) => (await engine.triage().staleMessages(at, 10, 0)).map((m) => [m.id, m.revision, m.attempts]);
      expect(await engine.triage().nextEditAt()).toBeUndefined();
      await engine.triage().touchAlert(alertRow);
      expect(await engine.triage().nextEditAt()).toBe(0);
      expect(await stale(now)).toEqual([[id, 1, 0]]);
      // Leased (for 0 ms here) by the read: due again once that lease is over (at once on SQLite, which leases nothing).
      expect(await engine.triage().nextEditAt()).toBeLessThanOrEqual(now);
      await engine.triage().deferEdit(id, now + 5000);
      expect(await stale(now)).toEqual([]);
      expect(await engine.triage().nextEditAt()).toBe(now + 5000);
      await engine.triage().rescheduleEdit(id, now + 6000, 'ratelimited');
      expect(await stale(now + 5999)).toEqual([]);
      expect(await stale(now + 6000)).toEqual([[id, 1, 1]]);
      const [message] = await engine.triage().staleMessages(now + 6000, 10, 0);
      expect(message).toMatchObject({ alertRow, route: 'r', destination: 'slack', ref: { channel: 'C1', ts: `${id}.0` }, alert: { alertId: 'a' } });
      await engine.triage().markEdited(id, 1);
      expect(await stale(now + 10_000)).toEqual([]);
      expect(await engine.triage().nextEditAt()).toBeUndefined();
      // A change while an edit is in flight keeps the message stale: an older revision never marks it newer.
      await engine.triage().touchAlert(alertRow);
      await engine.triage().markEdited(id, 1);
      expect(await stale(now)).toEqual([[id, 2, 0]]);
      await engine.triage().abandonEdit(id, 2, 'message_not_found');
      expect(await stale(now)).toEqual([]);
      await engine.triage().touchAlert(alertRow);
      expect(await stale(now)).toEqual([[id, 3, 0]]);
      // A delivery not posted yet is not a message to edit (it is rendered with the new state when it goes out).
      await accept(engine, parsedAlert({ alertId: 'b' }), [{ route: 'r', destination: 'slack' }]);
      const [pending] = await engine.ledger().list({ alertId: 'b' });
      await engine.triage().touchAlert(pending!.alertRow);
      expect((await stale(now)).map(([m]) => m)).toEqual([id]);
    });

    it('finds the open parent of a thread: same destination and detection, within the window, not resolved, never the alert itself', async () => {
      const parent = await delivered('p', ['slack'], 'Rule.T');
      await delivered('other-detection', ['slack'], 'Rule.U');
      const now = later();
      const triage = engine.triage();
      expect(await triage.threadParent('slack', 'Rule.T', now - 60_000, -1)).toMatchObject({ id: parent.ids[0], threadRef: null });
      expect(await triage.threadParent('slack', 'Rule.T', now - 60_000, parent.alertRow)).toBeNull();
      expect(await triage.threadParent('discord', 'Rule.T', now - 60_000, -1)).toBeNull();
      expect(await triage.threadParent('slack', 'Rule.T', now, -1)).toBeNull();
      await triage.record({ alertRow: parent.alertRow, deliveryId: parent.ids[0]!, action: 'resolve', actor: ann, at: now });
      await triage.record({ alertRow: parent.alertRow, deliveryId: parent.ids[0]!, action: 'assign', actor: bob, at: now });
      expect(await triage.threadParent('slack', 'Rule.T', now - 60_000, -1)).toBeNull();
      await triage.record({ alertRow: parent.alertRow, deliveryId: parent.ids[0]!, action: 'acknowledge', actor: ann, at: now });
      expect(await triage.threadParent('slack', 'Rule.T', now - 60_000, -1)).toMatchObject({ id: parent.ids[0] });
    });
  });

  describe('Panther write-back jobs', () => {
    it('hands out the oldest pending job of each alert in click order, and shows a failure in the messages only when it changes', async () => {
      const a = await delivered('a');
      const b = await delivered('b');
      const now = later();
      const triage = engine.triage();
      await triage.enqueueSync(a.alertRow, 'status', { status: 'TRIAGED' }, now);
      await triage.enqueueSync(a.alertRow, 'assignee', { platform: 'slack', userId: 'U1', name: 'ann' }, now);
      await triage.enqueueSync(b.alertRow, 'status', { status: 'RESOLVED' }, now + 5);
      expect(await triage.nextSyncAt()).toBe(now);
      expect(await triage.dueSyncs(now + 4, 10, 0)).toHaveLength(1);
      const due = await triage.dueSyncs(now + 5, 10, 0);
      expect(due.map((j) => [j.alertRow, j.operation, j.argument, j.alertId, j.attempts, j.createdAt])).toEqual([
        [a.alertRow, 'status', { status: 'TRIAGED' }, 'a', 0, now],
        [b.alertRow, 'status', { status: 'RESOLVED' }, 'b', 0, now + 5],
      ]);
      expect((await triage.view(a.alertRow)).panther).toEqual({ state: 'pending' });
      const revision = async () => (await triage.staleMessages(now + 100_000, 10, 0)).find((m) => m.alertRow === a.alertRow)?.revision ?? 0;

      await triage.finishSync(due[0]!, { kind: 'retry', at: now + 30_000, reason: 'HTTP 500' }, now + 10);
      expect((await triage.view(a.alertRow)).panther).toEqual({ state: 'failed', reason: 'HTTP 500', retrying: true });
      expect(await revision()).toBe(1);
      // Its job waits for the retry, and the alert's next job waits behind it (click order).
      expect((await triage.dueSyncs(now + 20, 10, 0)).map((j) => j.alertRow)).toEqual([b.alertRow]);
      // Failing again the same way changes nothing shown.
      const [again] = await triage.dueSyncs(now + 30_000, 1, 0);
      await triage.finishSync(again!, { kind: 'retry', at: now + 60_000, reason: 'HTTP 500' }, now + 30_000);
      expect(await revision()).toBe(1);
      const [retried] = await triage.dueSyncs(now + 60_000, 1, 0);
      expect(retried).toMatchObject({ id: due[0]!.id, attempts: 2 });
      await triage.finishSync(retried!, { kind: 'done' }, now + 60_000);
      expect((await triage.view(a.alertRow)).panther).toEqual({ state: 'pending' });
      expect(await revision()).toBe(2);
      const [next] = await triage.dueSyncs(now + 60_000, 10, 0);
      expect(next).toMatchObject({ alertRow: a.alertRow, operation: 'assignee' });
      await triage.finishSync(next!, { kind: 'dead', reason: 'HTTP 403' }, now + 60_001);
      expect((await triage.view(a.alertRow)).panther).toEqual({ state: 'failed', reason: 'HTTP 403', retrying: false });
      await triage.finishSync(due[1]!, { kind: 'done' }, now + 60_002);
      expect((await triage.view(b.alertRow)).panther).toEqual({ state: 'synced' });
      expect(await triage.nextSyncAt()).toBeUndefined();
    });
  });

  describe('digests', () => {
    it('measures the backlog of routes, leases the oldest waiting rows, and records a digest with every row it covers', async () => {
      const before = Date.now();
      for (let i = 0; i < 3; i++) await accept(engine, parsedAlert({ alertId: `burst-${i}`, title: `Burst ${i}`, severity: i === 0 ? 'CRITICAL' : 'LOW' }), [{ route: 'burst', destination: 'slack' }]);
      await accept(engine, parsedAlert({ alertId: 'elsewhere' }), [{ route: 'other', destination: 'slack' }]);
      const now = later();
      const digests = engine.digests();
      const backlog = await digests.backlog('slack', ['burst'], now);
      expect(backlog.count).toBe(3);
      expect(backlog.oldestCreatedAt).toBeGreaterThanOrEqual(before);
      expect(await digests.backlog('slack', ['nothing'], now)).toEqual({ count: 0, oldestCreatedAt: null });
      expect(await digests.backlog('slack', ['burst', 'other'], now)).toMatchObject({ count: 4 });

      const leased = await digests.leaseWaiting('slack', ['burst'], 2, 60_000, now);
      expect(leased.map((c) => [c.alert, c.entry.severity, c.entry.title, c.entry.link, c.route, c.attempts])).toEqual([
        [{ alertId: 'burst-0', source: 'panther' }, 'CRITICAL', 'Burst 0', 'https://x.example/alerts/1', 'burst', 0],
        [{ alertId: 'burst-1', source: 'panther' }, 'LOW', 'Burst 1', 'https://x.example/alerts/1', 'burst', 0],
      ]);
      expect(leased[0]!.entry.createdAtMs).toBe(Date.parse('2024-01-01T00:00:00Z'));
      expect(await digests.backlog('slack', ['burst'], now)).toMatchObject({ count: 1 });
      expect(await digests.backlog('slack', ['burst'], now + 60_000)).toMatchObject({ count: 3 });

      expect(await digests.open('slack', 0)).toBeNull();
      const summary = { counts: { CRITICAL: 1, LOW: 1 }, top: leased.map((c) => c.entry) };
      const id = await digests.record(null, 'slack', { channel: 'C1', ts: '9.9' }, summary, leased.map((c) => c.id), now);
      expect(await digests.open('slack', now)).toEqual({ id, ref: { channel: 'C1', ts: '9.9' }, summary, openedAt: now, updatedAt: now });
      const covered = await engine.ledger().list({ status: 'delivered' });
      expect(covered.map((e) => [e.alertId, e.messageRef, e.attempts])).toEqual([
        ['burst-1', { channel: 'C1', ts: '9.9', digestId: String(id) }, 1],
        ['burst-0', { channel: 'C1', ts: '9.9', digestId: String(id) }, 1],
      ]);

      // The next revision edits the same digest and covers the rest.
      const [rest] = await digests.leaseWaiting('slack', ['burst'], 10, 60_000, now + 10);
      const grown = { counts: { CRITICAL: 1, LOW: 2 }, top: [...summary.top, rest!.entry] };
      expect(await digests.record(id, 'slack', { channel: 'C1', ts: '9.9' }, grown, [rest!.id], now + 10)).toBe(id);
      expect(await digests.open('slack', now + 5)).toMatchObject({ id, summary: grown, openedAt: now, updatedAt: now + 10 });
      expect(await digests.open('slack', now + 11)).toBeNull();
      expect(await engine.counts()).toEqual({ pending: 1, delivered: 3, dead: 0 });
    });

    it('lets the worker record or hand back a row leased for a digest that failed', async () => {
      for (let i = 0; i < 2; i++) await accept(engine, parsedAlert({ alertId: `d-${i}` }), [{ route: 'burst', destination: 'slack' }]);
      const now = later();
      const [first, second] = await engine.digests().leaseWaiting('slack', ['burst'], 10, 60_000, now);
      await engine.recordAttempt({ kind: 'rescheduled', id: first!.id, nextAttemptAt: now + 1000, reason: 'digest failed', rateLimited: false }, now);
      await engine.release(second!.id);
      const rows = new Map((await engine.ledger().list()).map((e) => [e.alertId, e]));
      expect(rows.get('d-0')).toMatchObject({ status: 'pending', attempts: 1, lastReason: 'digest failed' });
      expect((await engine.claim(10, new Set(), 60_000, now)).map((d) => d.alert.alertId)).toEqual(['d-1']);
    });
  });
});
