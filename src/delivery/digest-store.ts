import { StatementCache } from './statement-cache';
import type { Alert, Severity } from '../domain/alert';
import { STORED_ID_MAX } from '../domain/stored-id';
import type { DigestEntry, MessageRef } from '../domain/delivery';
import { MAX_DIGEST_LINK, type DigestSummary } from '../destinations/digest-format';

/**
 * Byte bounds of the columns a digest reads. Rows accepted now hold at most STORED_ID_MAX / MAX_DIGEST_LINK
 * characters there (4 bytes each at most); rows of older versions may hold anything. `octet_length` of a column
 * comes from the record header, so a value over the bound is never read (`length` of text read all of it, for
 * each of up to 5,000 rows, inside the lease).
 */
const ID_BYTES_MAX = STORED_ID_MAX * 4;
const LINK_BYTES_MAX = MAX_DIGEST_LINK * 4;

/** A digest message that is still open (the burst goes on), to be edited in place. */
export interface OpenDigest {
  id: number;
  ref: MessageRef;
  summary: DigestSummary;
  openedAt: number;
  updatedAt: number;
}

export interface DigestCandidate {
  id: number;
  route: string;
  /** What a log line of the row names (the full alert is never read for a digest). */
  alert: Pick<Alert, 'alertId' | 'source'>;
  entry: DigestEntry;
  attempts: number;
  createdAt: number;
}

interface WaitingRow {
  id: number;
  route: string;
  attempts: number;
  created_at: number;
  alert_id: string | null;
  source: string;
  severity: Severity;
  title: string;
  link: string;
  created_at_ms: number;
}

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

  /**
   * Leases up to `limit` waiting deliveries of `routes` for a destination, oldest first. Reads only the columns
   * a digest lists (title, alert id and link are bounded at accept; an over-long value of an older row is not read), never the stored alert:
   * parsing thousands of alerts of up to 1 MiB each to read a few fields made a digest cost gigabytes.
   */
  leaseWaiting(destination: string, routes: readonly string[], limit: number, leaseMs: number, now: number): DigestCandidate[] {
    return this.db.transaction(() => {
      const rows = this.sql(
          `SELECT d.id, d.route, d.attempts, d.created_at, a.source, a.severity, a.title, a.created_at_ms,
                  CASE WHEN octet_length(a.alert_id) <= ${ID_BYTES_MAX} THEN a.alert_id ELSE '[too long]' END AS alert_id,
                  CASE WHEN octet_length(a.link) <= ${LINK_BYTES_MAX} AND length(a.link) <= ${MAX_DIGEST_LINK} THEN a.link ELSE '' END AS link
             FROM deliveries d JOIN alerts a ON a.id = d.alert_row
            WHERE d.status = 'pending' AND d.destination = ? AND d.next_attempt_at <= ? AND d.lease_until <= ?
              AND d.route IN (SELECT value FROM json_each(?))
            ORDER BY d.created_at, d.id LIMIT ?`,
        )
        .all(destination, now, now, JSON.stringify(routes), limit) as WaitingRow[];
      const lease = this.sql(`UPDATE deliveries SET lease_until = ? WHERE id = ?`);
      for (const row of rows) lease.run(now + leaseMs, row.id);
      return rows.map((row) => ({
        id: row.id,
        route: row.route,
        attempts: row.attempts,
        createdAt: row.created_at,
        alert: { alertId: row.alert_id, source: row.source },
        entry: { severity: row.severity, title: row.title, link: row.link, createdAtMs: row.created_at_ms },
      }));
      // IMMEDIATE, as a claim (store.ts): a read-then-write begun deferred fails at once on another connection's lock.
    }).immediate();
  }

  /**
   * The destination's digest updated at or after `since`, if any: the burst it belongs to is still going on. A
   * digest recorded by an older version has no summary and is not continued (the burst gets a new one).
   */
  open(destination: string, since: number): OpenDigest | null {
    const row = this.sql(
      `SELECT id, message_ref, summary_json, opened_at, updated_at FROM digests
        WHERE destination = ? AND updated_at >= ? AND summary_json IS NOT NULL ORDER BY id DESC LIMIT 1`,
    ).get(destination, since) as { id: number; message_ref: string; summary_json: string; opened_at: number; updated_at: number } | undefined;
    if (!row) return null;
    return {
      id: row.id,
      ref: JSON.parse(row.message_ref) as MessageRef,
      summary: JSON.parse(row.summary_json) as DigestSummary,
      openedAt: row.opened_at,
      updatedAt: row.updated_at,
    };
  }

  /**
   * Records a posted or edited digest and marks every covered delivery delivered-by-digest with the digest's
   * message reference, in one transaction. Returns the digest id.
   */
  record(digestId: number | null, destination: string, ref: MessageRef, summary: DigestSummary, deliveryIds: number[], now: number): number {
    return this.db.transaction(() => {
      let id = digestId;
      if (id === null) {
        id = Number(
          this.sql(`INSERT INTO digests (destination, message_ref, summary_json, opened_at, updated_at) VALUES (?, ?, ?, ?, ?)`)
            .run(destination, JSON.stringify(ref), JSON.stringify(summary), now, now).lastInsertRowid,
        );
      } else {
        this.sql(`UPDATE digests SET summary_json = ?, updated_at = ? WHERE id = ?`).run(JSON.stringify(summary), now, id);
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
