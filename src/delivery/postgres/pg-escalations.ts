import type { Alert } from '../../domain/alert';
import { closedBy, closedReason, escalationState, sourceResolved } from '../../escalation/escalation-store';
import type { DueReminder, EscalationState, EscalationStatus, EscalationStopReason } from '../../escalation/state';
import type { EscalationOps } from '../store-contract';
import type { PgSession } from './pg-session';
import { fromPgRecord, fromPgText, toPgRecord, toPgText } from './pg-text';

/**
 * Escalations on PostgreSQL: escalation-store.ts statement by statement, with the same results, plus leases. Every
 * replica runs the reminder loop; a due reminder is leased (claimed_by, lease_until) by the one that takes it
 * (`FOR UPDATE SKIP LOCKED`: another replica's claim is skipped, never waited for), so each reminder is sent once,
 * and its outcome is written only by the holder of its lease. A replica that died leaves it to another once the
 * lease ran out.
 */
export function pgEscalations(session: PgSession): EscalationOps {
  return {
    due: (now, limit, leaseMs) =>
      session.atomic(async (s) => {
        const rows = await s.query<{
          id: number; delivery_id: number; alert_row: number; sent: number; attempts: number; due_at: number; route: string; destination: string;
          message_ref: Record<string, string>; thread_ref: Record<string, string> | null; json: string; closed: string | null; resolved: boolean;
        }>(
          `WITH picked AS (
             SELECT x.id FROM escalations x
              WHERE x.status = 'pending' AND x.next_at <= $1 AND x.lease_until <= $1
              ORDER BY x.next_at, x.id LIMIT $2 FOR UPDATE OF x SKIP LOCKED
           ), leased AS (
             UPDATE escalations t SET claimed_by = $3, lease_until = $4 FROM picked WHERE t.id = picked.id
             RETURNING t.id, t.delivery_id, t.alert_row, t.sent, t.attempts, t.due_at, t.next_at
           )
           SELECT l.id, l.delivery_id, l.alert_row, l.sent, l.attempts, l.due_at, d.route, d.destination, d.message_ref, d.thread_ref,
                  a.alert_json::text AS json, ${closedBy('l.alert_row')} AS closed, ${sourceResolved('l.alert_row')} AS resolved
             FROM leased l JOIN deliveries d ON d.id = l.delivery_id JOIN alerts a ON a.id = l.alert_row ORDER BY l.next_at, l.id`,
          [now, limit, s.instanceId, now + leaseMs],
        );
        const due: DueReminder[] = [];
        for (const row of rows.rows) {
          const reason = closedReason(row.closed, row.resolved);
          if (reason) {
            await s.query(`UPDATE escalations SET status = 'stopped', stop_reason = $1, updated_at = $2, lease_until = 0, claimed_by = NULL WHERE id = $3`, [reason, now, row.id]);
            await touch(s, row.delivery_id);
            continue;
          }
          due.push({
            id: row.id,
            deliveryId: row.delivery_id,
            alertRow: row.alert_row,
            alert: JSON.parse(row.json) as Alert,
            route: row.route,
            destination: row.destination,
            ref: fromPgRecord(row.message_ref)!,
            threadRef: fromPgRecord(row.thread_ref),
            sent: row.sent,
            attempts: row.attempts,
            dueAt: row.due_at,
          });
        }
        return due;
      }),

    nextDueAt: async () =>
      (await session.query<{ at: number | null }>(`SELECT MIN(GREATEST(next_at, lease_until)) AS at FROM escalations WHERE status = 'pending'`)).rows[0]?.at ?? undefined,

    // Only while this replica holds the reminder as it claimed it (`sent` unchanged): a click that stopped it
    // meanwhile, or a replica that took it over after this one's lease ran out, has the last word.
    record: (reminder, write, now) =>
      session.atomic(async (s) => {
        const held = (first: number) => `WHERE id = $${first} AND status = 'pending' AND sent = $${first + 1} AND claimed_by = $${first + 2}`;
        const who = [reminder.id, reminder.sent, s.instanceId];
        const free = `lease_until = 0, claimed_by = NULL`;
        switch (write.kind) {
          case 'sent': {
            const done = await s.query(
              `UPDATE escalations SET sent = sent + 1, status = $1, due_at = COALESCE($2, due_at), next_at = COALESCE($2, next_at), attempts = 0,
                      last_error = NULL, updated_at = $3, ${free} ${held(4)}`,
              [write.nextAt === null ? 'done' : 'pending', write.nextAt, now, ...who],
            );
            if (done.rowCount !== 1) return;
            await touch(s, reminder.deliveryId);
            if (write.threadRef) await s.query(`UPDATE deliveries SET thread_ref = COALESCE(thread_ref, $1::jsonb) WHERE id = $2`, [toPgRecord(write.threadRef), reminder.deliveryId]);
            return;
          }
          case 'deferred':
            await s.query(`UPDATE escalations SET next_at = $1, updated_at = $2, ${free} ${held(3)}`, [write.at, now, ...who]);
            return;
          case 'retry':
            await s.query(`UPDATE escalations SET next_at = $1, attempts = attempts + 1, last_error = $2, updated_at = $3, ${free} ${held(4)}`, [write.at, toPgText(write.reason), now, ...who]);
            return;
          case 'dead': {
            const done = await s.query(`UPDATE escalations SET status = 'dead', attempts = attempts + 1, last_error = $1, updated_at = $2, ${free} ${held(3)}`, [toPgText(write.reason), now, ...who]);
            if (done.rowCount === 1) await touch(s, reminder.deliveryId);
            return;
          }
          case 'stopped': {
            const done = await s.query(`UPDATE escalations SET status = 'stopped', stop_reason = $1, updated_at = $2, ${free} ${held(3)}`, [write.reason, now, ...who]);
            if (done.rowCount === 1) await touch(s, reminder.deliveryId);
            return;
          }
        }
      }),

    state: (deliveryId) => escalationOf(session, deliveryId),
  };
}

/** A posted message's escalation (escalation-store.ts `state`), also for the triage view of the message. */
export async function escalationOf(session: PgSession, deliveryId: number): Promise<EscalationState | undefined> {
  const row = (
    await session.query<{ status: EscalationStatus; sent: number; due_at: number; stop_reason: string | null; last_error: string | null }>(
      `SELECT status, sent, due_at, stop_reason, last_error FROM escalations WHERE delivery_id = $1`,
      [deliveryId],
    )
  ).rows[0];
  return row && escalationState({ ...row, last_error: row.last_error === null ? null : fromPgText(row.last_error) });
}

/** escalation-store.ts `schedule`: the first reminder of a posted message, unless its alert was closed meanwhile. */
export async function scheduleEscalation(session: PgSession, deliveryId: number, firstAt: number, now: number): Promise<void> {
  await session.query(
    `INSERT INTO escalations (delivery_id, alert_row, status, due_at, next_at, created_at, updated_at)
     SELECT d.id, d.alert_row, 'pending', $1, $1, $2, $2 FROM deliveries d
      WHERE d.id = $3 AND ${closedBy('d.alert_row')} IS NULL AND NOT ${sourceResolved('d.alert_row')}
     ON CONFLICT (delivery_id) DO NOTHING`,
    [firstAt, now, deliveryId],
  );
}

/** Stops an alert's pending escalations (a click acknowledged or resolved it), inside the click's transaction. */
export async function stopAlertEscalations(session: PgSession, alertRow: number, reason: EscalationStopReason, now: number): Promise<void> {
  await session.query(`UPDATE escalations SET status = 'stopped', stop_reason = $1, updated_at = $2, lease_until = 0, claimed_by = NULL WHERE alert_row = $3 AND status = 'pending'`, [reason, now, alertRow]);
}

/**
 * escalation-store.ts `stopEpisode`: the pending escalations of an episode's firing alerts stop (resolved at the
 * source) and their messages are scheduled for an edit; before the episode is marked resolved, in its accept.
 */
export async function stopEpisodeEscalations(session: PgSession, source: string, episode: string, now: number): Promise<void> {
  const firing = `SELECT alert_row FROM alert_episodes WHERE source = $1 AND episode = $2 AND state = 'firing'`;
  await session.query(
    `UPDATE deliveries SET edit_wanted = edit_wanted + 1, edit_next_at = 0, edit_attempts = 0
      WHERE id IN (SELECT delivery_id FROM escalations WHERE status = 'pending' AND alert_row IN (${firing}))`,
    [source, episode],
  );
  await session.query(`UPDATE escalations SET status = 'stopped', stop_reason = 'source', updated_at = $3, lease_until = 0, claimed_by = NULL WHERE status = 'pending' AND alert_row IN (${firing})`, [source, episode, now]);
}

async function touch(session: PgSession, deliveryId: number): Promise<void> {
  await session.query(`UPDATE deliveries SET edit_wanted = edit_wanted + 1, edit_next_at = 0, edit_attempts = 0 WHERE id = $1`, [deliveryId]);
}
