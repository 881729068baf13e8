import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OutboxStore } from '../src/delivery/store';
import { parsedAlert } from './helpers/fixtures';
import { queryStore } from './helpers/store-query';

const tmpDb = () => path.join(mkdtempSync(path.join(os.tmpdir(), 'cb-store-')), 'outbox.db');
const alertFrom = parsedAlert;
const targets = [
  { route: 'r', destination: 'slack' },
  { route: 'r', destination: 'discord' },
];

describe('OutboxStore', () => {
  it('accepts once and answers duplicate afterwards, also after reopening the file', () => {
    const file = tmpDb();
    const store = new OutboxStore(file);
    expect(store.accept(alertFrom(), targets, 1_700_000_000_000).status).toBe('accepted');
    expect(store.accept(alertFrom(), targets)).toEqual({
      status: 'duplicate',
      deliveries: [
        { route: 'r', destination: 'slack', status: 'pending' },
        { route: 'r', destination: 'discord', status: 'pending' },
      ],
      // When the first was accepted, for the answer's reason.
      acceptedAt: 1_700_000_000_000,
    });
    store.close();
    const reopened = new OutboxStore(file);
    expect(reopened.accept(alertFrom(), targets).status).toBe('duplicate');
    expect(reopened.accept(alertFrom({ title: '[Re-sent]: Title' }), targets).status).toBe('accepted');
    expect(reopened.counts().pending).toBe(4);
    reopened.close();
  });

  it('claims the head of each destination queue, leases it, and releases leases of a dead process', () => {
    const file = tmpDb();
    const store = new OutboxStore(file);
    store.accept(alertFrom({ alertId: '1' }), targets);
    store.accept(alertFrom({ alertId: '2' }), targets);
    const first = store.claim(10, new Set(), 60_000);
    expect(first.map((d) => d.destination).sort()).toEqual(['discord', 'slack']);
    // The worker passes the destinations it has in flight; leased rows are never handed out twice.
    expect(store.claim(10, new Set(['slack', 'discord']), 60_000)).toEqual([]);
    expect(store.claim(10, new Set(), 60_000).map((d) => d.alert.alertId)).toEqual(['2', '2']);
    expect(store.claim(10, new Set(), 60_000)).toEqual([]);
    store.close();
    const restarted = new OutboxStore(file);
    expect(restarted.releaseAllLeases()).toBe(4);
    expect(restarted.claim(10, new Set(['discord']), 60_000).map((d) => [d.destination, d.alert.alertId])).toEqual([['slack', '1']]);
    restarted.close();
  });

  it('records outcomes: delivered, rescheduled (rate limits not counted) and dead', () => {
    const file = tmpDb();
    const store = new OutboxStore(file);
    store.accept(alertFrom(), targets, 1000);
    const [a, b] = store.claim(10, new Set(), 60_000, 1000);
    store.markDelivered(a!.id, { channel: 'C1', ts: '1.2' }, 1500);
    store.reschedule(b!.id, 5000, 'ratelimited', true, 1500);
    expect(store.claim(10, new Set(), 60_000, 4000)).toEqual([]);
    expect(store.nextDueByDestination()).toEqual(new Map([['discord', 5000]]));
    const [again] = store.claim(10, new Set(), 60_000, 5000);
    expect(again?.attempts).toBe(0);
    store.markDead(again!.id, 'channel_not_found');
    expect(store.counts()).toEqual({ pending: 0, delivered: 1, dead: 1 });
    const rows = queryStore<{ message_ref: string; last_reason: string }>(file, 'SELECT message_ref, last_reason FROM deliveries ORDER BY id');
    expect(JSON.parse(rows[0]!.message_ref)).toEqual({ channel: 'C1', ts: '1.2' });
    expect(rows[1]!.last_reason).toBe('channel_not_found');
    store.close();
  });

  it('never hides one destination behind another destination\'s backlog', () => {
    const store = new OutboxStore(tmpDb());
    for (let i = 0; i < 300; i++) store.accept(alertFrom({ alertId: `s${i}` }), [{ route: 'r', destination: 'slack' }], 1000);
    store.accept(alertFrom({ alertId: 'd' }), [{ route: 'r', destination: 'discord' }], 2000);
    expect(store.claim(5, new Set(['slack']), 60_000, 3000).map((d) => d.alert.alertId)).toEqual(['d']);
    store.close();
  });

  it('stores an unrouted alert with no deliveries', () => {
    const store = new OutboxStore(tmpDb());
    expect(store.accept(alertFrom(), [])).toEqual({ status: 'accepted', deliveries: [] });
    expect(store.accept(alertFrom(), []).status).toBe('duplicate');
    store.close();
  });
});
