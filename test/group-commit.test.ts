/**
 * Group commit: POSTs submitted in one event-loop turn share one durable transaction, each settles with its own
 * outcome, a failing POST fails alone (all of it), and a failed commit rejects every accept in it (nothing half-stored).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { OutboxStore } from '../src/delivery/store';
import { GroupCommit, MAX_BATCH_BYTES } from '../src/delivery/group-commit';
import { parsedAlert } from './helpers/fixtures';

const tmpDb = () => path.join(mkdtempSync(path.join(os.tmpdir(), 'cb-group-')), 'outbox.db');
const alertFrom = (alertId: string) => parsedAlert({ alertId });
const targets = [{ route: 'r', destination: 'slack' }];
const storedAlerts = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT alert_id FROM alerts ORDER BY id').all() as { alert_id: string }[]).map((r) => r.alert_id);
  } finally {
    db.close();
  }
};

describe('GroupCommit', () => {
  it('commits a turn of accepts together, in order, with a repeat inside the batch answered as a duplicate', async () => {
    const file = tmpDb();
    const store = new OutboxStore(file);
    const group = new GroupCommit(store);
    const results = (await Promise.all(['a', 'b', 'a', 'c'].map((id) => group.accept([{ alert: alertFrom(id), targets }])))).map((r) => r[0]!);
    expect(results.map((r) => r.status)).toEqual(['accepted', 'accepted', 'duplicate', 'accepted']);
    expect(results[2]!.deliveries).toEqual([{ route: 'r', destination: 'slack', status: 'pending' }]);
    store.close();
    // Read through another connection: what a crash right now would leave.
    expect(storedAlerts(file)).toEqual(['a', 'b', 'c']);
  });

  it('fails only the POST that cannot be stored, all of it; the rest of its batch is committed', async () => {
    const file = tmpDb();
    const store = new OutboxStore(file);
    const group = new GroupCommit(store);
    const broken = alertFrom('broken');
    // JSON.stringify throws on a BigInt: the POST's savepoint is rolled back (its good alert too), not the batch.
    (broken.context as Record<string, unknown>).big = 1n;
    const posts = [[alertFrom('x')], [alertFrom('good-but-with-broken'), broken], [alertFrom('y')]];
    const settled = await Promise.allSettled(posts.map((alerts) => group.accept(alerts.map((alert) => ({ alert, targets })))));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    store.close();
    expect(storedAlerts(file)).toEqual(['x', 'y']);
  });

  it('rejects every accept of a batch whose COMMIT fails, and stores none of them', async () => {
    const file = tmpDb();
    const store = new OutboxStore(file);
    // A deferred foreign key is checked only when the outermost transaction commits: storing the alert "poison"
    // adds a row whose parent never exists, so every statement and savepoint of the batch succeeds and the
    // COMMIT itself fails (SQLite then rolls the transaction back).
    const setup = new Database(file);
    setup.exec(`
      CREATE TABLE commit_guard_parent (id INTEGER PRIMARY KEY);
      CREATE TABLE commit_guard (parent INTEGER REFERENCES commit_guard_parent(id) DEFERRABLE INITIALLY DEFERRED);
      CREATE TRIGGER commit_guard_poison AFTER INSERT ON alerts WHEN NEW.alert_id = 'poison'
      BEGIN INSERT INTO commit_guard (parent) VALUES (-1); END;`);
    // The guard as such: the orphan row is accepted by its INSERT, refused by the COMMIT.
    setup.pragma('foreign_keys = ON');
    setup.exec('BEGIN; INSERT INTO commit_guard (parent) VALUES (-1);');
    expect(() => setup.exec('COMMIT')).toThrow('FOREIGN KEY constraint failed');
    setup.exec('ROLLBACK');
    setup.close();
    const group = new GroupCommit(store);
    const settled = await Promise.allSettled(['p', 'poison', 'q'].map((id) => group.accept([{ alert: alertFrom(id), targets }])));
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected']);
    // The commit's own error: a statement-time failure would have failed only poison's POST (its savepoint).
    for (const s of settled) expect((s as PromiseRejectedResult).reason).toMatchObject({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
    expect(storedAlerts(file)).toEqual([]);
    // The connection is not left inside the failed transaction: the next batch commits.
    expect((await group.accept([{ alert: alertFrom('r'), targets }]))[0]!.status).toBe('accepted');
    store.close();
    expect(storedAlerts(file)).toEqual(['r']);
  });

  it('fails the whole batch with SQLite\'s own error when SQLite rolls the transaction back itself, and stores none of it', async () => {
    const file = tmpDb();
    const store = new OutboxStore(file);
    // SQLite ends the whole transaction on some errors (a full disk, an I/O error, out of memory): RAISE(ROLLBACK)
    // does the same on purpose. The POSTs after the failing one must not go on to commit one by one outside it.
    const setup = new Database(file);
    setup.exec(`CREATE TRIGGER rollback_all AFTER INSERT ON alerts WHEN NEW.alert_id = 'rollback'
      BEGIN SELECT RAISE(ROLLBACK, 'the whole transaction was rolled back'); END;`);
    setup.close();
    const group = new GroupCommit(store);
    const settled = await Promise.allSettled(['p', 'rollback', 'q'].map((id) => group.accept([{ alert: alertFrom(id), targets }])));
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const s of settled) expect((s as PromiseRejectedResult).reason.message).toBe('the whole transaction was rolled back');
    expect(storedAlerts(file)).toEqual([]);
    // The connection is usable: the next batch commits.
    expect((await group.accept([{ alert: alertFrom('r'), targets }]))[0]!.status).toBe('accepted');
    store.close();
    expect(storedAlerts(file)).toEqual(['r']);
  });

  it('splits a flood into bounded batches and still settles every accept', async () => {
    const store = new OutboxStore(tmpDb());
    // Records the size of every transaction GroupCommit asks for (the store itself is real).
    const batches: number[] = [];
    const group = new GroupCommit({
      acceptGroups: (groups, now) => {
        batches.push(groups.length);
        return store.acceptGroups(groups, now);
      },
      briefly: (work) => store.briefly(work),
      inTransaction: false,
    });
    const ids = Array.from({ length: 600 }, (_, i) => `n${i}`);
    const results = await Promise.all(ids.map((id) => group.accept([{ alert: alertFrom(id), targets }])));
    expect(results.every(([r]) => r!.status === 'accepted')).toBe(true);
    expect(store.counts().pending).toBe(600);
    store.close();
    // All 600 were submitted in one turn: they are split, none of the transactions above the bound of 256.
    expect(batches.reduce((a, b) => a + b, 0)).toBe(600);
    expect(Math.max(...batches)).toBeLessThanOrEqual(256);
    expect(batches.length).toBeGreaterThanOrEqual(3);
  });

  it('gives large POSTs transactions of their own: a batch stays within its byte bound', async () => {
    const store = new OutboxStore(tmpDb());
    const batches: number[] = [];
    const group = new GroupCommit({
      acceptGroups: (groups, now) => {
        batches.push(groups.length);
        return store.acceptGroups(groups, now);
      },
      briefly: (work) => store.briefly(work),
      inTransaction: false,
    });
    // The bound is 1 MiB: fixed sizes here (not derived from the constant), so raising it fails this test.
    expect(MAX_BATCH_BYTES).toBe(1024 * 1024);
    const big = 400 * 1024; // two fit a batch, three do not
    const results = await Promise.all(['b1', 'b2', 'b3', 'b4', 'b5'].map((id) => group.accept([{ alert: alertFrom(id), targets }], big)));
    expect(results.every(([r]) => r!.status === 'accepted')).toBe(true);
    expect(batches).toEqual([2, 2, 1]);
    // One POST over the bound still goes through, alone.
    batches.length = 0;
    await Promise.all(['h1', 'h2'].map((id) => group.accept([{ alert: alertFrom(id), targets }], 2 * 1024 * 1024)));
    expect(batches).toEqual([1, 1]);
    store.close();
  });

  describe('while another connection holds the write lock', () => {
    /** Takes the store's write lock on a second connection, as `outbox purge` or a backup in another process does. */
    const holdLock = (file: string) => {
      const other = new Database(file);
      other.exec('BEGIN IMMEDIATE');
      return () => {
        other.exec('ROLLBACK');
        other.close();
      };
    };

    it('waits with the event loop free and commits the whole batch once the lock is released', async () => {
      const file = tmpDb();
      const store = new OutboxStore(file);
      const group = new GroupCommit(store);
      const release = holdLock(file);
      // The lock is released by a timer: it can only fire if waiting for the lock leaves the event loop running.
      let timerRan = false;
      setTimeout(() => {
        timerRan = true;
        release();
      }, 300);
      const results = await Promise.all(['x', 'y', 'z'].map((id) => group.accept([{ alert: alertFrom(id), targets }])));
      expect(timerRan).toBe(true);
      expect(results.map(([r]) => r!.status)).toEqual(['accepted', 'accepted', 'accepted']);
      store.close();
      expect(storedAlerts(file)).toEqual(['x', 'y', 'z']);
    });

    it('answers SQLITE_BUSY (503) after the lock wait, storing nothing, and keeps serving timers meanwhile', async () => {
      const file = tmpDb();
      const store = new OutboxStore(file);
      const group = new GroupCommit(store);
      const release = holdLock(file);
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 100);
      try {
        await expect(group.accept([{ alert: alertFrom('late'), targets }])).rejects.toMatchObject({ code: expect.stringMatching(/^SQLITE_BUSY/) });
      } finally {
        clearInterval(ticker);
        release();
      }
      // About 50 ticks in the 5 s wait; a blocking busy wait allows none.
      expect(ticks).toBeGreaterThan(10);
      expect((await group.accept([{ alert: alertFrom('after'), targets }]))[0]!.status).toBe('accepted');
      store.close();
      expect(storedAlerts(file)).toEqual(['after']);
    });
  });
});
