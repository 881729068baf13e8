import type { Alert } from '../domain/alert';
import type { MessageRef } from '../domain/delivery';
import { StatementCache } from '../delivery/statement-cache';
import type { DueReminder, EscalationState, EscalationStatus, EscalationStopReason, ReminderWrite } from './state';

/**
 * What closes an alert for escalation, as SQL on the alert row `row`: the newest acknowledge or resolve click (its
 * action, or NULL), and whether its source reported its episode resolved. Shared by both engines (the SQL is the
 * same on SQLite and PostgreSQL), so they agree on what "nobody acknowledged or resolved it" means.
 */
export const closedBy = (row: string) => `(SELECT e.action FROM triage_events e WHERE e.alert_row = ${row} AND e.action IN ('acknowledge', 'resolve') ORDER BY e.id DESC LIMIT 1)`;
export const sourceResolved = (row: string) => `EXISTS (SELECT 1 FROM alert_episodes ep WHERE ep.alert_row = ${row} AND ep.state = 'resolved')`;

/** Why a due reminder's alert no longer escalates, from the two reads above; undefined while it is open. */
export function closedReason(closed: string | null, resolvedAtSource: boolean | number): EscalationStopReason | undefined {
  if (closed === 'acknowledge' || closed === 'resolve') return closed;
  return resolvedAtSource ? 'source' : undefined;
}

/** The statement of {@link EscalationStore.state}, read for every message re-rendered on a route with triage. */
export const ESCALATION_STATE_SQL = `SELECT status, sent, due_at, stop_reason, last_error FROM escalations WHERE delivery_id = ?`;

/** Stops an alert's pending escalations (parameters: the reason, now, the alert row); both engines run it. */
export const STOP_ALERT_SQL = `UPDATE escalations SET status = 'stopped', stop_reason = ?, updated_at = ? WHERE alert_row = ? AND status = 'pending'`;

interface DueRow {
  id: number;
  delivery_id: number;
  alert_row: number;
  sent: number;
  attempts: number;
  due_at: number;
  route: string;
  destination: string;
  message_ref: string;
  thread_ref: string | null;
  alert_json: string;
  closed: string | null;
  resolved: number;
}

/**
 * Escalations on SQLite (escalation semantics: store-contract.ts EscalationOps). One process sends every reminder,
 * so nothing is leased. Every change the message shows (a reminder sent, stopped, failed) schedules an edit of that
 * message in the same transaction, as triage changes do.
 */
export class EscalationStore extends StatementCache {
  /**
   * The first reminder of a posted message, due at `firstAt`, unless its alert was acknowledged or resolved in the
   * meantime (a click on another copy, the source's resolution). Once per delivery. Call inside the transaction
   * that records the post.
   */
  schedule(deliveryId: number, firstAt: number, now: number): void {
    this.sql(
      `INSERT INTO escalations (delivery_id, alert_row, status, due_at, next_at, created_at, updated_at)
       SELECT d.id, d.alert_row, 'pending', ?, ?, ?, ? FROM deliveries d
        WHERE d.id = ? AND ${closedBy('d.alert_row')} IS NULL AND NOT ${sourceResolved('d.alert_row')}
       ON CONFLICT (delivery_id) DO NOTHING`,
    ).run(firstAt, firstAt, now, now, deliveryId);
  }

  /**
   * Due reminders, oldest first, at most `limit`. A due reminder whose alert was closed meanwhile (a race with a
   * click, which also stops it) is stopped here and its message scheduled for an edit, never returned.
   */
  due(now: number, limit: number): DueReminder[] {
    // Most passes find nothing due: a read first, so an idle loop never takes the write lock the accepts need.
    if (this.sql(`SELECT 1 FROM escalations INDEXED BY escalations_due WHERE status = 'pending' AND next_at <= ? LIMIT 1`).get(now) === undefined) return [];
    return this.db.transaction(() => {
      const rows = this.sql(
        `SELECT x.id, x.delivery_id, x.alert_row, x.sent, x.attempts, x.due_at, d.route, d.destination, d.message_ref, d.thread_ref, a.alert_json,
                ${closedBy('x.alert_row')} AS closed, ${sourceResolved('x.alert_row')} AS resolved
           FROM escalations x INDEXED BY escalations_due JOIN deliveries d ON d.id = x.delivery_id JOIN alerts a ON a.id = x.alert_row
          WHERE x.status = 'pending' AND x.next_at <= ? ORDER BY x.next_at, x.id LIMIT ?`,
      ).all(now, limit) as DueRow[];
      const due: DueReminder[] = [];
      for (const row of rows) {
        const reason = closedReason(row.closed, row.resolved);
        if (reason) this.stop(row.id, row.delivery_id, reason, now);
        else due.push(dueReminder(row));
      }
      return due;
    }).immediate();
  }

  /** When the next pending reminder is due (to try), or undefined when none is. */
  nextDueAt(): number | undefined {
    return ((this.sql(`SELECT MIN(next_at) AS at FROM escalations WHERE status = 'pending'`).get() as { at: number | null }).at) ?? undefined;
  }

  /** Records how the attempt at `reminder` ended; a reminder no longer pending as it was claimed is left alone. */
  record(reminder: DueReminder, write: ReminderWrite, now: number): void {
    this.db.transaction(() => {
      const pendingAsClaimed = `WHERE id = ? AND status = 'pending' AND sent = ?`;
      switch (write.kind) {
        case 'sent': {
          const done = this.sql(
            `UPDATE escalations SET sent = sent + 1, status = ?, due_at = COALESCE(?, due_at), next_at = COALESCE(?, next_at), attempts = 0,
                    last_error = NULL, updated_at = ? ${pendingAsClaimed}`,
          ).run(write.nextAt === null ? 'done' : 'pending', write.nextAt, write.nextAt, now, reminder.id, reminder.sent);
          if (done.changes === 0) return;
          this.touch(reminder.deliveryId);
          if (write.threadRef) this.sql(`UPDATE deliveries SET thread_ref = COALESCE(thread_ref, ?) WHERE id = ?`).run(JSON.stringify(write.threadRef), reminder.deliveryId);
          return;
        }
        case 'deferred':
          this.sql(`UPDATE escalations SET next_at = ?, updated_at = ? ${pendingAsClaimed}`).run(write.at, now, reminder.id, reminder.sent);
          return;
        case 'retry':
          this.sql(`UPDATE escalations SET next_at = ?, attempts = attempts + 1, last_error = ?, updated_at = ? ${pendingAsClaimed}`).run(write.at, write.reason, now, reminder.id, reminder.sent);
          return;
        case 'dead':
          if (this.sql(`UPDATE escalations SET status = 'dead', attempts = attempts + 1, last_error = ?, updated_at = ? ${pendingAsClaimed}`).run(write.reason, now, reminder.id, reminder.sent).changes > 0) {
            this.touch(reminder.deliveryId);
          }
          return;
        case 'stopped':
          if (this.sql(`UPDATE escalations SET status = 'stopped', stop_reason = ?, updated_at = ? ${pendingAsClaimed}`).run(write.reason, now, reminder.id, reminder.sent).changes > 0) {
            this.touch(reminder.deliveryId);
          }
          return;
      }
    }).immediate();
  }

  /**
   * Stops every pending escalation of an alert (a click acknowledged or resolved it): inside the click's
   * transaction, so no reminder is claimed after it. The caller schedules the edits of the alert's messages.
   */
  stopAlert(alertRow: number, reason: EscalationStopReason, now: number): void {
    this.sql(STOP_ALERT_SQL).run(reason, now, alertRow);
  }

  /**
   * Stops the pending escalations of a label-based episode's firing alerts, resolved by their source, and schedules
   * an edit of each of their messages (whatever the route's `onResolved`: the message's line must say it stopped).
   * Call before the episode is marked resolved, inside the resolve's accept.
   */
  stopEpisode(source: string, episode: string, now: number): void {
    const firing = `SELECT alert_row FROM alert_episodes WHERE source = ? AND episode = ? AND state = 'firing'`;
    this.sql(
      `UPDATE deliveries SET edit_wanted = edit_wanted + 1, edit_next_at = 0, edit_attempts = 0
        WHERE id IN (SELECT delivery_id FROM escalations WHERE status = 'pending' AND alert_row IN (${firing}))`,
    ).run(source, episode);
    this.sql(`UPDATE escalations SET status = 'stopped', stop_reason = 'source', updated_at = ? WHERE status = 'pending' AND alert_row IN (${firing})`).run(now, source, episode);
  }

  /** The escalation of one posted message, for its line; undefined when it has none. */
  state(deliveryId: number): EscalationState | undefined {
    const row = this.sql(ESCALATION_STATE_SQL).get(deliveryId) as { status: EscalationStatus; sent: number; due_at: number; stop_reason: string | null; last_error: string | null } | undefined;
    return row && escalationState(row);
  }

  /** Stops one escalation whose alert closed, and schedules the edit of its message's line. */
  private stop(id: number, deliveryId: number, reason: EscalationStopReason, now: number): void {
    this.sql(`UPDATE escalations SET status = 'stopped', stop_reason = ?, updated_at = ? WHERE id = ?`).run(reason, now, id);
    this.touch(deliveryId);
  }

  /** The message must show its escalation's new state. */
  private touch(deliveryId: number): void {
    this.sql(`UPDATE deliveries SET edit_wanted = edit_wanted + 1, edit_next_at = 0, edit_attempts = 0 WHERE id = ?`).run(deliveryId);
  }
}

/** A row of `escalations` as the message line reads it (both engines). */
export function escalationState(row: { status: EscalationStatus; sent: number; due_at: number; stop_reason: string | null; last_error: string | null }): EscalationState {
  return {
    status: row.status,
    sent: row.sent,
    dueAt: row.due_at,
    ...(row.stop_reason ? { stopReason: row.stop_reason as EscalationStopReason } : {}),
    ...(row.last_error ? { lastError: row.last_error } : {}),
  };
}

function dueReminder(row: DueRow): DueReminder {
  return {
    id: row.id,
    deliveryId: row.delivery_id,
    alertRow: row.alert_row,
    alert: JSON.parse(row.alert_json) as Alert,
    route: row.route,
    destination: row.destination,
    ref: JSON.parse(row.message_ref) as MessageRef,
    threadRef: row.thread_ref ? (JSON.parse(row.thread_ref) as MessageRef) : null,
    sent: row.sent,
    attempts: row.attempts,
    dueAt: row.due_at,
  };
}
