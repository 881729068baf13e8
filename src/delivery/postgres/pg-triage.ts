import type { Alert } from '../../domain/alert';
import type { MessageRef } from '../../domain/delivery';
import { storedId } from '../../domain/stored-id';
import { foldTriage, type PantherSyncView, type TriageAction, type TriageEvent } from '../../triage/state';
import type { SyncJob } from '../../triage/triage-store';
import type { TriageOps } from '../store-contract';
import type { PgSession } from './pg-session';
import { fromPgRecord, fromPgText, toPgRecord, toPgText } from './pg-text';
import { escalationOf, stopAlertEscalations } from './pg-escalations';
import { pgSilenceView } from './pg-silences';
import { touchAlert } from './pg-touch';

/**
 * Triage on PostgreSQL: the statements of triage-store.ts, method by method, with the same results. Clicks are
 * recorded once per interaction id whichever replica receives them (the unique key decides, ON CONFLICT waits for
 * a concurrent insert of the same id). Event order is id order: ids are handed out at insert, so two clicks on two
 * replicas within the same milliseconds fold in the order they were inserted, not committed.
 */
/** The message's edit lease is this replica's (the instance id in parameter `$n`), or nobody's. */
const heldHere = (n: number): string => `(edit_claimed_by IS NULL OR edit_claimed_by = $${n})`;

export function pgTriage(session: PgSession): TriageOps {
  return {
    delivery: async (id) => {
      const row = (
        await session.query<{ id: number; alert_row: number; alert_id: string | null; source: string; route: string; destination: string; status: string }>(
          `SELECT d.id, d.alert_row, a.alert_id, a.source, d.route, d.destination, d.status FROM deliveries d JOIN alerts a ON a.id = d.alert_row WHERE d.id = $1`,
          [id],
        )
      ).rows[0];
      return row && { id: row.id, alertRow: row.alert_row, alertId: fromPgText(row.alert_id), source: row.source, route: row.route, destination: row.destination, status: row.status };
    },

    record: (input) =>
      session.atomic(async (s) => {
        const inserted = await s.query<{ id: number }>(
          `INSERT INTO triage_events (alert_row, action, actor_platform, actor_id, actor_name, delivery_id, interaction_id, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (interaction_id) DO NOTHING RETURNING id`,
          [input.alertRow, input.action, input.actor.platform, toPgText(input.actor.id), toPgText(input.actor.name), input.deliveryId, toPgText(input.interactionId ?? null), input.at],
        );
        const seq = inserted.rows[0]?.id;
        if (seq === undefined) return { recorded: false };
        // An acknowledgement or resolution from any copy stops the reminders of every copy, in the same transaction.
        if (input.action !== 'assign') await stopAlertEscalations(s, input.alertRow, input.action, input.at);
        await touchAlert(s, input.alertRow);
        return { recorded: true, seq };
      }),

    touchAlert: (alertRow) => touchAlert(session, alertRow),

    view: async (alertRow, deliveryId) => {
      const rows = await session.query<{ id: number; action: TriageAction; actor_platform: 'slack' | 'discord'; actor_id: string; actor_name: string; at: number }>(
        `SELECT id, action, actor_platform, actor_id, actor_name, at FROM triage_events WHERE alert_row = $1 ORDER BY id`,
        [alertRow],
      );
      const events: TriageEvent[] = rows.rows.map((r) => ({
        seq: r.id,
        action: r.action,
        actor: { platform: r.actor_platform, id: fromPgText(r.actor_id), name: fromPgText(r.actor_name) },
        at: r.at,
      }));
      const replies =
        deliveryId === undefined ? 0 : ((await session.query<{ thread_replies: number }>(`SELECT thread_replies FROM deliveries WHERE id = $1`, [deliveryId])).rows[0]?.thread_replies ?? 0);
      const panther = await pantherView(session, alertRow);
      const escalation = deliveryId === undefined ? undefined : await escalationOf(session, deliveryId);
      const silence = await pgSilenceView(session, alertRow);
      return foldTriage(events, { threadReplies: replies, ...(panther ? { panther } : {}), ...(silence ? { silence } : {}), ...(escalation ? { escalation } : {}) });
    },

    // Leased (edit_claimed_by, edit_lease_until) so that each stale message is edited by one replica; a message
    // another replica's transaction holds is skipped, never waited for, and a lease that ran out is anyone's again.
    staleMessages: async (now, limit, leaseMs) => {
      const rows = await session.query<{ id: number; alert_row: number; route: string; destination: string; template: string | null; message_ref: Record<string, string>; edit_wanted: number; edit_attempts: number; json: string }>(
        `WITH picked AS (
           SELECT d.id FROM deliveries d
            WHERE d.edit_wanted > d.edit_done AND d.edit_next_at <= $1 AND d.edit_lease_until <= $1
              AND d.status = 'delivered' AND d.via = 'message' AND d.message_ref IS NOT NULL
            ORDER BY d.edit_next_at, d.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED
         ), leased AS (
           UPDATE deliveries t SET edit_claimed_by = $3, edit_lease_until = $4 FROM picked WHERE t.id = picked.id
           RETURNING t.id, t.alert_row, t.route, t.destination, t.template, t.message_ref, t.edit_wanted, t.edit_attempts, t.edit_next_at
         )
         SELECT l.id, l.alert_row, l.route, l.destination, l.template, l.message_ref, l.edit_wanted, l.edit_attempts, a.alert_json::text AS json
           FROM leased l JOIN alerts a ON a.id = l.alert_row ORDER BY l.edit_next_at, l.id`,
        [now, limit, session.instanceId, now + leaseMs],
      );
      return rows.rows.map((r) => ({
        id: r.id,
        alertRow: r.alert_row,
        alert: JSON.parse(r.json) as Alert,
        route: r.route,
        destination: r.destination,
        ...(r.template ? { template: r.template } : {}),
        ref: fromPgRecord(r.message_ref)!,
        revision: r.edit_wanted,
        attempts: r.edit_attempts,
      }));
    },

    nextEditAt: async () => {
      const row = await session.query<{ at: number | null }>(
        `SELECT MIN(GREATEST(edit_next_at, edit_lease_until)) AS at FROM deliveries WHERE edit_wanted > edit_done AND status = 'delivered' AND via = 'message' AND message_ref IS NOT NULL`,
      );
      return row.rows[0]?.at ?? undefined;
    },

    // The edit was made, whoever holds the lease now: its revision is shown. A lease another replica took over
    // (this one's ran out mid-batch) stays that replica's; it ends it with its own outcome.
    markEdited: async (id, revision) => {
      await session.query(
        `UPDATE deliveries SET edit_done = GREATEST(edit_done, $1), edit_attempts = 0, edit_error = NULL,
                edit_lease_until = CASE WHEN ${heldHere(3)} THEN 0 ELSE edit_lease_until END,
                edit_claimed_by = CASE WHEN ${heldHere(3)} THEN NULL ELSE edit_claimed_by END WHERE id = $2`,
        [revision, id, session.instanceId],
      );
    },

    // Only while this replica still holds the message (or nobody does): once another replica took it over, a late
    // deferral or failure from here would move or end an edit that is in flight there.
    deferEdit: async (id, at) => {
      await session.query(`UPDATE deliveries SET edit_next_at = $1, edit_lease_until = 0, edit_claimed_by = NULL WHERE id = $2 AND ${heldHere(3)}`, [at, id, session.instanceId]);
    },

    rescheduleEdit: async (id, at, reason) => {
      await session.query(
        `UPDATE deliveries SET edit_next_at = $1, edit_attempts = edit_attempts + 1, edit_error = $4, edit_lease_until = 0, edit_claimed_by = NULL WHERE id = $2 AND ${heldHere(3)}`,
        [at, id, session.instanceId, toPgText(reason)],
      );
    },

    abandonEdit: async (id, revision, reason) => {
      await session.query(
        `UPDATE deliveries SET edit_done = GREATEST(edit_done, $1), edit_attempts = 0, edit_error = $4, edit_lease_until = 0, edit_claimed_by = NULL WHERE id = $2 AND ${heldHere(3)}`,
        [revision, id, session.instanceId, toPgText(reason)],
      );
    },

    threadParent: async (destination, detectionId, since, excludeAlertRow, episode) => {
      const row = (
        await session.query<{ id: number; message_ref: Record<string, string>; thread_ref: Record<string, string> | null }>(
          `SELECT d.id, d.message_ref, d.thread_ref FROM deliveries d JOIN alerts a ON a.id = d.alert_row
            WHERE d.destination = $1 AND a.detection_id = $2 AND a.received_at >= $3 AND a.id <> $4
              AND d.status = 'delivered' AND d.via = 'message' AND d.thread_parent IS NULL AND d.message_ref IS NOT NULL
              AND COALESCE((SELECT e.action FROM triage_events e WHERE e.alert_row = a.id AND e.action <> 'assign' ORDER BY e.id DESC LIMIT 1), '') <> 'resolve'
              AND NOT EXISTS (SELECT 1 FROM alert_episodes ep WHERE ep.alert_row = a.id AND ep.state = 'resolved' AND NOT (ep.source = $5 AND ep.episode = $6))
            ORDER BY d.id DESC LIMIT 1`,
          [destination, toPgText(storedId(detectionId)), since, excludeAlertRow, episode?.source ?? '', toPgText(episode?.key ?? '')],
        )
      ).rows[0];
      return row ? { id: row.id, ref: fromPgRecord(row.message_ref)!, threadRef: fromPgRecord(row.thread_ref) } : null;
    },

    recordReply: (parentId, replyId, threadRef) => recordReply(session, parentId, replyId, threadRef),

    enqueueSync: async (alertRow, operation, argument, now) => {
      await session.query(
        `INSERT INTO panther_sync (alert_row, operation, argument_json, status, next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, 'pending', $4, $4, $4)`,
        [alertRow, operation, toPgRecord(argument), now],
      );
    },

    // Leased like edits: one replica writes each job back; the alert's next job waits until this one is finished.
    dueSyncs: async (now, limit, leaseMs) => {
      const rows = await session.query<{ id: number; alert_row: number; alert_id: string | null; operation: SyncJob['operation']; argument_json: Record<string, string>; attempts: number; created_at: number }>(
        `WITH picked AS (
           SELECT p.id FROM panther_sync p
            WHERE p.status = 'pending' AND p.next_attempt_at <= $1 AND p.lease_until <= $1
              -- Only the oldest pending job of each alert: Panther must see one alert's actions in click order.
              AND p.id = (SELECT MIN(q.id) FROM panther_sync q WHERE q.alert_row = p.alert_row AND q.status = 'pending')
            ORDER BY p.id LIMIT $2 FOR UPDATE OF p SKIP LOCKED
         ), leased AS (
           UPDATE panther_sync t SET claimed_by = $3, lease_until = $4 FROM picked WHERE t.id = picked.id
           RETURNING t.id, t.alert_row, t.operation, t.argument_json, t.attempts, t.created_at
         )
         SELECT l.id, l.alert_row, a.alert_id, l.operation, l.argument_json, l.attempts, l.created_at FROM leased l JOIN alerts a ON a.id = l.alert_row ORDER BY l.id`,
        [now, limit, session.instanceId, now + leaseMs],
      );
      return rows.rows.map((r) => ({ id: r.id, alertRow: r.alert_row, alertId: fromPgText(r.alert_id), operation: r.operation, argument: fromPgRecord(r.argument_json)!, attempts: r.attempts, createdAt: r.created_at }));
    },

    nextSyncAt: async () => (await session.query<{ at: number | null }>(`SELECT MIN(GREATEST(next_attempt_at, lease_until)) AS at FROM panther_sync WHERE status = 'pending'`)).rows[0]?.at ?? undefined,

    // Only by the replica holding the job's lease, as recordAttempt: once another replica took the job over (this
    // one's lease ran out), that one's outcome stands; a late one from here must not undo it (a `dead` over its
    // `done` showed "Not synced to Panther" on a synced alert).
    finishSync: (job, outcome, now) =>
      session.atomic(async (s) => {
        const before = await pantherView(s, job.alertRow);
        const holder = s.instanceId;
        let done;
        if (outcome.kind === 'done') {
          done = await s.query(`UPDATE panther_sync SET status = 'done', attempts = attempts + 1, last_error = NULL, updated_at = $1, lease_until = 0, claimed_by = NULL WHERE id = $2 AND claimed_by = $3`, [now, job.id, holder]);
        } else if (outcome.kind === 'retry') {
          done = await s.query(`UPDATE panther_sync SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2, updated_at = $3, lease_until = 0, claimed_by = NULL WHERE id = $4 AND claimed_by = $5`, [outcome.at, toPgText(outcome.reason), now, job.id, holder]);
        } else {
          done = await s.query(`UPDATE panther_sync SET status = 'dead', attempts = attempts + 1, last_error = $1, updated_at = $2, lease_until = 0, claimed_by = NULL WHERE id = $3 AND claimed_by = $4`, [toPgText(outcome.reason), now, job.id, holder]);
        }
        if (done.rowCount !== 1) return;
        const after = await pantherView(s, job.alertRow);
        // Only a failure is shown in messages, so only a change of failure re-renders them.
        const shown = (v: PantherSyncView | undefined) => (v?.state === 'failed' ? `${v.reason}${v.retrying}` : '');
        if (shown(before) !== shown(after)) await touchAlert(s, job.alertRow);
      }),
  };
}


/** Links a delivered reply to its parent, counts it, and schedules the parent's counter edit. */
export function recordReply(session: PgSession, parentId: number, replyId: number, threadRef: MessageRef | null): Promise<void> {
  return session.atomic(async (s) => {
    await s.query(`UPDATE deliveries SET thread_parent = $1 WHERE id = $2`, [parentId, replyId]);
    await s.query(
      `UPDATE deliveries SET thread_replies = thread_replies + 1, edit_wanted = edit_wanted + 1, edit_next_at = 0,
              thread_ref = COALESCE($1::jsonb, thread_ref) WHERE id = $2`,
      [threadRef ? toPgRecord(threadRef) : null, parentId],
    );
  });
}

/**
 * Failed while any job of the alert has an error (pending retry or dead); pending before the first answer. The
 * same fold as TriageStore's private pantherView (triage-store.ts), over the same rows.
 */
async function pantherView(session: PgSession, alertRow: number): Promise<PantherSyncView | undefined> {
  const rows = (await session.query<{ status: string; last_error: string | null }>(`SELECT status, last_error FROM panther_sync WHERE alert_row = $1 ORDER BY id`, [alertRow])).rows;
  if (rows.length === 0) return undefined;
  const failed = rows.filter((r) => r.last_error !== null && r.status !== 'done');
  const last = failed[failed.length - 1];
  if (last) return { state: 'failed', reason: fromPgText(last.last_error!), retrying: last.status === 'pending' };
  return rows.some((r) => r.status === 'pending') ? { state: 'pending' } : { state: 'synced' };
}
