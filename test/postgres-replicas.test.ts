/**
 * Several replicas on one PostgreSQL (issue 16 point 2): each a PostgresEngine with its own pool and instance id
 * on one database of the real server (test/helpers/postgres.ts). What they hold together: concurrent claims never
 * hand a row to two replicas nor lease two rows of one destination at once, and go out in queue order; a lease
 * that ran out is taken over and the old holder can no longer finish the row; the same alert, or the same resolve,
 * accepted by two replicas at the same moment is accepted once; a failed transaction leaves nothing behind.
 */
import { PostgresEngine } from '../src/delivery/postgres/postgres-engine';
import { openPgPool } from '../src/delivery/postgres/pool';
import type { Alert } from '../src/domain/alert';
import { parsedAlert } from './helpers/fixtures';
import { createTestDatabase, type TestDatabase } from './helpers/postgres';
import { accept } from './helpers/store-engines';

let db: TestDatabase;
let replicas: PostgresEngine[];
beforeEach(async () => {
  db = await createTestDatabase();
  replicas = [];
  for (const id of ['replica-a', 'replica-b', 'replica-c']) replicas.push(await PostgresEngine.open(db.url, id));
});
afterEach(async () => {
  await Promise.all(replicas.map((r) => r.close()));
  await db.drop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const later = () => Date.now() + 1000;

/** Destinations with more than one row under a running lease, read in one snapshot (what must never exist). */
async function doublyLeased(engine: PostgresEngine, now: number): Promise<string[]> {
  const rows = await engine.pool.query<{ destination: string }>(
    `SELECT destination FROM deliveries WHERE status = 'pending' AND lease_until > $1 GROUP BY destination HAVING COUNT(*) > 1`,
    [now],
  );
  return rows.rows.map((r) => r.destination);
}

describe('replicas claiming from one PostgreSQL', () => {
  it('never hand one row to two replicas, never lease two rows of a destination at once, and keep each destination in order', async () => {
    const destinations = ['slack-a', 'slack-b', 'discord-a', 'discord-b'];
    for (let i = 0; i < 40; i++) await accept(replicas[0]!, parsedAlert({ alertId: `a${i}` }), destinations.map((destination) => ({ route: 'r', destination })));
    const claimedIds = new Set<number>();
    const inFlight = new Set<string>();
    const order = new Map<string, number[]>();
    const violations: string[] = [];
    const sentBy = new Map<string, number>();
    const worker = async (engine: PostgresEngine) => {
      for (;;) {
        const claimed = await engine.claim(2, new Set(), 60_000, later());
        const doubled = await doublyLeased(engine, later());
        if (doubled.length > 0) violations.push(`${engine.instanceId}: two leases at once on ${doubled.join(', ')}`);
        if (claimed.length === 0) {
          if ((await engine.counts()).pending === 0) return;
          await sleep(2);
          continue;
        }
        for (const d of claimed) {
          if (claimedIds.has(d.id)) violations.push(`${engine.instanceId}: row ${d.id} handed out twice`);
          if (inFlight.has(d.destination)) violations.push(`${engine.instanceId}: ${d.destination} claimed while another replica sends to it`);
          claimedIds.add(d.id);
          inFlight.add(d.destination);
          order.set(d.destination, [...(order.get(d.destination) ?? []), d.id]);
          sentBy.set(engine.instanceId, (sentBy.get(engine.instanceId) ?? 0) + 1);
        }
        await sleep(Math.random() * 3);
        // Out of flight before the record commits: nobody may claim the destination before it has.
        for (const d of claimed) inFlight.delete(d.destination);
        await Promise.all(claimed.map((d) => engine.recordAttempt({ kind: 'delivered', id: d.id, ref: { channel: d.destination, ts: String(d.id) }, renderedRevision: 0 }, Date.now())));
        // A pause before the next claim, as a send takes: the replica that just finished does not always win.
        await sleep(Math.random() * 3);
      }
    };
    await Promise.all(replicas.map(worker));
    expect(violations).toEqual([]);
    expect(claimedIds.size).toBe(160);
    for (const ids of order.values()) expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(await replicas[0]!.counts()).toEqual({ pending: 0, delivered: 160, dead: 0 });
    const attempts = await replicas[0]!.pool.query<{ attempts: number; n: number }>(`SELECT attempts, COUNT(*) AS n FROM deliveries GROUP BY attempts`);
    expect(attempts.rows).toEqual([{ attempts: 1, n: 160 }]);
    // The replicas did claim side by side (which ones got work is up to the race).
    expect(sentBy.size).toBeGreaterThanOrEqual(2);
  });

  it('hold a destination while another replica\'s lease runs on it, then take the row over when the lease ends', async () => {
    const [a, b] = replicas as [PostgresEngine, PostgresEngine];
    await accept(a, parsedAlert({ alertId: '1' }), [{ route: 'r', destination: 'slack' }]);
    await accept(a, parsedAlert({ alertId: '2' }), [{ route: 'r', destination: 'slack' }]);
    const now = later();
    const [held] = await a.claim(10, new Set(), 5000, now);
    expect(held!.alert.alertId).toBe('1');
    // Not in b's busy set (b sends nothing there), yet held: one send in flight per destination across replicas.
    expect(await b.claim(10, new Set(), 5000, now + 4999)).toEqual([]);
    expect(await b.nextDueByDestination(now)).toEqual(new Map([['slack', now + 5000]]));
    // a stopped answering: once its lease has run out, b takes the row (the head, not the next one).
    const [taken] = await b.claim(10, new Set(), 5000, now + 5000);
    expect(taken).toMatchObject({ id: held!.id, alert: { alertId: '1' } });
    // a, back, can neither finish nor hand back what b now holds.
    await a.recordAttempt({ kind: 'delivered', id: held!.id, ref: { channel: 'C', ts: 'late' }, renderedRevision: 0 }, now + 5001);
    await a.release(held!.id);
    expect(await a.claim(10, new Set(), 5000, now + 5001)).toEqual([]);
    await b.recordAttempt({ kind: 'delivered', id: taken!.id, ref: { channel: 'C', ts: 'b' }, renderedRevision: 0 }, now + 5002);
    const [row] = await b.ledger().list({ alertId: '1' });
    expect(row).toMatchObject({ status: 'delivered', attempts: 1, messageRef: { channel: 'C', ts: 'b' } });
    expect((await a.claim(10, new Set(), 5000, now + 5003)).map((d) => d.alert.alertId)).toEqual(['2']);
  });

  it('a replica in the middle of a claim holds its destination, even when the queue gets a new head meanwhile', async () => {
    const [a, b] = replicas as [PostgresEngine, PostgresEngine];
    await accept(a, parsedAlert({ alertId: 'first' }), [{ route: 'r', destination: 'slack' }]);
    const now = later();
    const [first] = await a.claim(1, new Set(), 60_000, now);
    await a.recordAttempt({ kind: 'dead', id: first!.id, reason: 'timeout', countAttempt: true }, now);
    await accept(a, parsedAlert({ alertId: 'second' }), [{ route: 'r', destination: 'slack' }]);
    const ofB = await a.transaction(async (tx) => {
      const [second] = await tx.claim(1, new Set(), 60_000, now);
      expect(second!.alert.alertId).toBe('second');
      // While a's lease is not committed, an operator requeues the dead row with a due time before it: the head
      // b sees is now a row a's claim did not touch.
      await b.ledger().requeue([first!.id], 0);
      return b.claim(1, new Set(), 60_000, now);
    });
    expect(ofB).toEqual([]);
    expect(await doublyLeased(a, now)).toEqual([]);
  });
});

describe('a claim and the row locks of other work', () => {
  it('never waits for a head another transaction holds locked: that destination waits for the next pass, the others go out', async () => {
    const [a, b] = replicas as [PostgresEngine, PostgresEngine];
    await accept(a, parsedAlert({ alertId: 'clicked' }), [{ route: 'r', destination: 'slack' }]);
    await accept(a, parsedAlert({ alertId: 'next' }), [{ route: 'r', destination: 'slack' }]);
    await accept(a, parsedAlert({ alertId: 'other' }), [{ route: 'r', destination: 'discord' }]);
    const [clicked] = await a.ledger().list({ alertId: 'clicked' });
    const now = later();
    const { claimed, waitedMs } = await a.transaction(async (tx) => {
      // A click on the alert is being recorded on replica a: its delivery rows are locked until that commits.
      await tx.triage().touchAlert(clicked!.alertRow);
      const started = Date.now();
      const got = await b.claim(10, new Set(), 60_000, now);
      return { claimed: got.map((d) => [d.destination, d.alert.alertId]), waitedMs: Date.now() - started };
    });
    // Not 'next' (out of order), and no wait for a's lock (a's transaction waits for this claim: that would hang).
    expect(claimed).toEqual([['discord', 'other']]);
    expect(waitedMs).toBeLessThan(1000);
    expect((await b.claim(10, new Set(), 60_000, now)).map((d) => [d.alert.alertId, d.revision])).toEqual([['clicked', 1]]);
  });
});

describe('replicas accepting the same alert at the same moment', () => {
  it('give one accepted and one duplicate, round after round, also for POSTs of the same alerts in opposite orders', async () => {
    const [a, b] = replicas as [PostgresEngine, PostgresEngine];
    const targets = [{ route: 'r', destination: 'slack' }, { route: 'r', destination: 'discord' }];
    const started = Date.now();
    for (let round = 0; round < 25; round++) {
      const alert = parsedAlert({ alertId: `same-${round}` });
      const results = await Promise.all([accept(a, alert, targets), accept(b, alert, targets)]);
      expect(results.map((r) => r.status).sort()).toEqual(['accepted', 'duplicate']);
      expect(results.find((r) => r.status === 'duplicate')).toMatchObject({ deliveries: [{ destination: 'slack' }, { destination: 'discord' }], acceptedAt: expect.any(Number) });
      const [x, y] = [parsedAlert({ alertId: `x-${round}` }), parsedAlert({ alertId: `y-${round}` })];
      const groups = await Promise.all([a.acceptGroup([{ alert: x, targets }, { alert: y, targets }], 0), b.acceptGroup([{ alert: y, targets }, { alert: x, targets }], 0)]);
      const statuses = (alertId: string) => groups.flatMap((g, i) => g.filter((_, j) => (i === 0 ? [x, y] : [y, x])[j]!.alertId === alertId).map((r) => r.status)).sort();
      expect(statuses(x.alertId!)).toEqual(['accepted', 'duplicate']);
      expect(statuses(y.alertId!)).toEqual(['accepted', 'duplicate']);
    }
    expect(await a.counts()).toEqual({ pending: 150, delivered: 0, dead: 0 });
    // Without a common lock order, POSTs in opposite orders deadlock and PostgreSQL breaks each deadlock only after
    // deadlock_timeout (1 s): most rounds would wait that long (about 19 s in all, against well under one).
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('resolve an episode once when its resolve reaches two replicas at once: one edit, one duplicate', async () => {
    const [a, b, c] = replicas as [PostgresEngine, PostgresEngine, PostgresEngine];
    const episode = (status: 'firing' | 'resolved'): Alert => ({ ...parsedAlert({ alertId: `fp-${status}` }), source: 'alertmanager', dedupKey: `fp|${status}`, episodeKey: 'fp@t0', status });
    const targets = [{ route: 'r', destination: 'slack' }];
    await accept(a, episode('firing'), targets);
    const [firing] = await a.claim(1, new Set(), 60_000, later());
    await a.recordAttempt({ kind: 'delivered', id: firing!.id, ref: { channel: 'C', ts: '1' }, renderedRevision: 0 }, later());
    const results = await Promise.all([b, c, a].map((r) => accept(r, episode('resolved'), targets)));
    expect(results.map((r) => r.status).sort()).toEqual(['accepted', 'duplicate', 'duplicate']);
    expect(results.find((r) => r.status === 'accepted')!.deliveries).toEqual([{ route: 'r', destination: 'slack', status: 'updated' }]);
    expect((await a.triage().staleMessages(later(), 10, 0)).map((m) => [m.id, m.revision, m.alert.status])).toEqual([[firing!.id, 1, 'resolved']]);
    expect(await a.counts()).toEqual({ pending: 0, delivered: 1, dead: 0 });
  });

  it('let one of two different resolves of an episode arriving at once edit the firing message; the other finds it resolved and posts', async () => {
    const [a, b, c] = replicas as [PostgresEngine, PostgresEngine, PostgresEngine];
    // Grafana keys a resolve on its content: two resolves of one episode are two alerts.
    const grafana = (episode: string, status: 'firing' | 'resolved', content: string): Alert => ({
      ...parsedAlert({ alertId: `${episode}-${status}-${content}` }),
      source: 'grafana',
      dedupKey: `${episode}|${status}:${content}`,
      episodeKey: episode,
      status,
    });
    const targets = [{ route: 'r', destination: 'slack' }];
    for (let round = 0; round < 10; round++) {
      await accept(a, grafana(`g${round}`, 'firing', ''), targets);
      const [firing] = await a.claim(1, new Set(), 60_000, later());
      await a.recordAttempt({ kind: 'delivered', id: firing!.id, ref: { channel: 'C', ts: String(round) }, renderedRevision: 0 }, later());
      const results = await Promise.all([accept(b, grafana(`g${round}`, 'resolved', 'x'), targets), accept(c, grafana(`g${round}`, 'resolved', 'y'), targets)]);
      expect(results.map((r) => r.status)).toEqual(['accepted', 'accepted']);
      expect(results.map((r) => r.deliveries[0]!.status).sort()).toEqual(['pending', 'updated']);
      expect((await a.triage().staleMessages(later(), 10, 0)).map((m) => [m.id, m.revision])).toEqual([[firing!.id, 1]]);
      await a.triage().markEdited(firing!.id, 1);
      const [posted] = await a.claim(1, new Set(), 60_000, later());
      await a.recordAttempt({ kind: 'delivered', id: posted!.id, ref: { channel: 'C', ts: `${round}.r` }, renderedRevision: 0 }, later());
    }
  });
});

describe('transactions and errors', () => {
  it('rolls a transaction back whole, also when the work swallowed a failed statement, and frees what it held', async () => {
    const [a, b] = replicas as [PostgresEngine, PostgresEngine];
    await accept(a, parsedAlert(), [{ route: 'r', destination: 'slack' }]);
    const now = later();
    const swallowed = a.transaction(async (tx) => {
      await tx.claim(1, new Set(), 60_000, now);
      // An alert row that does not exist: a foreign key refuses it, and PostgreSQL aborts the transaction.
      await tx.triage().enqueueSync(987654, 'status', { status: 'RESOLVED' }, now).catch(() => undefined);
      return 'done';
    });
    await expect(swallowed).rejects.toThrow('rolled back');
    expect((await b.claim(1, new Set(), 60_000, now)).map((d) => d.alert.alertId)).toEqual(['abc']);
  });

  it('says which errors are transient, and is not writable when the server does not answer', async () => {
    const [a] = replicas as [PostgresEngine];
    expect(await a.isWritable()).toBe(true);
    const unique = await a.pool.query(`INSERT INTO replicas (instance_id, hostname, pid, version, started_at) VALUES ('x', 'h', 1, 'v', now()), ('x', 'h', 1, 'v', now())`).catch((e: unknown) => e);
    expect(a.isTransient(unique)).toBe(false);
    expect(a.isTransient(Object.assign(new Error('deadlock detected'), { code: '40P01' }))).toBe(true);
    const nowhere = new PostgresEngine(openPgPool('postgres://postgres@127.0.0.1:1/test', { connectionTimeoutMs: 500 }), 'replica-z');
    try {
      const started = Date.now();
      expect(await nowhere.isWritable()).toBe(false);
      expect(Date.now() - started).toBeLessThan(1500);
      const refused = await nowhere.claim(1, new Set(), 1000, Date.now()).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'ECONNREFUSED' });
      expect(nowhere.isTransient(refused)).toBe(true);
    } finally {
      await nowhere.close();
    }
  });
});
