import type { Severity } from '../../domain/alert';
import type { MessageRef } from '../../domain/delivery';
import { STORED_ID_MAX } from '../../domain/stored-id';
import { MAX_DIGEST_LINK, type DigestSummary } from '../../destinations/digest-format';
import type { DigestOps } from '../store-contract';
import { destinationLock } from './pg-claims';
import type { PgSession } from './pg-session';
import { fromPgRecord, fromPgText, toPgRecord } from './pg-text';

/**
 * Byte bounds of the columns a digest reads (digest-store.ts): an over-long value of an older row is not read.
 * Counted on the stored (encoded, pg-text.ts) text, which is at most a little longer than the original.
 */
const ID_BYTES_MAX = STORED_ID_MAX * 4;
const LINK_BYTES_MAX = MAX_DIGEST_LINK * 4;

interface WaitingRow {
  id: number;
  route: string;
  attempts: number;
  created_at: number;
  alert_id: string;
  source: string;
  severity: Severity;
  title: string;
  link: string;
  created_at_ms: number;
}

/**
 * Burst digests on PostgreSQL: the statements of digest-store.ts with the same results. The rows a digest leases
 * name this replica as their holder (claimed_by), so its outcome and its hand-back (recordAttempt, release) are
 * this replica's to write, and they are leased under the destination's claim lock, so a claim of another replica
 * never leases one of them at the same moment.
 */
export function pgDigests(session: PgSession): DigestOps {
  return {
    backlog: async (destination, routes, now) => {
      const row = (
        await session.query<{ count: number; oldest: number | null }>(
          `SELECT COUNT(*) AS count, MIN(created_at) AS oldest FROM deliveries
            WHERE status = 'pending' AND destination = $1 AND next_attempt_at <= $2 AND lease_until <= $2 AND route = ANY($3::text[])`,
          [destination, now, [...routes]],
        )
      ).rows[0]!;
      return { count: row.count, oldestCreatedAt: row.oldest };
    },

    leaseWaiting: (destination, routes, limit, leaseMs, now) =>
      session.atomic(async (s) => {
        await s.query(`SELECT ${destinationLock('pg_advisory_xact_lock', '$1')}`, [destination]);
        // One send at a time per destination across replicas, as claims keep it: while another replica's lease runs
        // here (a post, or a digest revision in flight), this revision waits, so a burst never gets two digests.
        const inFlight = await s.query(
          `SELECT 1 FROM deliveries WHERE status = 'pending' AND lease_until > 0 AND destination = $1 AND lease_until > $2 LIMIT 1`,
          [destination, now],
        );
        if (inFlight.rows.length > 0) return [];
        // A row another transaction holds locked (a click touching its alert) goes into the digest's next revision.
        const rows = (
          await s.query<WaitingRow>(
            `SELECT d.id, d.route, d.attempts, d.created_at, a.source, a.severity, a.title, a.created_at_ms,
                    CASE WHEN octet_length(a.alert_id) <= ${ID_BYTES_MAX} THEN a.alert_id ELSE '[too long]' END AS alert_id,
                    CASE WHEN octet_length(a.link) <= ${LINK_BYTES_MAX} AND length(a.link) <= ${MAX_DIGEST_LINK} THEN a.link ELSE '' END AS link
               FROM deliveries d JOIN alerts a ON a.id = d.alert_row
              WHERE d.status = 'pending' AND d.destination = $1 AND d.next_attempt_at <= $2 AND d.lease_until <= $2 AND d.route = ANY($3::text[])
              ORDER BY d.created_at, d.id LIMIT $4 FOR UPDATE OF d SKIP LOCKED`,
            [destination, now, [...routes], limit],
          )
        ).rows;
        if (rows.length > 0) {
          await s.query(`UPDATE deliveries SET lease_until = $1, claimed_by = $2 WHERE id = ANY($3::bigint[])`, [now + leaseMs, s.instanceId, rows.map((r) => r.id)]);
        }
        return rows.map((row) => ({
          id: row.id,
          route: row.route,
          attempts: row.attempts,
          createdAt: row.created_at,
          alert: { alertId: fromPgText(row.alert_id), source: row.source },
          entry: { severity: row.severity, title: fromPgText(row.title), link: fromPgText(row.link), createdAtMs: row.created_at_ms },
        }));
      }),

    open: async (destination, since) => {
      const row = (
        await session.query<{ id: number; message_ref: Record<string, string>; summary_json: DigestSummary; opened_at: number; updated_at: number }>(
          `SELECT id, message_ref, summary_json, opened_at, updated_at FROM digests
            WHERE destination = $1 AND updated_at >= $2 AND summary_json IS NOT NULL ORDER BY id DESC LIMIT 1`,
          [destination, since],
        )
      ).rows[0];
      if (!row) return null;
      return { id: row.id, ref: fromPgRecord(row.message_ref) as MessageRef, summary: row.summary_json, openedAt: row.opened_at, updatedAt: row.updated_at };
    },

    record: (digestId, destination, ref, summary, deliveryIds, now) =>
      session.atomic(async (s) => {
        let id = digestId;
        if (id === null) {
          const inserted = await s.query<{ id: number }>(
            `INSERT INTO digests (destination, message_ref, summary_json, opened_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id`,
            [destination, toPgRecord(ref), JSON.stringify(summary), now],
          );
          id = inserted.rows[0]!.id;
        } else {
          await s.query(`UPDATE digests SET summary_json = $1, updated_at = $2 WHERE id = $3`, [JSON.stringify(summary), now, id]);
        }
        // Every covered row that is still pending, as on SQLite: the digest lists them all, whoever leased them.
        await s.query(
          `UPDATE deliveries SET status = 'delivered', via = 'digest', message_ref = $1, delivered_at = $2, updated_at = $2,
                  lease_until = 0, claimed_by = NULL, attempts = attempts + 1, last_reason = NULL WHERE id = ANY($3::bigint[]) AND status = 'pending'`,
          [toPgRecord({ ...ref, digestId: String(id) }), now, deliveryIds],
        );
        return id;
      }),
  };
}
