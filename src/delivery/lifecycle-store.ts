import type { Alert } from '../domain/alert';
import type { OnResolved, RouteTarget } from '../routing/router';
import { StatementCache } from './statement-cache';
import { EscalationStore } from '../escalation/escalation-store';
import type { AcceptResult, DeliverySummary } from './status';

/**
 * Firing → resolved for label-based sources (Alertmanager, Grafana). Each accepted firing alert records its
 * episode (fingerprint + startsAt), and so does its resolution (resolved from the start: what is posted for it,
 * `onResolved: post` or no firing message to edit, is never a thread parent); a resolved alert of the same episode
 * then, per target route's `onResolved`:
 * - `update` (default): the firing alert's stored content becomes the resolved one and the firing message to
 *   that destination is scheduled for an edit (edit_wanted + 1: the message editor re-renders it, durably, the
 *   same way as a triage click). With no firing message to edit (the bridge started after it fired, it went to
 *   another destination, it died, or went out in a digest) the resolved alert is posted instead: the user should
 *   see it.
 * - `post`: a new message; `ignore`: nothing.
 * Runs inside the accept transaction of the outbox, so the whole POST commits or none of it. An episode row belongs
 * to its alert (foreign key): purge deletes both, and keeps both while the episode is firing.
 */
export class LifecycleStore extends StatementCache {
  private escalations: EscalationStore | undefined;

  /**
   * Accepts one alert: `insert` is the outbox's plain accept (alert row + one delivery per target, or the
   * duplicate answer). Alerts without an episode go straight through it.
   */
  accept(alert: Alert, targets: readonly RouteTarget[], insert: (targets: readonly RouteTarget[]) => AcceptResult, now: number): AcceptResult {
    if (!alert.episodeKey) return insert(targets);
    if (alert.status !== 'resolved') {
      const result = insert(targets);
      if (result.status === 'accepted') {
        // A plain INSERT: alert row ids are never reused (AUTOINCREMENT) and purge deletes an alert's episode with
        // it, so a row already there would be a broken store, to be seen, not papered over (it used to be: issue 14).
        this.sql(`INSERT INTO alert_episodes (alert_row, source, episode, state) VALUES (?, ?, ?, 'firing')`).run(this.rowOf(alert), alert.source, alert.episodeKey);
      }
      return result;
    }
    const firing = this.sql(
      `SELECT e.alert_row AS row, a.alert_json AS json FROM alert_episodes e JOIN alerts a ON a.id = e.alert_row
        WHERE e.source = ? AND e.episode = ? AND e.state = 'firing' ORDER BY e.alert_row DESC LIMIT 1`,
    ).get(alert.source, alert.episodeKey) as { row: number; json: string } | undefined;
    const plan = targets.map((target) => ({ target, mode: (target.onResolved ?? 'update') as OnResolved, edit: undefined as number | undefined }));
    for (const entry of plan) {
      if (entry.mode === 'update' && firing) entry.edit = this.editableDelivery(firing.row, entry.target.destination);
    }
    const posts = plan.filter((p) => p.mode === 'post' || (p.mode === 'update' && p.edit === undefined)).map((p) => p.target);
    const result = insert(posts);
    if (result.status === 'duplicate') return result;
    // Resolved at the source: no reminder of any of its firing alerts' messages escalates any more.
    (this.escalations ??= new EscalationStore(this.db)).stopEpisode(alert.source, alert.episodeKey, now);
    // The episode is over, whatever the routes do with its resolution (update, post or ignore), and for every
    // firing row it has (Grafana keys a firing notification on its content, so one episode can have several):
    // purge keeps the alerts of a firing episode forever, so a state left at 'firing' would never be purged.
    this.sql(`UPDATE alert_episodes SET state = 'resolved' WHERE source = ? AND episode = ? AND state = 'firing'`).run(alert.source, alert.episodeKey);
    // The resolution's own row belongs to the episode too, resolved: a message posted for it is no thread parent.
    this.sql(`INSERT INTO alert_episodes (alert_row, source, episode, state) VALUES (?, ?, ?, 'resolved')`).run(this.rowOf(alert), alert.source, alert.episodeKey);
    const edits = plan.filter((p) => p.edit !== undefined);
    if (firing && edits.length > 0) {
      const stored = JSON.parse(firing.json) as Alert;
      // The resolved content (it may carry updated annotations), under the firing alert's identity: its dedup
      // key is the Discord nonce of sends still pending.
      const resolved: Alert = { ...alert, dedupKey: stored.dedupKey };
      this.sql(`UPDATE alerts SET alert_json = ? WHERE id = ?`).run(JSON.stringify(resolved), firing.row);
      for (const { edit } of edits) {
        this.sql(`UPDATE deliveries SET edit_wanted = edit_wanted + 1, edit_next_at = 0, edit_attempts = 0 WHERE id = ?`).run(edit);
      }
    }
    const summary = (p: (typeof plan)[number]): DeliverySummary =>
      p.mode === 'ignore'
        ? { route: p.target.route, destination: p.target.destination, status: 'ignored' }
        : p.edit !== undefined
          ? { route: p.target.route, destination: p.target.destination, status: 'updated' }
          : { route: p.target.route, destination: p.target.destination, status: 'pending' };
    return { status: 'accepted', deliveries: plan.map(summary) };
  }

  /** The firing alert's delivery to `destination` whose message can still show the resolution. */
  private editableDelivery(alertRow: number, destination: string): number | undefined {
    const row = this.sql(
      `SELECT id FROM deliveries WHERE alert_row = ? AND destination = ? AND (status = 'pending' OR (status = 'delivered' AND via = 'message' AND message_ref IS NOT NULL))`,
    ).get(alertRow, destination) as { id: number } | undefined;
    return row?.id;
  }

  private rowOf(alert: Alert): number {
    return (this.sql(`SELECT id FROM alerts WHERE source = ? AND dedup_key = ?`).get(alert.source, alert.dedupKey) as { id: number }).id;
  }
}
