import { StatementCache } from './statement-cache';
import type { Alert } from '../domain/alert';
import type { DigestEntry, MessageRef } from '../domain/delivery';

/** A digest message that is still open (the burst goes on), to be edited in place. */
export interface OpenDigest {
  id: number;
  ref: MessageRef;
  entries: DigestEntry[];
  openedAt: number;
  updatedAt: number;
}

export interface DigestCandidate {
  id: number;
  route: string;
  alert: Alert;
  attempts: number;
  createdAt: number;
}

export const toDigestEntry = (alert: Alert): DigestEntry => ({
  severity: alert.severity,
  title: alert.title,
  link: alert.link,
  detectionId: alert.detectionId,
  alertId: alert.alertId,
  createdAtMs: alert.createdAtMs,
});

/**
 * Outbox operations of the burst digest: measure a destination's backlog, lease the waiting rows, and record a
 * digest post/edit together with every row it covers (delivered-by-digest, with the digest's message ref).
 */
export class DigestStore extends StatementCache {
  /** Waiting (due, unleased) deliveries of `routes` for a destination: how many, and since when the oldest. */
  backlog(destination: string, routes: readonly string[], now: number): { count: number; oldestCreatedAt: number | null } {
    const row = this.sql(
        `SELECT COUNT(*) AS count, MIN(created_at) AS oldest FROM deliveries
          WHERE status = 'pending' AND destination = ? AND next_attempt_at <= ? AND lease_until <= ?
            AND route IN (SELECT value FROM json_each(?))`,
      )
      .get(destination, now, now, JSON.stringify(routes)) as { count: number; oldest: number | null };
    return { count: row.count, oldestCreatedAt: row.oldest };
  }

  /** Leases up to `limit` waiting deliveries of `routes` for a destination, oldest first. */
  leaseWaiting(destination: string, routes: readonly string[], limit: number, leaseMs: number, now: number): DigestCandidate[] {
    return this.db.transaction(() => {
      const rows = this.sql(
          `SELECT d.id, d.route, d.attempts, d.created_at, a.alert_json FROM deliveries d JOIN alerts a ON a.id = d.alert_row
            WHERE d.status = 'pending' AND d.destination = ? AND d.next_attempt_at <= ? AND d.lease_until <= ?
              AND d.route IN (SELECT value FROM json_each(?))
            ORDER BY d.created_at, d.id LIMIT ?`,
        )
        .all(destination, now, now, JSON.stringify(routes), limit) as { id: number; route: string; attempts: number; created_at: number; alert_json: string }[];
      const lease = this.sql(`UPDATE deliveries SET lease_until = ? WHERE id = ?`);
      for (const row of rows) lease.run(now + leaseMs, row.id);
      return rows.map((row) => ({ id: row.id, route: row.route, attempts: row.attempts, createdAt: row.created_at, alert: JSON.parse(row.alert_json) as Alert }));
    })();
  }

  /** The destination's digest updated at or after `since`, if any: the burst it belongs to is still going on. */
  open(destination: string, since: number): OpenDigest | null {
    const row = this.sql(`SELECT id, message_ref, entries_json, opened_at, updated_at FROM digests WHERE destination = ? AND updated_at >= ? ORDER BY id DESC LIMIT 1`)
      .get(destination, since) as { id: number; message_ref: string; entries_json: string; opened_at: number; updated_at: number } | undefined;
    if (!row) return null;
    return {
      id: row.id,
      ref: JSON.parse(row.message_ref) as MessageRef,
      entries: JSON.parse(row.entries_json) as DigestEntry[],
      openedAt: row.opened_at,
      updatedAt: row.updated_at,
    };
  }

  /**
   * Records a posted or edited digest and marks every covered delivery delivered-by-digest with the digest's
   * message reference, in one transaction. Returns the digest id.
   */
  record(digestId: number | null, destination: string, ref: MessageRef, entries: DigestEntry[], deliveryIds: number[], now: number): number {
    return this.db.transaction(() => {
      let id = digestId;
      if (id === null) {
        id = Number(
          this.sql(`INSERT INTO digests (destination, message_ref, entries_json, opened_at, updated_at) VALUES (?, ?, ?, ?, ?)`)
            .run(destination, JSON.stringify(ref), JSON.stringify(entries), now, now).lastInsertRowid,
        );
      } else {
        this.sql(`UPDATE digests SET entries_json = ?, updated_at = ? WHERE id = ?`).run(JSON.stringify(entries), now, id);
      }
      const messageRef = JSON.stringify({ ...ref, digestId: String(id) });
      const mark = this.sql(
        `UPDATE deliveries SET status = 'delivered', via = 'digest', message_ref = ?, delivered_at = ?, updated_at = ?,
                lease_until = 0, attempts = attempts + 1, last_reason = NULL WHERE id = ? AND status = 'pending'`,
      );
      for (const deliveryId of deliveryIds) mark.run(messageRef, now, now, deliveryId);
      return id;
    })();
  }
}
