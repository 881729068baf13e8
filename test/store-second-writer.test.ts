/**
 * Two connections write the same store file while `serve` runs on SQLite: the main thread's (accepts, clicks, the
 * console) and the delivery thread's (claims, records). A transaction that reads before it writes must take the
 * write lock at its start: started deferred, its first write meets the other connection's lock with a read
 * snapshot open, and SQLite then fails it at once (SQLITE_BUSY, or SQLITE_BUSY_SNAPSHOT when the other committed
 * meanwhile) without waiting the busy timeout. The delivery thread counted those as loop errors and backed off in
 * every burst of webhooks, and the console's requeue answered 503 whenever the thread was writing.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { OutboxStore } from '../src/delivery/store';
import { parsedAlert } from './helpers/fixtures';

const tmpDb = () => path.join(mkdtempSync(path.join(os.tmpdir(), 'cb-writer-')), 'outbox.db');

/**
 * Another connection, in a thread of its own (as the delivery thread is), takes the write lock and gives it back a
 * little later, while this thread is inside the store's synchronous call. Resolves once the lock is held.
 */
async function lockBriefly(file: string, holdMs: number): Promise<{ released: Promise<void> }> {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const Database = require(workerData.driver);
     const db = new Database(workerData.file);
     db.exec('BEGIN IMMEDIATE');
     parentPort.postMessage('held');
     setTimeout(() => { db.exec('ROLLBACK'); db.close(); }, workerData.holdMs);`,
    { eval: true, workerData: { driver: require.resolve('better-sqlite3'), file, holdMs } },
  );
  const released = new Promise<void>((resolve, reject) => {
    worker.once('exit', () => resolve());
    worker.once('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  return { released };
}

describe('a second connection writing the store', () => {
  it('a claim waits for the other connection’s write lock instead of failing at once', async () => {
    const file = tmpDb();
    const store = new OutboxStore(file);
    store.accept(parsedAlert({ alertId: 'a1' }), [{ route: 'r', destination: 'slack' }]);
    const { released } = await lockBriefly(file, 300);
    // Well within the store's busy timeout: the claim must wait for the lock, then lease the row.
    const claimed = store.claim(5, new Set(), 60_000);
    expect(claimed.map((c) => c.destination)).toEqual(['slack']);
    await released;
    store.close();
  });

  it('a digest’s lease of waiting deliveries waits for the other connection’s write lock', async () => {
    const file = tmpDb();
    const store = new OutboxStore(file);
    store.accept(parsedAlert({ alertId: 'a1' }), [{ route: 'burst', destination: 'slack' }]);
    const { released } = await lockBriefly(file, 300);
    const leased = store.digests().leaseWaiting('slack', ['burst'], 10, 60_000, Date.now() + 1000);
    expect(leased).toHaveLength(1);
    await released;
    store.close();
  });

  it('an operator’s requeue waits for the other connection’s write lock (no 503 while the delivery thread writes)', async () => {
    const file = tmpDb();
    const store = new OutboxStore(file);
    store.accept(parsedAlert({ alertId: 'a1' }), [{ route: 'r', destination: 'slack' }]);
    const [claimed] = store.claim(1, new Set(), 60_000);
    store.markDead(claimed!.id, 'gave up');
    const { released } = await lockBriefly(file, 300);
    expect(store.ledger().requeue([claimed!.id]).requeued).toEqual([claimed!.id]);
    await released;
    store.close();
  });
});
