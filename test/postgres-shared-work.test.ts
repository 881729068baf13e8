/**
 * Work several replicas share on one PostgreSQL (issue 16 points 3 and 4): a channel's pace taken in the claim
 * transaction (two replicas posting into one channel keep to its limit together, and a 429's hold stops both),
 * stale messages and Panther write-back jobs leased so that each is done by one replica, and a digest revision
 * that waits while another replica's send to the destination is in flight. The pace's rules themselves
 * (channel-pace.ts) are checked without a database at the end.
 */
import { PostgresEngine } from '../src/delivery/postgres/postgres-engine';
import { endSlot, holdSlot, SHARED_IN_FLIGHT_MAX_MS, takeSlot } from '../src/delivery/channel-pace';
import { parsedAlert } from './helpers/fixtures';
import { createTestDatabase, type TestDatabase } from './helpers/postgres';
import { accept, deliverAll } from './helpers/store-engines';

let db: TestDatabase;
let a: PostgresEngine;
let b: PostgresEngine;
beforeEach(async () => {
  db = await createTestDatabase();
  a = await PostgresEngine.open(db.url, 'replica-a');
  b = await PostgresEngine.open(db.url, 'replica-b');
});
afterEach(async () => {
  await Promise.all([a.close(), b.close()]);
  await db.drop();
});

const pace = { key: 'slack:C1', limit: 1, windowMs: 1000 };
/** Two destinations posting into one channel. */
const paces = new Map([
  ['slack-1', pace],
  ['slack-2', pace],
]);

describe('the channel pace, shared by the replicas', () => {
  it('lets one request a second into a channel, whichever replica claims, and holds it for all after a 429', async () => {
    const now = Date.now() + 1000;
    for (let i = 0; i < 3; i++) await accept(a, parsedAlert({ alertId: `p${i}` }), [{ route: 'r', destination: 'slack-1' }, { route: 'r', destination: 'slack-2' }]);
    const first = await a.claim(10, new Set(), 60_000, now, paces);
    expect(first.map((d) => d.destination)).toEqual(['slack-1']);
    // Replica B, the same instant: the channel's slot is taken, so slack-2 is not claimed (and not left leased).
    const pacedUntil = new Map<string, number>();
    expect(await b.claim(10, new Set(), 60_000, now + 1, paces, pacedUntil)).toEqual([]);
    // …and B learns when to ask again: a window after A's request, which counts as happening now until it ends.
    expect(pacedUntil).toEqual(new Map([[pace.key, now + 1 + 1000]]));
    const leased = await a.pool.query(`SELECT COUNT(*)::int AS n FROM deliveries WHERE lease_until > $1`, [now]);
    expect(leased.rows[0].n).toBe(1);
    // A's send is in flight until it ends, at now + 300: the channel's next slot is a window after that.
    expect(await b.claim(10, new Set(), 60_000, now + 1000, paces)).toEqual([]);
    await a.endChannel(pace.key, now, now + 300);
    expect(await b.claim(10, new Set(), 60_000, now + 1299, paces)).toEqual([]);
    expect((await b.claim(10, new Set(), 60_000, now + 1300, paces)).map((d) => d.destination)).toEqual(['slack-2']);
    // A 429 seen by B holds the channel for A too, then it is smoothed (one request per window).
    await b.holdChannel(pace.key, now + 5000, now + 1300);
    await b.endChannel(pace.key, now + 1300, now + 1300);
    await a.recordAttempt({ kind: 'delivered', id: first[0]!.id, ref: { channel: 'C1', ts: '1.0' }, renderedRevision: 0 }, now + 1000);
    expect(await a.claim(10, new Set(), 60_000, now + 4000, paces)).toEqual([]);
    expect(await a.takeChannel(pace, now + 4999)).toBe(1);
    expect((await a.claim(10, new Set(), 60_000, now + 5000, paces)).map((d) => d.destination)).toEqual(['slack-1']);
  });

  it('gives concurrent takers of one channel one slot per window in all', async () => {
    const now = Date.now();
    const takers = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).takeChannel({ ...pace, limit: 5, windowMs: 5000 }, now + i));
    const waits = await Promise.all(takers);
    expect(waits.filter((w) => w === 0)).toHaveLength(5);
  });
});

describe('singleton work, leased', () => {
  it('edits each stale message once: a message one replica took is not handed to another until its lease ends or the edit is recorded', async () => {
    await accept(a, parsedAlert({ alertId: 'e1' }), [{ route: 'r', destination: 'slack-1' }]);
    const now = Date.now() + 1000;
    await deliverAll(a, now);
    const [row] = await a.ledger().list({ alertId: 'e1' });
    await a.triage().record({ alertRow: row!.alertRow, deliveryId: row!.id, action: 'acknowledge', actor: { platform: 'slack', id: 'U1', name: 'ann' }, at: now });
    const takenByA = await a.triage().staleMessages(now, 10, 30_000);
    expect(takenByA.map((m) => m.id)).toEqual([row!.id]);
    expect(await b.triage().staleMessages(now + 1, 10, 30_000)).toEqual([]);
    expect(await b.triage().nextEditAt()).toBe(now + 30_000);
    // The lease ends with the lease time, or at once when the edit is recorded.
    expect((await b.triage().staleMessages(now + 30_000, 10, 30_000)).map((m) => m.id)).toEqual([row!.id]);
    await b.triage().markEdited(row!.id, takenByA[0]!.revision);
    expect(await a.triage().staleMessages(now + 60_001, 10, 30_000)).toEqual([]);
  });

  it('a late edit outcome of a replica whose lease ran out leaves the message to the replica that took it over', async () => {
    await accept(a, parsedAlert({ alertId: 'e2' }), [{ route: 'r', destination: 'slack-1' }]);
    const now = Date.now() + 1000;
    await deliverAll(a, now);
    const [row] = await a.ledger().list({ alertId: 'e2' });
    await a.triage().record({ alertRow: row!.alertRow, deliveryId: row!.id, action: 'acknowledge', actor: { platform: 'slack', id: 'U1', name: 'ann' }, at: now });
    const [byA] = await a.triage().staleMessages(now, 10, 30_000);
    // A's lease runs out mid-batch; B takes the message and edits it.
    const [byB] = await b.triage().staleMessages(now + 30_000, 10, 30_000);
    expect(byB?.id).toBe(byA!.id);
    const lease = async () => (await a.pool.query(`SELECT edit_claimed_by, edit_lease_until, edit_next_at, edit_attempts, edit_error FROM deliveries WHERE id = $1`, [row!.id])).rows[0];
    const heldByB = await lease();
    expect(heldByB).toMatchObject({ edit_claimed_by: 'replica-b', edit_lease_until: now + 60_000 });
    // A's late outcomes: a deferral, a retry and a give-up touch nothing of B's edit.
    await a.triage().deferEdit(row!.id, now + 90_000);
    await a.triage().rescheduleEdit(row!.id, now + 90_000, 'timeout');
    await a.triage().abandonEdit(row!.id, byA!.revision, 'gave up');
    expect(await lease()).toEqual(heldByB);
    expect(await a.triage().staleMessages(now + 30_001, 10, 30_000)).toEqual([]);
    // An edit A did make is recorded (its revision shows), and B's lease stays B's until B records its own.
    await a.triage().markEdited(row!.id, byA!.revision);
    expect(await lease()).toMatchObject({ edit_claimed_by: 'replica-b', edit_lease_until: now + 60_000 });
    await b.triage().markEdited(row!.id, byB!.revision);
    expect(await lease()).toMatchObject({ edit_claimed_by: null, edit_lease_until: 0 });
    expect(await a.triage().staleMessages(now + 60_001, 10, 30_000)).toEqual([]);
  });

  it('writes each Panther job back once, and an alert’s next job waits for the one in flight', async () => {
    await accept(a, parsedAlert({ alertId: 'w1' }), [{ route: 'r', destination: 'slack-1' }]);
    const now = Date.now() + 1000;
    await deliverAll(a, now);
    const [row] = await a.ledger().list({ alertId: 'w1' });
    await a.triage().enqueueSync(row!.alertRow, 'status', { status: 'TRIAGED' }, now);
    await a.triage().enqueueSync(row!.alertRow, 'status', { status: 'RESOLVED' }, now);
    const [job] = await a.triage().dueSyncs(now, 10, 60_000);
    expect(job!.argument).toEqual({ status: 'TRIAGED' });
    expect(await b.triage().dueSyncs(now, 10, 60_000)).toEqual([]);
    await a.triage().finishSync(job!, { kind: 'done' }, now);
    expect((await b.triage().dueSyncs(now, 10, 60_000)).map((j) => j.argument)).toEqual([{ status: 'RESOLVED' }]);
  });

  it('starts no digest revision while another replica has a send to the destination in flight', async () => {
    for (let i = 0; i < 4; i++) await accept(a, parsedAlert({ alertId: `d${i}` }), [{ route: 'r', destination: 'slack-1' }]);
    const now = Date.now() + 1000;
    const [inFlight] = await a.claim(1, new Set(), 60_000, now);
    expect(inFlight).toBeDefined();
    expect(await b.digests().leaseWaiting('slack-1', ['r'], 100, 60_000, now)).toEqual([]);
    await a.recordAttempt({ kind: 'delivered', id: inFlight!.id, ref: { channel: 'C1', ts: '1.0' }, renderedRevision: 0 }, now);
    expect(await b.digests().leaseWaiting('slack-1', ['r'], 100, 60_000, now)).toHaveLength(3);
  });
});

describe('the pace rules (channel-pace.ts)', () => {
  const fresh = { recent: [], holdUntil: 0, smoothUntil: 0 };
  /** Epoch ms (never 0: a request in flight is kept as minus its start time). */
  const T = 1_700_000_000_000;
  it('allows `limit` requests per window counted from their ends, then says how long until the oldest leaves it', () => {
    const p = { key: 'k', limit: 2, windowMs: 1000 };
    const one = takeSlot(fresh, p, T);
    const two = takeSlot(one.next, p, T + 10);
    expect([one.wait, two.wait]).toEqual([0, 0]);
    const ended = endSlot(endSlot(two.next, T, T + 300), T + 10, T + 40);
    // Both started a second ago, but they count from their ends: room again when the first to end leaves the window.
    expect(takeSlot(ended, p, T + 1000).wait).toBe(40);
    expect(takeSlot(ended, p, T + 1040).wait).toBe(0);
  });
  it('counts a request in flight as happening now until its end is recorded, and lets one whose end never comes lapse', () => {
    const p = { key: 'k', limit: 1, windowMs: 1000 };
    const flying = takeSlot(fresh, p, T).next;
    expect(takeSlot(flying, p, T + 1500).wait).toBe(1000);
    expect(takeSlot(endSlot(flying, T, T + 1600), p, T + 2500).wait).toBe(100);
    expect(takeSlot(flying, p, T + SHARED_IN_FLIGHT_MAX_MS).wait).toBe(0);
  });
  it('frees the slot of a request that was never made', () => {
    const p = { key: 'k', limit: 1, windowMs: 1000 };
    expect(takeSlot(endSlot(takeSlot(fresh, p, T).next, T), p, T + 1).wait).toBe(0);
  });
  it('holds until the Retry-After, then spaces requests evenly', () => {
    const p = { key: 'k', limit: 5, windowMs: 5000 };
    const held = holdSlot(fresh, T + 3000, T);
    expect(takeSlot(held, p, T + 2000).wait).toBe(1000);
    const after = takeSlot(held, p, T + 3000);
    expect(after.wait).toBe(0);
    const ended = endSlot(after.next, T + 3000, T + 3000);
    expect(takeSlot(ended, p, T + 3500).wait).toBe(500);
    expect(takeSlot(ended, p, T + 4000).wait).toBe(0);
  });
});
