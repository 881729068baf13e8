import { storedId } from '../domain/stored-id';
import { StatementCache } from '../delivery/statement-cache';
import type { Alert } from '../domain/alert';
import type { MessageRef } from '../domain/delivery';
import { ESCALATION_STATE_SQL, escalationState, STOP_ALERT_SQL } from '../escalation/escalation-store';
import { SILENCE_VIEW_SQL, silenceViewOf, type SilenceRow } from './silence-store';
import { foldTriage, type PantherSyncView, type TriageAction, type TriageActor, type TriageEvent, type TriageView } from './state';

/** The delivery a button was on: enough to check the route's allow-list and find the alert. */
export interface DeliveryInfo {
  id: number;
  alertRow: number;
  alertId: string | null;
  /** The alert's source: only Panther alerts are written back to Panther. */
  source: string;
  route: string;
  destination: string;
  status: string;
}

/** A posted message whose content is behind its alert's state (a click, a thread reply, a sync problem). */
export interface StaleMessage {
  id: number;
  alertRow: number;
  alert: Alert;
  route: string;
  destination: string;
  template?: string;
  ref: MessageRef;
  /** The revision this edit brings the message to (its block ids change with it). */
  revision: number;
  attempts: number;
}

/** The open parent a repeat is threaded under. */
export interface ThreadParent {
  id: number;
  ref: MessageRef;
  threadRef: MessageRef | null;
}

/** One firing → resolved episode of a label-based source (alert_episodes' source and episode). */
export interface EpisodeRef {
  source: string;
  key: string;
}

/** One pending Panther write-back. */
export interface SyncJob {
  id: number;
  alertRow: number;
  alertId: string | null;
  operation: 'status' | 'assignee';
  argument: Record<string, string>;
  attempts: number;
  createdAt: number;
}

/**
 * The reads behind {@link TriageStore.view}, run for every message rendered with triage buttons (exported so their
 * query plans can be checked: each is an index lookup, never a table scan).
 */
export const TRIAGE_VIEW_SQL = {
  events: `SELECT id, action, actor_platform, actor_id, actor_name, at FROM triage_events WHERE alert_row = ? ORDER BY id`,
  replies: `SELECT thread_replies FROM deliveries WHERE id = ?`,
  panther: `SELECT status, last_error FROM panther_sync WHERE alert_row = ? ORDER BY id`,
  escalation: ESCALATION_STATE_SQL,
  silence: SILENCE_VIEW_SQL,
} as const;

const parseRef = (text: string | null): MessageRef | null => (text ? (JSON.parse(text) as MessageRef) : null);

/**
 * Outbox operations for triage: record clicks (idempotent per interaction id), fold an alert's state, find
 * messages that need editing, and keep thread and Panther write-back bookkeeping. Everything that changes what
 * a message should show bumps `edit_wanted` on every delivery of the alert in the same transaction, so an edit
 * can never be lost to a crash between the change and the edit.
 */
export class TriageStore extends StatementCache {
  delivery(id: number): DeliveryInfo | undefined {
    const row = this.sql(
      `SELECT d.id, d.alert_row, a.alert_id, a.source, d.route, d.destination, d.status FROM deliveries d JOIN alerts a ON a.id = d.alert_row WHERE d.id = ?`,
    ).get(id) as { id: number; alert_row: number; alert_id: string | null; source: string; route: string; destination: string; status: string } | undefined;
    return row && { id: row.id, alertRow: row.alert_row, alertId: row.alert_id, source: row.source, route: row.route, destination: row.destination, status: row.status };
  }

  /**
   * Records one click and schedules an edit of every message of the alert. A second record with the same
   * `interactionId` (a replayed or re-delivered interaction) changes nothing and returns `recorded: false`.
   */
  record(input: { alertRow: number; deliveryId: number; action: TriageAction; actor: TriageActor; interactionId?: string; at: number }): { recorded: boolean; seq?: number } {
    return this.db.transaction(() => {
      const inserted = this.sql(
        `INSERT INTO triage_events (alert_row, action, actor_platform, actor_id, actor_name, delivery_id, interaction_id, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (interaction_id) DO NOTHING`,
      ).run(input.alertRow, input.action, input.actor.platform, input.actor.id, input.actor.name, input.deliveryId, input.interactionId ?? null, input.at);
      if (inserted.changes === 0) return { recorded: false };
      // An acknowledgement or resolution from any copy stops the reminders of every copy, in the same transaction.
      if (input.action !== 'assign') this.sql(STOP_ALERT_SQL).run(input.action, input.at, input.alertRow);
      this.touchAlert(input.alertRow);
      return { recorded: true, seq: Number(inserted.lastInsertRowid) };
    }).immediate();
  }

  /** Every message of the alert (posted or still to post) must show the new state. */
  touchAlert(alertRow: number): void {
    this.sql(`UPDATE deliveries SET edit_wanted = edit_wanted + 1, edit_next_at = 0, edit_attempts = 0 WHERE alert_row = ?`).run(alertRow);
  }

  /** The state a delivery's message should show now. */
  view(alertRow: number, deliveryId?: number): TriageView {
    const rows = this.sql(TRIAGE_VIEW_SQL.events).all(alertRow) as { id: number; action: TriageAction; actor_platform: 'slack' | 'discord'; actor_id: string; actor_name: string; at: number }[];
    const events: TriageEvent[] = rows.map((r) => ({ seq: r.id, action: r.action, actor: { platform: r.actor_platform, id: r.actor_id, name: r.actor_name }, at: r.at }));
    const replies = deliveryId === undefined ? 0 : ((this.sql(TRIAGE_VIEW_SQL.replies).get(deliveryId) as { thread_replies: number } | undefined)?.thread_replies ?? 0);
    const panther = this.pantherView(alertRow);
    const silence = this.sql(TRIAGE_VIEW_SQL.silence).get(alertRow) as SilenceRow | undefined;
    const escalation = deliveryId === undefined ? undefined : (this.sql(TRIAGE_VIEW_SQL.escalation).get(deliveryId) as Parameters<typeof escalationState>[0] | undefined);
    return foldTriage(events, {
      threadReplies: replies,
      ...(panther ? { panther } : {}),
      ...(silence ? { silence: silenceViewOf(silence) } : {}),
      ...(escalation ? { escalation: escalationState(escalation) } : {}),
    });
  }

  // Both editor queries name the partial index: left to itself SQLite chose the status index and walked every
  // delivered row of the store's history once a second (~1 ms per 6,000 rows, growing with the history).
  /** Posted messages behind their state and due for an edit, oldest first. */
  staleMessages(now: number, limit: number): StaleMessage[] {
    const rows = this.sql(
      `SELECT d.id, d.alert_row, d.route, d.destination, d.template, d.message_ref, d.edit_wanted, d.edit_attempts, a.alert_json
         FROM deliveries d INDEXED BY deliveries_stale JOIN alerts a ON a.id = d.alert_row
        WHERE d.edit_wanted > d.edit_done AND d.edit_next_at <= ? AND d.status = 'delivered' AND d.via = 'message' AND d.message_ref IS NOT NULL
        ORDER BY d.edit_next_at, d.id LIMIT ?`,
    ).all(now, limit) as { id: number; alert_row: number; route: string; destination: string; template: string | null; message_ref: string; edit_wanted: number; edit_attempts: number; alert_json: string }[];
    return rows.map((r) => ({
      id: r.id,
      alertRow: r.alert_row,
      alert: JSON.parse(r.alert_json) as Alert,
      route: r.route,
      destination: r.destination,
      ...(r.template ? { template: r.template } : {}),
      ref: parseRef(r.message_ref)!,
      revision: r.edit_wanted,
      attempts: r.edit_attempts,
    }));
  }

  /** Earliest moment a stale message becomes due (for the editor's sleep), or undefined. */
  nextEditAt(): number | undefined {
    const row = this.sql(
      `SELECT MIN(edit_next_at) AS at FROM deliveries INDEXED BY deliveries_stale WHERE edit_wanted > edit_done AND status = 'delivered' AND via = 'message' AND message_ref IS NOT NULL`,
    ).get() as { at: number | null };
    return row.at ?? undefined;
  }

  /** The message now shows `revision` (a later change keeps it stale). */
  markEdited(id: number, revision: number): void {
    this.sql(`UPDATE deliveries SET edit_done = MAX(edit_done, ?), edit_attempts = 0, edit_error = NULL WHERE id = ?`).run(revision, id);
  }

  /** Moves a due edit to `at` without counting an attempt (the channel's pace had no room for it). */
  deferEdit(id: number, at: number): void {
    this.sql(`UPDATE deliveries SET edit_next_at = ? WHERE id = ?`).run(at, id);
  }

  rescheduleEdit(id: number, at: number, reason: string): void {
    this.sql(`UPDATE deliveries SET edit_next_at = ?, edit_attempts = edit_attempts + 1, edit_error = ? WHERE id = ?`).run(at, reason, id);
  }

  /** Gives up on bringing this message to `revision` (the platform refused for good); a later change tries again. */
  abandonEdit(id: number, revision: number, reason: string): void {
    this.sql(`UPDATE deliveries SET edit_done = MAX(edit_done, ?), edit_attempts = 0, edit_error = ? WHERE id = ?`).run(revision, reason, id);
  }

  /**
   * The message a repeat should reply under: the newest top-level message of the same detection delivered to
   * `destination` since `since`, whose alert is not resolved (by a click, or by its source: a new firing after a
   * resolution starts a new message, and a resolved forum post may be archived), nor a resolution posted as a
   * message of its own (its row is a resolved episode row too: lifecycle-store.ts). Except for `episode`'s own
   * messages: the delivery is that episode's resolution, posted as a message, and it replies under them.
   */
  threadParent(destination: string, detectionId: string, since: number, excludeAlertRow: number, episode?: EpisodeRef): ThreadParent | null {
    const row = this.sql(
      `SELECT d.id, d.message_ref, d.thread_ref FROM deliveries d JOIN alerts a ON a.id = d.alert_row
        WHERE d.destination = ? AND a.detection_id = ? AND a.received_at >= ? AND a.id <> ?
          AND d.status = 'delivered' AND d.via = 'message' AND d.thread_parent IS NULL AND d.message_ref IS NOT NULL
          AND COALESCE((SELECT e.action FROM triage_events e WHERE e.alert_row = a.id AND e.action <> 'assign' ORDER BY e.id DESC LIMIT 1), '') <> 'resolve'
          AND NOT EXISTS (SELECT 1 FROM alert_episodes ep WHERE ep.alert_row = a.id AND ep.state = 'resolved' AND NOT (ep.source = ? AND ep.episode = ?))
        ORDER BY d.id DESC LIMIT 1`,
    ).get(destination, storedId(detectionId), since, excludeAlertRow, episode?.source ?? '', episode?.key ?? '') as
      | { id: number; message_ref: string; thread_ref: string | null }
      | undefined;
    return row ? { id: row.id, ref: parseRef(row.message_ref)!, threadRef: parseRef(row.thread_ref) } : null;
  }

  /** Links a delivered reply to its parent, counts it, and schedules the parent's counter edit. */
  recordReply(parentId: number, replyId: number, threadRef: MessageRef | null): void {
    this.db.transaction(() => {
      this.sql(`UPDATE deliveries SET thread_parent = ? WHERE id = ?`).run(parentId, replyId);
      this.sql(
        `UPDATE deliveries SET thread_replies = thread_replies + 1, edit_wanted = edit_wanted + 1, edit_next_at = 0,
                thread_ref = COALESCE(?, thread_ref) WHERE id = ?`,
      ).run(threadRef ? JSON.stringify(threadRef) : null, parentId);
    }).immediate();
  }

  // ---- Panther write-back -------------------------------------------------------------------------------

  enqueueSync(alertRow: number, operation: SyncJob['operation'], argument: Record<string, string>, now: number): void {
    this.sql(
      `INSERT INTO panther_sync (alert_row, operation, argument_json, status, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, 'pending', ?, ?, ?)`,
    ).run(alertRow, operation, JSON.stringify(argument), now, now, now);
  }

  dueSyncs(now: number, limit: number): SyncJob[] {
    const rows = this.sql(
      `SELECT p.id, p.alert_row, a.alert_id, p.operation, p.argument_json, p.attempts, p.created_at FROM panther_sync p JOIN alerts a ON a.id = p.alert_row
        WHERE p.status = 'pending' AND p.next_attempt_at <= ?
          -- Only the oldest pending job of each alert: Panther must see one alert's actions in click order.
          AND p.id = (SELECT MIN(q.id) FROM panther_sync q WHERE q.alert_row = p.alert_row AND q.status = 'pending')
        ORDER BY p.id LIMIT ?`,
    ).all(now, limit) as { id: number; alert_row: number; alert_id: string | null; operation: SyncJob['operation']; argument_json: string; attempts: number; created_at: number }[];
    return rows.map((r) => ({ id: r.id, alertRow: r.alert_row, alertId: r.alert_id, operation: r.operation, argument: JSON.parse(r.argument_json) as Record<string, string>, attempts: r.attempts, createdAt: r.created_at }));
  }

  nextSyncAt(): number | undefined {
    return ((this.sql(`SELECT MIN(next_attempt_at) AS at FROM panther_sync WHERE status = 'pending'`).get() as { at: number | null }).at) ?? undefined;
  }

  /**
   * Records a write-back outcome. Messages are re-rendered only when what they show changes: the first
   * failure, a different failure, or success after a failure.
   */
  finishSync(job: SyncJob, outcome: { kind: 'done' } | { kind: 'retry'; at: number; reason: string } | { kind: 'dead'; reason: string }, now: number): void {
    this.db.transaction(() => {
      const before = this.pantherView(job.alertRow);
      if (outcome.kind === 'done') this.sql(`UPDATE panther_sync SET status = 'done', attempts = attempts + 1, last_error = NULL, updated_at = ? WHERE id = ?`).run(now, job.id);
      else if (outcome.kind === 'retry') this.sql(`UPDATE panther_sync SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?`).run(outcome.at, outcome.reason, now, job.id);
      else this.sql(`UPDATE panther_sync SET status = 'dead', attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ?`).run(outcome.reason, now, job.id);
      const after = this.pantherView(job.alertRow);
      // Only a failure is shown in messages, so only a change of failure re-renders them.
      const shown = (v: PantherSyncView | undefined) => (v?.state === 'failed' ? `${v.reason}${v.retrying}` : '');
      if (shown(before) !== shown(after)) this.touchAlert(job.alertRow);
    }).immediate();
  }

  /** Failed while any job of the alert has an error (pending retry or dead); pending before the first answer. */
  private pantherView(alertRow: number): PantherSyncView | undefined {
    const rows = this.sql(TRIAGE_VIEW_SQL.panther).all(alertRow) as { status: string; last_error: string | null }[];
    if (rows.length === 0) return undefined;
    const failed = rows.filter((r) => r.last_error !== null && r.status !== 'done');
    const last = failed[failed.length - 1];
    if (last) return { state: 'failed', reason: last.last_error!, retrying: last.status === 'pending' };
    return rows.some((r) => r.status === 'pending') ? { state: 'pending' } : { state: 'synced' };
  }
}
