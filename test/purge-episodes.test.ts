/**
 * Purge and episodes (review of issue 14): an alert whose episode is still firing is never purged, whatever its
 * age (Alertmanager and Grafana re-send it every repeat interval; without its row the repeat is a new alert and is
 * posted again). The episode ends with any resolve (`onResolved` update, post or ignore) and for every firing row
 * it has, so resolved history is purged as before. Panther alerts have no episode: theirs go with the cutoff.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OutboxStore } from '../src/delivery/store';
import type { OnResolved } from '../src/routing/router';
import { parsedAlert } from './helpers/fixtures';
import { queryStore } from './helpers/store-query';

const tmpDb = () => path.join(mkdtempSync(path.join(os.tmpdir(), 'cb-purge-')), 'outbox.db');

/** A label-based alert of `episode` (Grafana keys a firing notification on its content: `content` varies it). */
const labelAlert = (episode: string, status: 'firing' | 'resolved', content = '') => ({
  ...parsedAlert({ alertId: `${episode}-${status}${content}` }),
  source: 'grafana',
  dedupKey: `${episode}|${status}:${content}`,
  episodeKey: episode,
  status,
});

let store: OutboxStore;
let file: string;
beforeEach(() => {
  file = tmpDb();
  store = new OutboxStore(file);
});
afterEach(() => store.close());

/** Delivers everything pending (as the worker would; a claim takes one row per destination). */
function deliverAll(): void {
  for (let batch = store.claim(100, new Set(), 60_000); batch.length > 0; batch = store.claim(100, new Set(), 60_000)) {
    for (const claimed of batch) store.markDelivered(claimed.id, { channel: 'C1', ts: `${claimed.id}.0` });
  }
}
/** Makes every edit the messages are waiting for (as the message editor would). */
function editAll(): void {
  for (const message of store.triage().staleMessages(Date.now() + 1, 100)) store.triage().markEdited(message.id, message.revision);
}
const purgeAll = () => store.ledger().purge(0, Date.now() + 1);

describe('purge keeps what is still firing', () => {
  it('keeps an alert whose message still waits for an edit (a resolve not yet shown), until the edit is made', () => {
    const target = [{ route: 'r', destination: 'slack', onResolved: 'update' as OnResolved }];
    store.accept(labelAlert('fp2@t0', 'firing'), target);
    deliverAll();
    store.accept(labelAlert('fp2@t0', 'resolved'), target);
    deliverAll();
    // The resolve's own row goes; the firing alert, whose message still shows "firing", stays.
    expect(purgeAll()).toMatchObject({ alerts: 1 });
    expect(queryStore(file, `SELECT COUNT(*) AS n FROM alerts`)).toEqual([{ n: 1 }]);
    editAll();
    expect(purgeAll()).toMatchObject({ alerts: 1 });
    expect(queryStore(file, `SELECT COUNT(*) AS n FROM alerts`)).toEqual([{ n: 0 }]);
  });

  it('keeps a firing alert of any age; its repeat stays a duplicate', () => {
    const target = [{ route: 'r', destination: 'slack' }];
    expect(store.accept(labelAlert('fp1@t0', 'firing'), target).status).toBe('accepted');
    deliverAll();
    expect(purgeAll()).toMatchObject({ alerts: 0, deliveries: 0 });
    expect(store.accept(labelAlert('fp1@t0', 'firing'), target).status).toBe('duplicate');
  });

  it.each<OnResolved>(['update', 'post', 'ignore'])('onResolved %s ends the episode: all its rows are purged after', (mode) => {
    const target = [{ route: 'r', destination: 'slack', onResolved: mode }];
    // Two firing notifications of one Grafana episode with different content, then its resolve.
    store.accept(labelAlert('fp1@t0', 'firing', 'a'), target);
    store.accept(labelAlert('fp1@t0', 'firing', 'b'), target);
    deliverAll();
    expect(store.accept(labelAlert('fp1@t0', 'resolved'), target).status).toBe('accepted');
    deliverAll();
    editAll();
    // The two firing rows and the resolution's own row, all resolved.
    expect(queryStore(file, `SELECT state FROM alert_episodes`)).toEqual([{ state: 'resolved' }, { state: 'resolved' }, { state: 'resolved' }]);
    expect(purgeAll()).toMatchObject({ alerts: 3 });
    expect(queryStore(file, `SELECT COUNT(*) AS n FROM alerts`)).toEqual([{ n: 0 }]);
  });

  it('purges Panther alerts (no episode) by the cutoff alone', () => {
    store.accept(parsedAlert({ alertId: 'p-1' }), [{ route: 'r', destination: 'slack' }]);
    deliverAll();
    expect(store.ledger().purge(60 * 60_000)).toMatchObject({ alerts: 0 });
    expect(purgeAll()).toMatchObject({ alerts: 1, deliveries: 1 });
  });
});
