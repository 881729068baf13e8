/**
 * The store contract on every engine, part 3: the operator's ledger (list and its filters, the stored alert,
 * requeue, purge). The same tests on SQLite and PostgreSQL.
 */
import type { StoreEngine } from '../src/delivery/store-contract';
import { parsedAlert } from './helpers/fixtures';
import { accept, deliverAll, ENGINES, stored, useEngine } from './helpers/store-engines';

const later = () => Date.now() + 1000;

describe.each(ENGINES)('store contract on %s: ledger', (_name, open) => {
  const ctx = useEngine(open);
  let engine: StoreEngine;
  beforeEach(() => {
    engine = ctx.engine;
  });

  /** Alert `a` (HIGH) to slack and discord, its slack copy delivered; alert `b` (LOW) to slack, dead. */
  async function history(now: number) {
    const a = parsedAlert({ alertId: 'aaa-111', id: 'AWS.Root.Login', title: 'Root login 1000 times, cpu-load high' });
    const b = parsedAlert({ alertId: 'bbb-222', id: 'Host.CPU', title: '100% CPU_load', severity: 'LOW' });
    await accept(engine, a, [{ route: 'r', destination: 'slack' }, { route: 'r', destination: 'discord' }]);
    await accept(engine, b, [{ route: 'r', destination: 'slack' }]);
    const [slackA] = await engine.claim(1, new Set(['discord']), 60_000, now);
    await engine.recordAttempt({ kind: 'delivered', id: slackA!.id, ref: { channel: 'C1', ts: '1.1' }, renderedRevision: 0 }, now);
    const [slackB] = await engine.claim(1, new Set(['discord']), 60_000, now);
    await engine.recordAttempt({ kind: 'dead', id: slackB!.id, reason: 'channel_not_found', countAttempt: true }, now);
    return { a, b, slackA: slackA!, slackB: slackB! };
  }

  it('lists deliveries newest first, with every filter', async () => {
    const now = later();
    const { a, slackA, slackB } = await history(now);
    const list = (filter: Parameters<ReturnType<StoreEngine['ledger']>['list']>[0]) => engine.ledger().list(filter).then((rows) => rows.map((r) => [r.alertId, r.destination]));
    const all = await engine.ledger().list();
    expect(all.map((r) => [r.alertId, r.destination, r.status])).toEqual([
      ['bbb-222', 'slack', 'dead'],
      ['aaa-111', 'discord', 'pending'],
      ['aaa-111', 'slack', 'delivered'],
    ]);
    expect(all[2]).toEqual({
      id: slackA.id,
      alertRow: slackA.alertRow,
      alertId: 'aaa-111',
      source: 'panther',
      severity: 'HIGH',
      title: a.title,
      route: 'r',
      destination: 'slack',
      status: 'delivered',
      attempts: 1,
      rateLimited: 0,
      lastReason: null,
      messageRef: { channel: 'C1', ts: '1.1' },
      receivedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      updatedAt: new Date(now).toISOString(),
      deliveredAt: new Date(now).toISOString(),
      nextAttemptAt: null,
    });
    expect(all[1]!.nextAttemptAt).toBe(all[1]!.receivedAt);
    expect(await list({ status: 'pending' })).toEqual([['aaa-111', 'discord']]);
    expect(await list({ alertId: 'bbb-222' })).toEqual([['bbb-222', 'slack']]);
    expect(await list({ alertRow: slackB.alertRow })).toEqual([['bbb-222', 'slack']]);
    expect(await list({ source: 'panther', severity: 'HIGH', destination: 'slack' })).toEqual([['aaa-111', 'slack']]);
    expect(await list({ source: 'grafana' })).toEqual([]);
    expect(await list({ limit: 1 })).toEqual([['bbb-222', 'slack']]);
    // Text: case-insensitive, in the title, the alert id or the detection id; the user's wildcards are literal.
    expect(await list({ text: 'ROOT LOGIN', destination: 'slack' })).toEqual([['aaa-111', 'slack']]);
    expect(await list({ text: 'aws.root' })).toHaveLength(2);
    expect(await list({ text: 'B-22' })).toEqual([['bbb-222', 'slack']]);
    expect(await list({ text: '100%' })).toEqual([['bbb-222', 'slack']]);
    expect(await list({ text: 'u_l' })).toEqual([['bbb-222', 'slack']]);
    expect(await list({ text: '\\' })).toEqual([]);
  });

  it('gives back the stored alert of a row', async () => {
    const { a, slackA } = await history(later());
    expect(await engine.ledger().alert(slackA.alertRow)).toEqual(stored(a));
    expect(await engine.ledger().alert(987654)).toBeUndefined();
  });

  it('requeues dead deliveries, and delivered ones only when asked to resend, saying why for the rest', async () => {
    const now = later();
    const { slackA, slackB } = await history(now);
    const [pending] = await engine.ledger().list({ status: 'pending' });
    expect(await engine.ledger().requeue([slackB.id, slackA.id, pending!.id, 987654], now + 1)).toEqual({
      requeued: [slackB.id],
      skipped: [
        { id: slackA.id, reason: 'already delivered; not sent again' },
        { id: pending!.id, reason: 'already pending' },
        { id: 987654, reason: 'no such delivery' },
      ],
    });
    expect((await engine.ledger().list({ alertId: 'bbb-222' }))[0]).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: new Date(now + 1).toISOString() });
    // Requeued rows are claimable at once, their age counted from the resend.
    const [again] = await engine.claim(10, new Set(['discord']), 60_000, now + 1);
    expect(again).toMatchObject({ id: slackB.id, createdAt: now + 1, attempts: 0 });
    await engine.recordAttempt({ kind: 'dead', id: again!.id, reason: 'channel_not_found', countAttempt: true }, now + 2);
    expect(await engine.ledger().requeue('all-dead', now + 3, { resendDelivered: true })).toEqual({ requeued: [slackB.id], skipped: [] });
    expect(await engine.ledger().requeue([slackA.id], now + 3, { resendDelivered: true })).toEqual({ requeued: [slackA.id], skipped: [] });
    expect(await engine.counts()).toEqual({ pending: 3, delivered: 0, dead: 0 });
  });

  it('purges finished history older than the cutoff with everything that belongs to it, never pending work', async () => {
    const now = later();
    const done = parsedAlert({ alertId: 'done' });
    await accept(engine, done, [{ route: 'r', destination: 'slack' }]);
    await accept(engine, parsedAlert({ alertId: 'clicked' }), [{ route: 'r', destination: 'slack' }]);
    await accept(engine, parsedAlert({ alertId: 'syncing' }), [{ route: 'r', destination: 'slack' }]);
    await deliverAll(engine, now);
    await accept(engine, parsedAlert({ alertId: 'pending' }), [{ route: 'r', destination: 'slack' }]);
    const row = async (alertId: string) => (await engine.ledger().list({ alertId }))[0]!;
    const clicked = await row('clicked');
    await engine.triage().record({ alertRow: clicked.alertRow, deliveryId: clicked.id, action: 'resolve', actor: { platform: 'slack', id: 'U1', name: 'ann' }, interactionId: 'i-1', at: now });
    const syncing = await row('syncing');
    await engine.triage().enqueueSync(syncing.alertRow, 'status', { status: 'RESOLVED' }, now);
    const digestId = await engine.digests().record(null, 'slack', { channel: 'C1', ts: '5.5' }, { counts: {}, top: [] }, [], now - 1);

    expect(await engine.ledger().purge(60 * 60_000, now)).toEqual({ alerts: 0, deliveries: 0, digests: 0 });
    // The click's edit is still to make, the write-back still pending, one delivery still pending: those stay.
    expect(await engine.ledger().purge(0, now + 1)).toEqual({ alerts: 1, deliveries: 1, digests: 1 });
    expect(await engine.digests().open('slack', 0)).toBeNull();
    expect(digestId).toEqual(expect.any(Number));
    expect((await engine.ledger().list()).map((r) => r.alertId).sort()).toEqual(['clicked', 'pending', 'syncing']);
    // A purged alert's dedup key is forgotten with it.
    expect((await accept(engine, done, [{ route: 'r', destination: 'slack' }])).status).toBe('accepted');

    await engine.triage().markEdited(clicked.id, 1);
    const [job] = await engine.triage().dueSyncs(now, 10, 0);
    await engine.triage().finishSync(job!, { kind: 'done' }, now);
    await deliverAll(engine, later());
    // The finished write-back changed nothing shown (no failure), so no edit is left: everything old goes.
    expect(await engine.ledger().purge(0, later() + 1)).toEqual({ alerts: 4, deliveries: 4, digests: 0 });
    expect(await engine.counts()).toEqual({ pending: 0, delivered: 0, dead: 0 });
    expect(await engine.triage().view(clicked.alertRow)).toEqual({ status: 'open', events: [], threadReplies: 0 });
  });
});
