/**
 * The store contract (src/delivery/store-contract.ts), the same tests on every engine (issue 16 point 1): SQLite on
 * a temporary file and PostgreSQL on a database of its own (test/helpers/store-engines.ts). This file: accepts and
 * duplicates, claims and leases, every recorded outcome, the queue's reads, transactions. Triage and digests,
 * the ledger, episodes and hostile text are in the store-contract-*.test.ts beside it.
 */
import type { StoreEngine } from '../src/delivery/store-contract';
import { parsedAlert } from './helpers/fixtures';
import { accept, ENGINES, stored, useEngine } from './helpers/store-engines';

const targets = [
  { route: 'r', destination: 'slack' },
  { route: 'r', destination: 'discord', template: 'compact' },
];
const slackOnly = [{ route: 'r', destination: 'slack' }];

/** Comfortably after every accept of the test (accepts stamp rows with the real clock). */
const later = () => Date.now() + 1000;

describe.each(ENGINES)('store contract on %s: accepts, claims, outcomes, transactions', (_name, open) => {
  const ctx = useEngine(open);
  let engine: StoreEngine;
  beforeEach(() => {
    engine = ctx.engine;
  });

  describe('acceptGroup', () => {
    it('accepts once, with one pending delivery per target; a repeat is a duplicate naming them and when the first was accepted', async () => {
      const before = Date.now();
      expect(await accept(engine, parsedAlert(), targets)).toEqual({
        status: 'accepted',
        deliveries: [
          { route: 'r', destination: 'slack', status: 'pending' },
          { route: 'r', destination: 'discord', status: 'pending' },
        ],
      });
      const after = Date.now();
      const again = await accept(engine, parsedAlert(), targets);
      expect(again).toMatchObject({ status: 'duplicate', deliveries: [{ destination: 'slack', status: 'pending' }, { destination: 'discord', status: 'pending' }] });
      expect(again.acceptedAt).toBeGreaterThanOrEqual(before);
      expect(again.acceptedAt).toBeLessThanOrEqual(after);
      // Another event of the same detection is another alert.
      expect((await accept(engine, parsedAlert({ alertId: 'other' }), targets)).status).toBe('accepted');
      expect(await engine.counts()).toEqual({ pending: 4, delivered: 0, dead: 0 });
    });

    it('answers a repeat inside one POST as a duplicate of its first copy, and stores an unrouted alert with no deliveries', async () => {
      const results = await engine.acceptGroup(
        [
          { alert: parsedAlert({ alertId: 'a' }), targets: slackOnly },
          { alert: parsedAlert({ alertId: 'a' }), targets: slackOnly },
          { alert: parsedAlert({ alertId: 'b' }), targets: [] },
        ],
        0,
      );
      expect(results.map((r) => r.status)).toEqual(['accepted', 'duplicate', 'accepted']);
      expect(results[1]!.deliveries).toEqual([{ route: 'r', destination: 'slack', status: 'pending' }]);
      expect(results[2]!.deliveries).toEqual([]);
      expect((await accept(engine, parsedAlert({ alertId: 'b' }), [])).status).toBe('duplicate');
      expect(await engine.counts()).toEqual({ pending: 1, delivered: 0, dead: 0 });
    });

    it('stores all of a POST or none of it', async () => {
      // Two deliveries of one alert to one destination break a unique key: the POST fails whole.
      const failing = engine.acceptGroup(
        [
          { alert: parsedAlert({ alertId: 'first' }), targets: slackOnly },
          { alert: parsedAlert({ alertId: 'second' }), targets: [...slackOnly, ...slackOnly] },
        ],
        0,
      );
      // Matched by shape: better-sqlite3's native part makes its errors with the constructor of the first test file
      // that loaded it, so in a later file they are not `instanceof` this realm's Error.
      await expect(failing).rejects.toMatchObject({ message: expect.stringMatching(/unique/i) });
      expect(await engine.counts()).toEqual({ pending: 0, delivered: 0, dead: 0 });
      expect((await accept(engine, parsedAlert({ alertId: 'first' }), slackOnly)).status).toBe('accepted');
    });
  });

  describe('claim', () => {
    it('leases the head of each destination, everything a send needs, at most one per destination, none of a busy one', async () => {
      const one = parsedAlert({ alertId: '1' });
      await accept(engine, one, targets);
      await accept(engine, parsedAlert({ alertId: '2' }), targets);
      const now = later();
      const first = await engine.claim(10, new Set(), 60_000, now);
      expect(first.map((d) => [d.destination, d.alert.alertId])).toEqual([
        ['slack', '1'],
        ['discord', '1'],
      ]);
      expect(first[0]).toMatchObject({ alert: stored(one), route: 'r', destination: 'slack', attempts: 0, revision: 0 });
      expect(first[0]!.template).toBeUndefined();
      expect(first[1]!.template).toBe('compact');
      expect(first[1]!.alertRow).toBe(first[0]!.alertRow);
      expect(first[0]!.createdAt).toBeLessThanOrEqual(now);
      // The worker passes the destinations it has in flight; leased rows are never handed out twice.
      expect(await engine.claim(10, new Set(['slack', 'discord']), 60_000, now)).toEqual([]);
      // Once the head is finished, the destination's next row is handed out. (While a lease runs on a destination
      // it is not in `busy` only on PostgreSQL, where another replica holds it: test/postgres-replicas.test.ts.)
      await engine.recordAttempt({ kind: 'delivered', id: first[0]!.id, ref: { channel: 'C', ts: '1' }, renderedRevision: 0 }, now);
      expect((await engine.claim(10, new Set(['discord']), 60_000, now)).map((d) => [d.destination, d.alert.alertId])).toEqual([['slack', '2']]);
    });

    it('takes at most `limit`, and never hides one destination behind another one\'s backlog', async () => {
      for (let i = 0; i < 30; i++) await accept(engine, parsedAlert({ alertId: `s${i}` }), slackOnly);
      await accept(engine, parsedAlert({ alertId: 'd' }), [{ route: 'r', destination: 'discord' }, { route: 'r', destination: 'teams' }]);
      expect(await engine.claim(0, new Set(), 60_000, later())).toEqual([]);
      expect((await engine.claim(1, new Set(), 60_000, later())).map((d) => d.alert.alertId)).toEqual(['s0']);
      expect((await engine.claim(5, new Set(['slack']), 60_000, later())).map((d) => [d.destination, d.alert.alertId])).toEqual([
        ['discord', 'd'],
        ['teams', 'd'],
      ]);
    });

    it('hands out a destination\'s rows by (next_attempt_at, id): a retry waits for its time, newer rows go first meanwhile', async () => {
      for (const id of ['a1', 'a2', 'a3']) await accept(engine, parsedAlert({ alertId: id }), slackOnly);
      const now = later();
      const [a1] = await engine.claim(10, new Set(), 60_000, now);
      expect(a1!.alert.alertId).toBe('a1');
      await engine.recordAttempt({ kind: 'rescheduled', id: a1!.id, nextAttemptAt: now + 5000, reason: 'timeout', rateLimited: false }, now);
      const [a2] = await engine.claim(10, new Set(), 60_000, now);
      expect(a2!.alert.alertId).toBe('a2');
      await engine.recordAttempt({ kind: 'delivered', id: a2!.id, ref: { channel: 'C', ts: '1' }, renderedRevision: 0 }, now);
      const due = (at: number) => engine.claim(10, new Set(), 60_000, at).then((c) => c.map((d) => d.alert.alertId));
      expect(await due(now + 5000)).toEqual(['a3']);
    });

    it('keeps a lease until it ends, then hands the row out again; a released row is claimable at once', async () => {
      await accept(engine, parsedAlert({ alertId: 'x' }), slackOnly);
      const now = later();
      const [leased] = await engine.claim(10, new Set(), 5000, now);
      expect(await engine.claim(10, new Set(), 5000, now + 4999)).toEqual([]);
      const [again] = await engine.claim(10, new Set(), 5000, now + 5000);
      expect(again).toMatchObject({ id: leased!.id, attempts: 0 });
      await engine.release(again!.id);
      expect((await engine.claim(10, new Set(), 5000, now + 5001)).map((d) => d.id)).toEqual([leased!.id]);
    });
  });

  describe('recordAttempt', () => {
    it('records delivered, rescheduled (a rate limit is not a failed attempt) and dead, as the ledger shows them', async () => {
      for (const id of ['ok', 'limited', 'failed', 'gone']) await accept(engine, parsedAlert({ alertId: id }), [{ route: 'r', destination: `d-${id}` }]);
      const now = later();
      const claimed = new Map((await engine.claim(10, new Set(), 60_000, now)).map((d) => [d.alert.alertId, d.id]));
      expect(claimed.size).toBe(4);
      await engine.recordAttempt({ kind: 'delivered', id: claimed.get('ok')!, ref: { channel: 'C1', ts: '1.2' }, renderedRevision: 0 }, now + 1);
      await engine.recordAttempt({ kind: 'rescheduled', id: claimed.get('limited')!, nextAttemptAt: now + 9000, reason: 'ratelimited', rateLimited: true }, now + 1);
      await engine.recordAttempt({ kind: 'rescheduled', id: claimed.get('failed')!, nextAttemptAt: now + 8000, reason: 'timeout', rateLimited: false }, now + 1);
      await engine.recordAttempt({ kind: 'dead', id: claimed.get('gone')!, reason: 'channel_not_found', countAttempt: false }, now + 1);
      const byAlert = new Map((await engine.ledger().list()).map((e) => [e.alertId, e]));
      expect(byAlert.get('ok')).toMatchObject({ status: 'delivered', attempts: 1, messageRef: { channel: 'C1', ts: '1.2' }, deliveredAt: new Date(now + 1).toISOString(), lastReason: null, nextAttemptAt: null });
      expect(byAlert.get('limited')).toMatchObject({ status: 'pending', attempts: 0, rateLimited: 1, lastReason: 'ratelimited', nextAttemptAt: new Date(now + 9000).toISOString() });
      expect(byAlert.get('failed')).toMatchObject({ status: 'pending', attempts: 1, rateLimited: 0, lastReason: 'timeout', updatedAt: new Date(now + 1).toISOString() });
      expect(byAlert.get('gone')).toMatchObject({ status: 'dead', attempts: 0, lastReason: 'channel_not_found', messageRef: null });
      expect(await engine.counts()).toEqual({ pending: 2, delivered: 1, dead: 1 });
      expect(await engine.nextDueByDestination(now + 2)).toEqual(new Map([['d-limited', now + 9000], ['d-failed', now + 8000]]));
      expect(await engine.claim(10, new Set(), 60_000, now + 7999)).toEqual([]);
      const retried = await engine.claim(10, new Set(), 60_000, now + 9000);
      expect(retried.map((d) => [d.alert.alertId, d.attempts])).toEqual([['failed', 1], ['limited', 0]]);
    });

    it('links a delivered reply to its thread parent: the parent counts it, needs an edit, and stays the thread\'s parent', async () => {
      const detection = { id: 'Rule.Thread' };
      await accept(engine, parsedAlert({ ...detection, alertId: 'parent' }), slackOnly);
      await accept(engine, parsedAlert({ ...detection, alertId: 'reply' }), slackOnly);
      const now = later();
      const [parent] = await engine.claim(1, new Set(), 60_000, now);
      await engine.recordAttempt({ kind: 'delivered', id: parent!.id, ref: { channel: 'C1', ts: '100.1' }, renderedRevision: 0 }, now);
      const [reply] = await engine.claim(1, new Set(), 60_000, now);
      const found = await engine.triage().threadParent('slack', 'Rule.Thread', now - 60_000, reply!.alertRow);
      expect(found).toEqual({ id: parent!.id, ref: { channel: 'C1', ts: '100.1' }, threadRef: null });
      await engine.recordAttempt(
        { kind: 'delivered', id: reply!.id, ref: { channel: 'C1', ts: '100.2' }, renderedRevision: 0, reply: { parentId: parent!.id, threadRef: { channel: 'C1', ts: '100.1' } } },
        now,
      );
      expect((await engine.triage().view(parent!.alertRow, parent!.id)).threadReplies).toBe(1);
      expect((await engine.triage().staleMessages(now, 10, 0)).map((m) => [m.id, m.revision])).toEqual([[parent!.id, 1]]);
      // A third alert of the detection threads under the parent (never under the reply), with the thread's ref.
      expect(await engine.triage().threadParent('slack', 'Rule.Thread', now - 60_000, -1)).toEqual({
        id: parent!.id,
        ref: { channel: 'C1', ts: '100.1' },
        threadRef: { channel: 'C1', ts: '100.1' },
      });
    });
  });

  describe('queue reads', () => {
    it('reports depth and oldest age per destination, and counts by status', async () => {
      const before = Date.now();
      await accept(engine, parsedAlert({ alertId: '1' }), targets);
      await accept(engine, parsedAlert({ alertId: '2' }), slackOnly);
      const now = Date.now() + 10_000;
      const stats = (await engine.queueStats(now)).sort((a, b) => a.destination.localeCompare(b.destination));
      expect(stats.map((s) => [s.destination, s.depth])).toEqual([['discord', 1], ['slack', 2]]);
      for (const s of stats) {
        expect(s.oldestAgeSeconds).toBeGreaterThanOrEqual(10);
        expect(s.oldestAgeSeconds).toBeLessThanOrEqual((now - before) / 1000);
      }
      expect(await engine.counts()).toEqual({ pending: 3, delivered: 0, dead: 0 });
      expect(await engine.nextDueByDestination(now)).toEqual(new Map([['discord', expect.any(Number)], ['slack', expect.any(Number)]]));
    });
  });

  describe('transaction', () => {
    it('commits everything the work did through it, and returns what the work returns', async () => {
      await accept(engine, parsedAlert(), slackOnly);
      const now = later();
      const id = await engine.transaction(async (tx) => {
        const [claimed] = await tx.claim(1, new Set(), 60_000, now);
        await tx.recordAttempt({ kind: 'delivered', id: claimed!.id, ref: { channel: 'C', ts: '1' }, renderedRevision: 0 }, now);
        await tx.triage().record({ alertRow: claimed!.alertRow, deliveryId: claimed!.id, action: 'acknowledge', actor: { platform: 'slack', id: 'U1', name: 'ann' }, interactionId: 'i-1', at: now });
        return claimed!.id;
      });
      expect(await engine.counts()).toEqual({ pending: 0, delivered: 1, dead: 0 });
      expect((await engine.triage().staleMessages(now, 10, 0)).map((m) => m.id)).toEqual([id]);
    });

    it('rolls everything back when the work throws, and rethrows its error', async () => {
      await accept(engine, parsedAlert(), slackOnly);
      const now = later();
      const failing = engine.transaction(async (tx) => {
        const [claimed] = await tx.claim(1, new Set(), 60_000, now);
        await tx.recordAttempt({ kind: 'delivered', id: claimed!.id, ref: { channel: 'C', ts: '1' }, renderedRevision: 0 }, now);
        await tx.triage().record({ alertRow: claimed!.alertRow, deliveryId: claimed!.id, action: 'resolve', actor: { platform: 'slack', id: 'U1', name: 'ann' }, interactionId: 'i-1', at: now });
        throw new Error('boom');
      });
      await expect(failing).rejects.toThrow('boom');
      expect(await engine.counts()).toEqual({ pending: 1, delivered: 0, dead: 0 });
      // The lease went with the rest: the row is claimable at once, and the click can be recorded.
      const [claimed] = await engine.claim(1, new Set(), 60_000, now);
      expect(claimed).toBeDefined();
      expect((await engine.triage().view(claimed!.alertRow)).events).toEqual([]);
      expect((await engine.triage().record({ alertRow: claimed!.alertRow, deliveryId: claimed!.id, action: 'resolve', actor: { platform: 'slack', id: 'U1', name: 'ann' }, interactionId: 'i-1', at: now })).recorded).toBe(true);
    });

    it('refuses at once a call to the engine itself from inside the work (it must go through tx), and serves later calls', async () => {
      await accept(engine, parsedAlert(), slackOnly);
      const now = later();
      // On SQLite such a call waited behind the transaction it was made from, which waited for it: the work, the
      // transaction and every later store call hung for good. Through another connection it could wait on the
      // transaction's own locks.
      const settled = (p: Promise<unknown>) =>
        Promise.race([p.then(() => 'resolved', (error: Error) => error.message), new Promise<string>((resolve) => setTimeout(() => resolve('still waiting after 3 s'), 3000))]);
      const inside = engine.transaction(async (tx) => {
        await tx.claim(1, new Set(), 60_000, now);
        return engine.counts();
      });
      expect(await settled(inside)).toMatch(/inside one of its own transactions/);
      const nested = engine.transaction(async () => engine.transaction(async (tx) => tx.counts()));
      expect(await settled(nested)).toMatch(/inside one of its own transactions/);
      // The transaction rolled back (the lease with it), and the engine answers.
      expect(await settled(engine.counts())).toBe('resolved');
      expect(await engine.claim(1, new Set(), 60_000, now)).toHaveLength(1);
    });
  });
});
