/**
 * Group commit: POSTs submitted in one event-loop turn share one durable transaction, each settles with its own
 * outcome, a failing POST fails alone (all of it), and a failed commit rejects every accept in it (nothing half-stored).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { OutboxStore } from '../src/delivery/store';
import { GroupCommit } from '../src/delivery/group-commit';
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

  it('rejects every accept of a batch whose commit fails, and stores none of them', async () => {
    const file = tmpDb();
    const store = new OutboxStore(file);
    const group = new GroupCommit(store);
    store.close();
    const settled = await Promise.allSettled(['p', 'q'].map((id) => group.accept([{ alert: alertFrom(id), targets }])));
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect(storedAlerts(file)).toEqual([]);
  });

  it('splits a flood into bounded batches and still settles every accept', async () => {
    const store = new OutboxStore(tmpDb());
    const group = new GroupCommit(store);
    const ids = Array.from({ length: 600 }, (_, i) => `n${i}`);
    const results = await Promise.all(ids.map((id) => group.accept([{ alert: alertFrom(id), targets }])));
    expect(results.every(([r]) => r!.status === 'accepted')).toBe(true);
    expect(store.counts().pending).toBe(600);
    store.close();
  });
});
