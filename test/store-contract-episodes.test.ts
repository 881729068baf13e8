/**
 * The store contract on every engine, part 4: firing → resolved episodes of label-based sources (lifecycle-store.ts
 * semantics: a resolve edits the firing message, posts, or is ignored, per route), and hostile text: NUL bytes
 * (which PostgreSQL's text refuses) and huge fields round-trip exactly. The same tests on SQLite and PostgreSQL.
 */
import type { Alert } from '../src/domain/alert';
import { storedId } from '../src/domain/stored-id';
import type { StoreEngine } from '../src/delivery/store-contract';
import type { OnResolved } from '../src/routing/router';
import { parsePantherPayload } from '../src/sources/panther';
import { loadFixture, parsedAlert } from './helpers/fixtures';
import { accept, deliverAll, ENGINES, stored, useEngine } from './helpers/store-engines';

const later = () => Date.now() + 1000;

/** A label-based alert of `episode` (Grafana keys a firing notification on its content: `content` varies it). */
const labelAlert = (episode: string, status: 'firing' | 'resolved', content = ''): Alert => ({
  ...parsedAlert({ alertId: `${episode}-${status}${content}`, title: `${episode} is ${status}` }),
  source: 'grafana',
  dedupKey: `${episode}|${status}:${content}`,
  episodeKey: episode,
  status,
});
const to = (destination: string, onResolved?: OnResolved) => ({ route: `r-${destination}`, destination, ...(onResolved ? { onResolved } : {}) });

describe.each(ENGINES)('store contract on %s: episodes and hostile text', (_name, open) => {
  const ctx = useEngine(open);
  let engine: StoreEngine;
  beforeEach(() => {
    engine = ctx.engine;
  });

  /** Makes every edit the messages wait for (as the message editor would). */
  async function editAll(now: number): Promise<void> {
    for (const message of await engine.triage().staleMessages(now, 100, 0)) await engine.triage().markEdited(message.id, message.revision);
  }

  describe('firing → resolved', () => {
    it('per route, a resolve edits the firing message, posts anew, or is ignored; a repeat of it is a duplicate', async () => {
      const firing = labelAlert('fp1@t0', 'firing');
      const targets = [to('edited', 'update'), to('posted', 'post'), to('quiet', 'ignore'), to('default')];
      expect((await accept(engine, firing, targets)).status).toBe('accepted');
      await deliverAll(engine, later());
      const resolved = labelAlert('fp1@t0', 'resolved');
      expect(await accept(engine, resolved, targets)).toEqual({
        status: 'accepted',
        deliveries: [
          { route: 'r-edited', destination: 'edited', status: 'updated' },
          { route: 'r-posted', destination: 'posted', status: 'pending' },
          { route: 'r-quiet', destination: 'quiet', status: 'ignored' },
          { route: 'r-default', destination: 'default', status: 'updated' },
        ],
      });
      // The firing messages now show the resolved content, under the firing alert's identity (its Discord nonce).
      const stale = await engine.triage().staleMessages(later(), 10, 0);
      expect(stale.map((m) => [m.destination, m.revision])).toEqual([['edited', 1], ['default', 1]]);
      expect(stale[0]!.alert).toEqual(stored({ ...resolved, dedupKey: firing.dedupKey }));
      expect(await engine.ledger().alert(stale[0]!.alertRow)).toEqual(stale[0]!.alert);
      expect((await engine.claim(10, new Set(), 60_000, later())).map((d) => [d.destination, d.alert.status])).toEqual([['posted', 'resolved']]);
      expect((await accept(engine, resolved, targets)).status).toBe('duplicate');
    });

    it('edits a firing delivery not sent yet (it goes out resolved), and posts when there is no firing message to edit', async () => {
      await accept(engine, labelAlert('fp2@t0', 'firing'), [to('slack')]);
      expect((await accept(engine, labelAlert('fp2@t0', 'resolved'), [to('slack')])).deliveries).toEqual([{ route: 'r-slack', destination: 'slack', status: 'updated' }]);
      const [claimed] = await engine.claim(10, new Set(), 60_000, later());
      expect(claimed).toMatchObject({ revision: 1, alert: { status: 'resolved', dedupKey: 'fp2@t0|firing:' } });

      // Its firing message is dead (never posted): the resolve is posted instead.
      await accept(engine, labelAlert('fp3@t0', 'firing'), [to('discord')]);
      const [dying] = await engine.claim(10, new Set(['slack']), 60_000, later());
      await engine.recordAttempt({ kind: 'dead', id: dying!.id, reason: 'missing_access', countAttempt: true }, later());
      expect((await accept(engine, labelAlert('fp3@t0', 'resolved'), [to('discord')])).deliveries).toEqual([{ route: 'r-discord', destination: 'discord', status: 'pending' }]);
      // No firing alert at all (the bridge started after it fired): posted.
      expect((await accept(engine, labelAlert('fp4@t0', 'resolved'), [to('slack')])).deliveries).toEqual([{ route: 'r-slack', destination: 'slack', status: 'pending' }]);
    });

    it('keeps a firing alert from purge whatever its age; its repeat stays a duplicate; a resolve ends every firing row of it', async () => {
      const target = [to('slack')];
      await accept(engine, labelAlert('fp5@t0', 'firing', 'a'), target);
      await accept(engine, labelAlert('fp5@t0', 'firing', 'b'), target);
      await deliverAll(engine, later());
      expect(await engine.ledger().purge(0, later() + 1)).toMatchObject({ alerts: 0 });
      expect((await accept(engine, labelAlert('fp5@t0', 'firing', 'a'), target)).status).toBe('duplicate');
      expect((await accept(engine, labelAlert('fp5@t0', 'resolved'), target)).status).toBe('accepted');
      await deliverAll(engine, later());
      // The older firing row and the resolve (which edits, so posts nothing) go; the newest firing message is to
      // show the resolve, and until that edit is made its alert is kept.
      expect(await engine.ledger().purge(0, later() + 1)).toMatchObject({ alerts: 2, deliveries: 1 });
      await editAll(later());
      expect(await engine.ledger().purge(0, later() + 1)).toMatchObject({ alerts: 1, deliveries: 1 });
      expect(await engine.counts()).toEqual({ pending: 0, delivered: 0, dead: 0 });
    });
    it('a firing alert its source resolved is no longer a thread parent: the next firing starts a new message', async () => {
      const firing = labelAlert('fp9@t0', 'firing');
      await accept(engine, firing, [to('chat')]);
      await deliverAll(engine, later());
      const since = Date.now() - 60_000;
      const parent = await engine.triage().threadParent('chat', firing.detectionId, since, -1);
      expect(parent).not.toBeNull();
      await accept(engine, labelAlert('fp9@t0', 'resolved'), [to('chat')]);
      expect(await engine.triage().threadParent('chat', firing.detectionId, since, -1)).toBeNull();
    });
    it('a resolution posted as a message of its own (onResolved: post, or no firing message to edit) is no thread parent', async () => {
      const since = Date.now() - 60_000;
      // No firing message at all (the bridge started after it fired): the resolution is posted.
      const alone = labelAlert('fp10@t0', 'resolved');
      await accept(engine, alone, [to('chat')]);
      // onResolved: post beside a firing message.
      await accept(engine, labelAlert('fp11@t0', 'firing'), [to('chat', 'post')]);
      await deliverAll(engine, later());
      await accept(engine, labelAlert('fp11@t0', 'resolved'), [to('chat', 'post')]);
      await deliverAll(engine, later());
      expect(await engine.triage().threadParent('chat', alone.detectionId, since, -1)).toBeNull();
    });
    it('a resolution posted as a message (onResolved: post) still replies under the firing message of its own episode', async () => {
      const since = Date.now() - 60_000;
      const firing = labelAlert('fp12@t0', 'firing');
      await accept(engine, firing, [to('chat', 'post')]);
      await deliverAll(engine, later());
      const parent = await engine.triage().threadParent('chat', firing.detectionId, since, -1);
      await accept(engine, labelAlert('fp12@t0', 'resolved'), [to('chat', 'post')]);
      const own = { source: firing.source, key: 'fp12@t0' };
      expect(await engine.triage().threadParent('chat', firing.detectionId, since, -1, own)).toEqual(parent);
      // Another episode's resolution, and a new firing, do not.
      expect(await engine.triage().threadParent('chat', firing.detectionId, since, -1, { source: firing.source, key: 'fp13@t0' })).toBeNull();
      expect(await engine.triage().threadParent('chat', firing.detectionId, since, -1)).toBeNull();
    });
  });

  describe('hostile text', () => {
    it('round-trips NUL bytes in every field, finds them by text, and keeps keys that differ only there apart', async () => {
      const parsed = parsePantherPayload(loadFixture('valid/hostile/nul-byte.json'));
      if (!parsed.ok) throw new Error('fixture does not parse');
      const alert = { ...parsed.alert, alertId: 'nul\u0000id', detectionId: 'Det\u0000ection', link: 'https://x.example/\u0000' };
      expect(alert.title).toContain('\u0000');
      await accept(engine, alert, [{ route: 'r', destination: 'slack' }]);
      const [claimed] = await engine.claim(1, new Set(), 60_000, later());
      expect(claimed!.alert).toEqual(stored(alert));
      const [row] = await engine.ledger().list({ text: 'before\u0000after' });
      expect(row).toMatchObject({ title: alert.title, alertId: 'nul\u0000id' });
      expect(await engine.ledger().list({ alertId: 'nul\u0000id' })).toHaveLength(1);
      await engine.recordAttempt({ kind: 'rescheduled', id: claimed!.id, nextAttemptAt: later(), reason: 'echo: \u0000', rateLimited: false }, later());
      expect((await engine.ledger().list())[0]!.lastReason).toBe('echo: \u0000');
      const [candidate] = await engine.digests().leaseWaiting('slack', ['r'], 10, 60_000, later() + 10);
      expect(candidate).toMatchObject({ alert: { alertId: 'nul\u0000id' }, entry: { title: alert.title, link: 'https://x.example/\u0000' } });

      // Keys that differ only by a NUL, or by what an encoding of it might look like, are different alerts.
      const keys = ['k\u0000', 'k\u24000', 'k\u2400', 'k\u2400\u2400', 'k0', 'k'];
      for (const key of keys) expect((await accept(engine, { ...parsedAlert({ alertId: key }), dedupKey: key }, [])).status).toBe('accepted');
      for (const key of keys) expect((await accept(engine, { ...parsedAlert({ alertId: key }), dedupKey: key }, [])).status).toBe('duplicate');
      await accept(engine, { ...parsedAlert({ alertId: 'x' }), dedupKey: 'thread\u0000', detectionId: 'Det\u0000ection' }, [{ route: 'r', destination: 'discord' }]);
      const [threaded] = await engine.claim(1, new Set(['slack']), 60_000, later());
      await engine.recordAttempt({ kind: 'delivered', id: threaded!.id, ref: { channel: 'C\u0000', ts: '1' }, renderedRevision: 0 }, later());
      expect(await engine.triage().threadParent('discord', 'Det\u0000ection', 0, -1)).toMatchObject({ id: threaded!.id, ref: { channel: 'C\u0000', ts: '1' } });
      await engine.triage().record({ alertRow: threaded!.alertRow, deliveryId: threaded!.id, action: 'assign', actor: { platform: 'discord', id: '1\u0000', name: 'e\u0000ve' }, interactionId: 'i\u0000', at: 1 });
      expect((await engine.triage().view(threaded!.alertRow)).assignee).toEqual({ platform: 'discord', id: '1\u0000', name: 'e\u0000ve' });
      await engine.triage().enqueueSync(threaded!.alertRow, 'assignee', { name: 'e\u0000ve' }, 1);
      expect((await engine.triage().dueSyncs(1, 10, 0))[0]!.argument).toEqual({ name: 'e\u0000ve' });
    });

    it('round-trips a huge alert whole, and lists and finds it by its bounded columns', async () => {
      const alert = parsedAlert({ alertId: 'i'.repeat(300_000), title: `T${'😀'.repeat(200_000)}`, id: `D${'d'.repeat(5000)}`, link: `https://x.example/${'l'.repeat(10_000)}` });
      await accept(engine, alert, [{ route: 'r', destination: 'slack' }]);
      const [claimed] = await engine.claim(1, new Set(), 60_000, later());
      expect(claimed!.alert).toEqual(stored(alert));
      const [row] = await engine.ledger().list({ alertId: alert.alertId! });
      expect(row!.alertId).toBe(storedId(alert.alertId));
      expect([...row!.title]).toHaveLength(1000);
      expect(row!.title.endsWith('…')).toBe(true);
      expect(await engine.ledger().alert(claimed!.alertRow)).toEqual(stored(alert));
      await engine.release(claimed!.id);
      const [candidate] = await engine.digests().leaseWaiting('slack', ['r'], 1, 60_000, later());
      expect(candidate).toMatchObject({ alert: { alertId: storedId(alert.alertId) }, entry: { link: '' } });
    });
  });
});
