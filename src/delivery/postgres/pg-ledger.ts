import type { Alert } from '../../domain/alert';
import { storedId } from '../../domain/stored-id';
import type { LedgerEntry, RequeueResult } from '../ledger';
import type { DeliveryStatus } from '../status';
import type { LedgerOps } from '../store-contract';
import type { PgSession } from './pg-session';
import { containsPattern, fromPgRecord, fromPgText, toPgText } from './pg-text';

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
  message_ref: Record<string, string> | null;
  received_at: number;
  updated_at: number;
  delivered_at: number | null;
  next_attempt_at: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Whether alert `a` is finished history received before the cutoff `cutoff` (a parameter): every delivery delivered
 * or dead with no edit still to make, no Panther write-back pending, no episode still firing, no reminder still to
 * send, no silence from chat being made, holding or being lifted (ledger.ts
 * PURGE_SQL.choose has why).
 */
const finished = (cutoff: string) => `a.received_at < ${cutoff}
   AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.alert_row = a.id AND (d.status = 'pending' OR d.edit_wanted > d.edit_done))
   AND NOT EXISTS (SELECT 1 FROM panther_sync p WHERE p.alert_row = a.id AND p.status = 'pending')
   AND NOT EXISTS (SELECT 1 FROM alert_episodes ep WHERE ep.alert_row = a.id AND ep.state = 'firing')
   AND NOT EXISTS (SELECT 1 FROM escalations x WHERE x.alert_row = a.id AND x.status = 'pending')
   AND NOT EXISTS (SELECT 1 FROM silences s WHERE s.alert_row = a.id AND s.state IN ('creating', 'active', 'expiring'))`;

/** The operator's view on PostgreSQL: ledger.ts method by method, with the same results. */
export function pgLedger(session: PgSession): LedgerOps {
  return {
    list: async (filter = {}) => {
      const where: string[] = [];
      const params: unknown[] = [];
      const param = (value: unknown) => `$${params.push(value)}`;
      if (filter.status) where.push(`d.status = ${param(filter.status)}`);
      if (filter.alertId) where.push(`a.alert_id = ${param(toPgText(storedId(filter.alertId)))}`);
      for (const [column, value] of [['d.alert_row', filter.alertRow], ['a.source', filter.source], ['a.severity', filter.severity], ['d.destination', filter.destination]] as const) {
        if (value !== undefined) where.push(`${column} = ${param(value)}`);
      }
      if (filter.text) {
        // ILIKE: case-insensitive, as SQLite's LIKE is; the user's wildcards are taken literally.
        const like = param(containsPattern(filter.text));
        where.push(`(a.title ILIKE ${like} ESCAPE '\\' OR a.alert_id ILIKE ${like} ESCAPE '\\' OR a.detection_id ILIKE ${like} ESCAPE '\\')`);
      }
      const limit = param(filter.limit ?? 100);
      const rows = await session.query<Row>(
        `SELECT d.id, d.alert_row, a.alert_id, a.source, a.severity, a.title, d.route, d.destination, d.status, d.attempts,
                d.rate_limited, d.last_reason, d.message_ref, a.received_at, d.updated_at, d.delivered_at, d.next_attempt_at
           FROM deliveries d JOIN alerts a ON a.id = d.alert_row
          ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY d.id DESC LIMIT ${limit}`,
        params,
      );
      return rows.rows.map(
        (row): LedgerEntry => ({
          id: row.id,
          alertRow: row.alert_row,
          alertId: fromPgText(row.alert_id),
          source: row.source,
          severity: row.severity,
          title: fromPgText(row.title),
          route: row.route,
          destination: row.destination,
          status: row.status,
          attempts: row.attempts,
          rateLimited: row.rate_limited,
          lastReason: fromPgText(row.last_reason),
          messageRef: fromPgRecord(row.message_ref),
          receivedAt: iso(row.received_at),
          updatedAt: iso(row.updated_at),
          deliveredAt: row.delivered_at === null ? null : iso(row.delivered_at),
          nextAttemptAt: row.status === 'pending' ? iso(row.next_attempt_at) : null,
        }),
      );
    },

    alert: async (alertRow) => {
      const row = (await session.query<{ json: string }>(`SELECT alert_json::text AS json FROM alerts WHERE id = $1`, [alertRow])).rows[0];
      return row ? (JSON.parse(row.json) as Alert) : undefined;
    },

    requeue: (ids, now, options = {}) =>
      session.atomic(async (s): Promise<RequeueResult> => {
        let targets: { id: number; status: DeliveryStatus | 'missing' }[];
        if (ids === 'all-dead') targets = (await s.query<{ id: number; status: DeliveryStatus }>(`SELECT id, status FROM deliveries WHERE status = 'dead' ORDER BY id`)).rows;
        else {
          const found = await s.query<{ id: number; status: DeliveryStatus }>(`SELECT id, status FROM deliveries WHERE id = ANY($1::bigint[])`, [ids]);
          const status = new Map(found.rows.map((r) => [r.id, r.status]));
          targets = ids.map((id) => ({ id, status: status.get(id) ?? 'missing' }));
        }
        const result: RequeueResult = { requeued: [], skipped: [] };
        // 'dead' twice when delivered ones stay untouched: the IN list then names no second status.
        const alsoDelivered = options.resendDelivered === true && ids !== 'all-dead' ? 'delivered' : 'dead';
        for (const target of targets) {
          const wanted = target.status === 'dead' || (target.status === 'delivered' && alsoDelivered === 'delivered');
          // created_at restarts too: the max age counts from the resend, or a resent delivery would die at once.
          const requeued =
            wanted &&
            (
              await s.query(
                `UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, lease_until = 0, claimed_by = NULL, updated_at = $1, created_at = $1
                  WHERE id = $2 AND status IN ('dead', $3)`,
                [now, target.id, alsoDelivered],
              )
            ).rowCount === 1;
          if (requeued) result.requeued.push(target.id);
          else if (target.status === 'delivered') result.skipped.push({ id: target.id, reason: 'already delivered; not sent again' });
          else if (target.status === 'pending') result.skipped.push({ id: target.id, reason: 'already pending' });
          else result.skipped.push({ id: target.id, reason: 'no such delivery' });
        }
        return result;
      }),

    /**
     * ledger.ts purge, without SQLite's temp table: the purged alerts are chosen and locked (one being written
     * right now, say clicked, is left for the next purge), their deliveries locked, then checked again in a new
     * statement, which sees every change committed before the locks were granted. Everything that can make an
     * alert unpurgeable (a click, an edit, a write-back job, a requeue) writes one of those rows, so it either
     * waited for the purge or is seen by the check; then exactly these alerts are deleted with what belongs to them.
     */
    purge: (olderThanMs, now) =>
      session.atomic(async (s) => {
        const cutoff = now - olderThanMs;
        const chosen = (await s.query<{ id: number }>(`SELECT a.id FROM alerts a WHERE ${finished('$1')} ORDER BY a.id FOR UPDATE OF a SKIP LOCKED`, [cutoff])).rows.map((r) => r.id);
        let alerts = 0;
        let deliveries = 0;
        if (chosen.length > 0) {
          await s.query(`SELECT 1 FROM deliveries WHERE alert_row = ANY($1::bigint[]) ORDER BY id FOR UPDATE`, [chosen]);
          const ids = (await s.query<{ id: number }>(`SELECT a.id FROM alerts a WHERE a.id = ANY($1::bigint[]) AND ${finished('$2')}`, [chosen, cutoff])).rows.map((r) => r.id);
          for (const table of ['triage_events', 'panther_sync', 'silences', 'alert_episodes', 'escalations']) await s.query(`DELETE FROM ${table} WHERE alert_row = ANY($1::bigint[])`, [ids]);
          deliveries = (await s.query(`DELETE FROM deliveries WHERE alert_row = ANY($1::bigint[])`, [ids])).rowCount ?? 0;
          alerts = (await s.query(`DELETE FROM alerts WHERE id = ANY($1::bigint[])`, [ids])).rowCount ?? 0;
        }
        const digests = (await s.query(`DELETE FROM digests WHERE updated_at < $1`, [cutoff])).rowCount ?? 0;
        return { alerts, deliveries, digests };
      }),
  };
}
