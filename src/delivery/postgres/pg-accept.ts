import type { Pool } from 'pg';
import type { Alert } from '../../domain/alert';
import { storedId } from '../../domain/stored-id';
import { MAX_DIGEST_LINK } from '../../destinations/digest-format';
import type { OnResolved, RouteTarget } from '../../routing/router';
import { STORED_TITLE_MAX } from '../sqlite-migrations';
import type { AcceptItem } from '../store';
import type { AcceptResult, DeliverySummary } from '../status';
import { truncateText } from '../../templates/truncate';
import { ClientSession, inTransaction, type PgSession } from './pg-session';
import { toPgText } from './pg-text';
import { stopEpisodeEscalations } from './pg-escalations';

/** How often a POST's transaction is tried when PostgreSQL rolled it back for a reason that passes (a deadlock). */
const ACCEPT_TRIES = 4;

/**
 * SQLSTATEs after which the accept's transaction is known to be rolled back and trying it again is safe and may
 * succeed: two replicas accepting the same two alerts of two POSTs in opposite orders deadlock (40P01), and one
 * of them is chosen to fail. A lost connection is not tried again: its COMMIT may have happened, and the sender's
 * own retry of the 503 then finds a duplicate, never a loss.
 */
const RETRIED = new Set(['40001', '40P01', '55P03']);

/**
 * Stores the alerts of one webhook POST and their deliveries in one transaction, all or none, committed durably
 * (the pool keeps synchronous_commit on) before this resolves. Results in order, as SQLite's accept gives them
 * (store.ts acceptRows, lifecycle-store.ts): a repeat of a stored alert, also one committed a moment ago by
 * another replica or earlier in the same POST, is a `duplicate` with the existing deliveries and `acceptedAt`.
 */
export async function acceptGroup(pool: Pool, instanceId: string, items: readonly AcceptItem[]): Promise<AcceptResult[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await inTransaction(pool, async (client) => {
        const session = new ClientSession(client, instanceId);
        const now = Date.now();
        const results: AcceptResult[] = new Array<AcceptResult>(items.length);
        for (const i of lockOrder(items)) results[i] = await acceptOne(session, items[i]!, now);
        return results;
      });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (attempt >= ACCEPT_TRIES || typeof code !== 'string' || !RETRIED.has(code)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
    }
  }
}

/**
 * The order in which a POST's alerts are written: by their key (an episode's alerts together, in the POST's order),
 * so every replica takes the row locks of the same alerts in the same order. Two POSTs carrying the same alerts in
 * different orders then never deadlock (PostgreSQL finds a deadlock only after deadlock_timeout, a second by
 * default, and then fails one of them). The results stay in the POST's order, and a repeat of an alert within the
 * POST is still the duplicate of its first copy (the sort is stable).
 */
function lockOrder(items: readonly AcceptItem[]): number[] {
  const key = ({ alert }: AcceptItem) => `${alert.source}\u0000${alert.episodeKey ?? alert.dedupKey}`;
  const keys = items.map(key);
  return items.map((_, i) => i).sort((x, y) => (keys[x]! < keys[y]! ? -1 : keys[x]! > keys[y]! ? 1 : 0));
}

/**
 * One alert, with the firing → resolved episodes of label-based sources as LifecycleStore.accept has them: a
 * firing alert records its episode; a resolved one turns the firing alert's message into the resolution (an edit)
 * per route, or posts it. Replicas may accept the firing alert's repeat, its resolve and a repeat of the resolve at
 * the same moment: the episode's rows are locked (FOR UPDATE) before they are read, so one resolve reads and edits
 * them, and the other, waiting, then reads them resolved and finds its alert a duplicate.
 */
async function acceptOne(session: PgSession, { alert, targets }: AcceptItem, now: number): Promise<AcceptResult> {
  if (!alert.episodeKey) return (await insertAlert(session, alert, targets, now)).result;
  const episode = toPgText(alert.episodeKey);
  if (alert.status !== 'resolved') {
    const { result, row } = await insertAlert(session, alert, targets, now);
    if (row !== undefined) {
      await session.query(`INSERT INTO alert_episodes (alert_row, source, episode, state) VALUES ($1, $2, $3, 'firing')`, [row, alert.source, episode]);
    }
    return result;
  }
  // Every firing row of the episode (Grafana keys a firing notification on its content: one episode may have
  // several), locked in one order so two resolves never deadlock; the newest is the message to edit.
  const firingRows = await session.query<{ row: number; json: string }>(
    `SELECT e.alert_row AS row, a.alert_json::text AS json FROM alert_episodes e JOIN alerts a ON a.id = e.alert_row
      WHERE e.source = $1 AND e.episode = $2 AND e.state = 'firing' ORDER BY e.alert_row DESC FOR UPDATE OF e`,
    [alert.source, episode],
  );
  const firing = firingRows.rows[0];
  const plan = targets.map((target) => ({ target, mode: (target.onResolved ?? 'update') as OnResolved, edit: undefined as number | undefined }));
  const updating = plan.filter((p) => p.mode === 'update');
  if (firing && updating.length > 0) {
    const editable = await session.query<{ id: number; destination: string }>(
      `SELECT id, destination FROM deliveries WHERE alert_row = $1 AND destination = ANY($2::text[])
          AND (status = 'pending' OR (status = 'delivered' AND via = 'message' AND message_ref IS NOT NULL))`,
      [firing.row, updating.map((p) => p.target.destination)],
    );
    const byDestination = new Map(editable.rows.map((r) => [r.destination, r.id]));
    for (const entry of updating) entry.edit = byDestination.get(entry.target.destination);
  }
  const posts = plan.filter((p) => p.mode === 'post' || (p.mode === 'update' && p.edit === undefined)).map((p) => p.target);
  const { result, row } = await insertAlert(session, alert, posts, now);
  if (result.status === 'duplicate') return result;
  // Resolved at the source: no reminder of any of its firing alerts' messages escalates any more.
  await stopEpisodeEscalations(session, alert.source, episode, now);
  // The episode is over whatever its routes do with the resolution, for every firing row it has, and the
  // resolution's own row belongs to it, resolved (lifecycle-store.ts).
  await session.query(`UPDATE alert_episodes SET state = 'resolved' WHERE source = $1 AND episode = $2 AND state = 'firing'`, [alert.source, episode]);
  await session.query(`INSERT INTO alert_episodes (alert_row, source, episode, state) VALUES ($1, $2, $3, 'resolved')`, [row, alert.source, episode]);
  const edits = plan.flatMap((p) => (p.edit === undefined ? [] : [p.edit]));
  if (firing && edits.length > 0) {
    const stored = JSON.parse(firing.json) as Alert;
    // The resolved content under the firing alert's identity: its dedup key is the Discord nonce of pending sends.
    const resolved: Alert = { ...alert, dedupKey: stored.dedupKey };
    await session.query(`UPDATE alerts SET alert_json = $1 WHERE id = $2`, [JSON.stringify(resolved), firing.row]);
    await session.query(`UPDATE deliveries SET edit_wanted = edit_wanted + 1, edit_next_at = 0, edit_attempts = 0 WHERE id = ANY($1::bigint[])`, [edits]);
  }
  const summary = (p: (typeof plan)[number]): DeliverySummary => ({
    route: p.target.route,
    destination: p.target.destination,
    status: p.mode === 'ignore' ? 'ignored' : p.edit !== undefined ? 'updated' : 'pending',
  });
  return { status: 'accepted', deliveries: plan.map(summary) };
}

/**
 * The alert row and one pending delivery per target, or the duplicate answer (store.ts acceptRows). ON CONFLICT
 * DO NOTHING waits for a concurrent insert of the same key and then inserts nothing, so the loser of a race is a
 * duplicate, never a unique violation. `row` is the new alert's id (undefined for a duplicate).
 */
async function insertAlert(session: PgSession, alert: Alert, targets: readonly RouteTarget[], now: number): Promise<{ result: AcceptResult; row?: number }> {
  const dedupKey = toPgText(alert.dedupKey);
  // A purge may delete the conflicting row between the insert and the read: then the insert is tried again.
  for (let tries = 0; tries < 3; tries++) {
    const inserted = await session.query<{ id: number }>(
      `INSERT INTO alerts (source, dedup_key, alert_id, severity, title, alert_json, received_at, detection_id, link, created_at_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (source, dedup_key) DO NOTHING RETURNING id`,
      [
        alert.source,
        dedupKey,
        // Bounded as on SQLite (store.ts): the full alert is in alert_json.
        toPgText(storedId(alert.alertId)),
        alert.severity,
        toPgText(truncateText(alert.title, STORED_TITLE_MAX, { marker: '…', count: 'codepoints' }).text),
        JSON.stringify(alert),
        now,
        toPgText(storedId(alert.detectionId)),
        toPgText(alert.link.length <= MAX_DIGEST_LINK ? alert.link : ''),
        alert.createdAtMs,
      ],
    );
    const row = inserted.rows[0]?.id;
    if (row !== undefined) {
      if (targets.length > 0) {
        // One statement for every target; the identity numbers them in the targets' order (WITH ORDINALITY).
        await session.query(
          `INSERT INTO deliveries (alert_row, route, destination, template, status, next_attempt_at, created_at, updated_at)
           SELECT $1, t.route, t.destination, t.template, 'pending', $5, $5, $5
             FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(route, destination, template, n) ORDER BY t.n`,
          [row, targets.map((t) => t.route), targets.map((t) => t.destination), targets.map((t) => t.template ?? null), now],
        );
      }
      return { result: { status: 'accepted', deliveries: targets.map((t) => ({ route: t.route, destination: t.destination, status: 'pending' as const })) }, row };
    }
    const existing = await session.query<{ id: number; received_at: number }>(`SELECT id, received_at FROM alerts WHERE source = $1 AND dedup_key = $2`, [alert.source, dedupKey]);
    const found = existing.rows[0];
    if (!found) continue;
    const deliveries = await session.query<DeliverySummary>(`SELECT route, destination, status FROM deliveries WHERE alert_row = $1 ORDER BY id`, [found.id]);
    return { result: { status: 'duplicate', deliveries: deliveries.rows, acceptedAt: found.received_at } };
  }
  throw Object.assign(new Error('the stored alert this one repeats was deleted while it was accepted; try again'), { code: '40001' });
}
