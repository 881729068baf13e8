import type Database from 'better-sqlite3';
import type { Alert } from '../domain/alert';
import { storedId } from '../domain/stored-id';
import type { DeliveryStatus } from './status';

/** One delivery as the ledger shows it: where an alert went, how it went, and the message it became. */
export interface LedgerEntry {
  id: number;
  /** Row id of the alert in the outbox (shared by its deliveries; what the web console opens an alert by). */
  alertRow: number;
  alertId: string | null;
  source: string;
  severity: string;
  title: string;
  route: string;
  destination: string;
  status: DeliveryStatus;
  attempts: number;
  rateLimited: number;
  lastReason: string | null;
  /** Platform message reference ({channel, ts} Slack; {channelId, messageId} Discord), once delivered. */
  messageRef: Record<string, string> | null;
  receivedAt: string;
  updatedAt: string;
  deliveredAt: string | null;
  nextAttemptAt: string | null;
}

export interface LedgerFilter {
  status?: DeliveryStatus;
  /** Source alert id (Panther alertId). */
  alertId?: string;
  /** Outbox row id of the alert. */
  alertRow?: number;
  source?: string;
  severity?: string;
  destination?: string;
  /** Case-insensitive substring of the title, the source alert id or the detection id. */
  text?: string;
  limit?: number;
}

export interface RequeueResult {
  requeued: number[];
  /** Deliveries left alone, with why (already delivered: a retry must never post a second message). */
  skipped: { id: number; reason: string }[];
}

interface Row {
  id: number;
  alert_row: number;
  alert_id: string | null;
  source: string;
  severity: string;
  title: string;
  route: string;
  destination: string;
  status: DeliveryStatus;
  attempts: number;
  rate_limited: number;
  last_reason: string | null;
  message_ref: string | null;
  received_at: number;
  updated_at: number;
  delivered_at: number | null;
  next_attempt_at: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

const PURGED = `SELECT id FROM temp.purged_alerts`;

/**
 * The statements of {@link Ledger.purge}, in order (exported so their query plans can be checked: each finds its
 * rows through an index, never by reading a whole table).
 */
export const PURGE_SQL = {
  prepare: `CREATE TEMP TABLE IF NOT EXISTS purged_alerts (id INTEGER PRIMARY KEY); DELETE FROM temp.purged_alerts;`,
  // `+status`: look the rows up by their alert, never by status (left to itself SQLite chose the status index and
  // walked every pending delivery once per alert). An alert of a firing episode is kept whatever its age:
  // Alertmanager and Grafana re-send it every repeat interval until it resolves, and only its row makes that
  // repeat a duplicate (and gives its resolve the message to edit). So is one with an edit still to make (a resolve
  // or a click not yet shown because the platform was rate-limiting or down): its message would stay stale. And
  // one with a reminder still to send (an escalation nobody acknowledged yet): purging it would cancel the page. And
  // one with a silence from chat being made, holding or being lifted: its Unsilence button must keep working.
  choose: `INSERT INTO temp.purged_alerts (id)
             SELECT a.id FROM alerts a WHERE a.received_at < ?
                AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.alert_row = a.id AND (+d.status = 'pending' OR d.edit_wanted > d.edit_done))
                AND NOT EXISTS (SELECT 1 FROM panther_sync p WHERE p.alert_row = a.id AND +p.status = 'pending')
                AND NOT EXISTS (SELECT 1 FROM alert_episodes ep WHERE ep.alert_row = a.id AND ep.state = 'firing')
                AND NOT EXISTS (SELECT 1 FROM escalations x WHERE x.alert_row = a.id AND +x.status = 'pending')
                AND NOT EXISTS (SELECT 1 FROM silences s WHERE s.alert_row = a.id AND s.state IN ('creating', 'active', 'expiring'))`,
  /** What belongs to a purged alert and refers to it (before the alert row, for the foreign keys). */
  belongings: [
    `DELETE FROM triage_events WHERE alert_row IN (${PURGED})`,
    `DELETE FROM panther_sync WHERE alert_row IN (${PURGED})`,
    `DELETE FROM silences WHERE alert_row IN (${PURGED})`,
    `DELETE FROM alert_episodes WHERE alert_row IN (${PURGED})`,
    `DELETE FROM escalations WHERE alert_row IN (${PURGED})`,
  ],
  deliveries: `DELETE FROM deliveries WHERE alert_row IN (${PURGED})`,
  alerts: `DELETE FROM alerts WHERE id IN (${PURGED})`,
  digests: `DELETE FROM digests WHERE updated_at < ?`,
  done: `DELETE FROM temp.purged_alerts;`,
} as const;

/** How long a resend from the console or the admin API waits for a lock held elsewhere (operator-ledger.ts). */
export const REQUEUE_LOCK_WAIT_MS = 5000;

/**
 * Read and repair access to the outbox for operators (`outbox` CLI, admin HTTP): list deliveries, requeue dead
 * ones, purge old history. Safe to use from another process while `serve` runs (SQLite WAL).
 */
export class Ledger {
  constructor(private readonly db: Database.Database) {}

  list(filter: LedgerFilter = {}): LedgerEntry[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.status) {
      where.push('d.status = ?');
      params.push(filter.status);
    }
    if (filter.alertId) {
      where.push('a.alert_id = ?');
      params.push(storedId(filter.alertId));
    }
    for (const [column, value] of [['d.alert_row', filter.alertRow], ['a.source', filter.source], ['a.severity', filter.severity], ['d.destination', filter.destination]] as const) {
      if (value === undefined) continue;
      where.push(`${column} = ?`);
      params.push(value);
    }
    if (filter.text) {
      // LIKE with the wildcards of the user's text escaped: "100%" searches for "100%", not "100" and anything.
      const like = `%${filter.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where.push(`(a.title LIKE ? ESCAPE '\\' OR a.alert_id LIKE ? ESCAPE '\\' OR a.detection_id LIKE ? ESCAPE '\\')`);
      params.push(like, like, like);
    }
    const sql = `SELECT d.id, d.alert_row, a.alert_id, a.source, a.severity, a.title, d.route, d.destination, d.status, d.attempts,
                        d.rate_limited, d.last_reason, d.message_ref, a.received_at, d.updated_at, d.delivered_at, d.next_attempt_at
                   FROM deliveries d JOIN alerts a ON a.id = d.alert_row
                  ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
                  ORDER BY d.id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...params, filter.limit ?? 100) as Row[];
    return rows.map((row) => ({
      id: row.id,
      alertRow: row.alert_row,
      alertId: row.alert_id,
      source: row.source,
      severity: row.severity,
      title: row.title,
      route: row.route,
      destination: row.destination,
      status: row.status,
      attempts: row.attempts,
      rateLimited: row.rate_limited,
      lastReason: row.last_reason,
      messageRef: row.message_ref ? (JSON.parse(row.message_ref) as Record<string, string>) : null,
      receivedAt: iso(row.received_at),
      updatedAt: iso(row.updated_at),
      deliveredAt: row.delivered_at === null ? null : iso(row.delivered_at),
      nextAttemptAt: row.status === 'pending' ? iso(row.next_attempt_at) : null,
    }));
  }

  /** The alert as stored at accept (what the worker formats), or undefined for an unknown row. */
  alert(alertRow: number): Alert | undefined {
    const row = this.db.prepare(`SELECT alert_json FROM alerts WHERE id = ?`).get(alertRow) as { alert_json: string } | undefined;
    return row ? (JSON.parse(row.alert_json) as Alert) : undefined;
  }

  /**
   * Puts dead deliveries back in the queue (attempts reset, due now). Delivered ones are never requeued (that
   * would post a second message) unless `options.resendDelivered` asks for exactly that; pending ones are
   * already queued.
   */
  requeue(ids: number[] | 'all-dead', now = Date.now(), options: { resendDelivered?: boolean } = {}): RequeueResult {
    return this.db.transaction((): RequeueResult => {
      const targets =
        ids === 'all-dead'
          ? (this.db.prepare(`SELECT id, status FROM deliveries WHERE status = 'dead'`).all() as { id: number; status: DeliveryStatus }[])
          : ids.map((id) => (this.db.prepare(`SELECT id, status FROM deliveries WHERE id = ?`).get(id) as { id: number; status: DeliveryStatus } | undefined) ?? { id, status: 'missing' as const });
      const result: RequeueResult = { requeued: [], skipped: [] };
      const requeue = this.db.prepare(
        // created_at restarts too: the max age counts from the resend, or a resent delivery would die at once.
        `UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, lease_until = 0, updated_at = ?, created_at = ? WHERE id = ? AND status IN ('dead', ?)`,
      );
      // 'dead' twice when delivered ones stay untouched: the IN list then names no second status.
      const alsoDelivered = options.resendDelivered === true && ids !== 'all-dead' ? 'delivered' : 'dead';
      for (const target of targets) {
        const wanted = target.status === 'dead' || (target.status === 'delivered' && alsoDelivered === 'delivered');
        if (wanted && requeue.run(now, now, now, target.id, alsoDelivered).changes === 1) result.requeued.push(target.id);
        else if (target.status === 'delivered') result.skipped.push({ id: target.id, reason: 'already delivered; not sent again' });
        else if (target.status === 'pending') result.skipped.push({ id: target.id, reason: 'already pending' });
        else result.skipped.push({ id: target.id, reason: 'no such delivery' });
      }
      return result;
    }).immediate();
  }

  /**
   * Deletes finished history older than `olderThanMs`: alerts whose deliveries are all delivered or dead, that
   * have no Panther write-back pending and whose episode (Alertmanager, Grafana) is not still firing, with
   * everything that belongs to them (deliveries, triage events, write-back jobs, episodes), and digests not updated
   * since the cutoff. Pending work and still-firing alerts are never purged, whatever their age. A purged alert's
   * dedup key is forgotten too: a Panther retry of it (Panther retries for under an hour) would post again. Row ids are never reused (AUTOINCREMENT), so nothing left in a
   * message reference or a log line can ever point at a later alert.
   */
  purge(olderThanMs: number, now = Date.now()): { alerts: number; deliveries: number; digests: number } {
    return this.db.transaction(() => {
      const cutoff = now - olderThanMs;
      // The purged alerts are chosen once: every delete below then removes exactly their rows.
      this.db.exec(PURGE_SQL.prepare);
      this.db.prepare(PURGE_SQL.choose).run(cutoff);
      for (const sql of PURGE_SQL.belongings) this.db.prepare(sql).run();
      const deliveries = this.db.prepare(PURGE_SQL.deliveries).run().changes;
      const alerts = this.db.prepare(PURGE_SQL.alerts).run().changes;
      const digests = this.db.prepare(PURGE_SQL.digests).run(cutoff).changes;
      this.db.exec(PURGE_SQL.done);
      return { alerts, deliveries, digests };
    }).immediate();
  }
}
