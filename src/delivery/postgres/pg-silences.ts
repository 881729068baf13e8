import type { SilenceView } from '../../triage/state';
import { outcomeShown, outcomeUpdate, SILENCE_COLUMNS, SILENCE_VIEW_SQL, silenceJobOf, silenceViewOf, type SilenceRow } from '../../triage/silence-store';
import type { SilenceOps } from '../store-contract';
import type { PgSession } from './pg-session';
import { fromPgText, toPgText } from './pg-text';
import { touchAlert } from './pg-touch';

/** `SILENCE_COLUMNS` with the `json` matchers as text, as SQLite gives them. */
const COLUMNS = SILENCE_COLUMNS.replace('matchers_json', 'matchers_json::text AS matchers_json');

/** The alert's latest silence, as its messages show it (part of the triage view). */
export async function pgSilenceView(session: PgSession, alertRow: number): Promise<SilenceView | undefined> {
  const row = (await session.query<SilenceRow>(numbered(SILENCE_VIEW_SQL.replace(SILENCE_COLUMNS, COLUMNS), 1), [alertRow])).rows[0];
  return row && silenceViewOf(decodeSilenceRow(row));
}

/** A row as PostgreSQL gives it, with the text columns decoded (they may hold alert text or platform names). */
function decodeSilenceRow(row: SilenceRow): SilenceRow {
  return {
    ...row,
    comment: fromPgText(row.comment),
    by_id: fromPgText(row.by_id),
    by_name: fromPgText(row.by_name),
    silence_id: fromPgText(row.silence_id),
    unsilenced_by_id: fromPgText(row.unsilenced_by_id),
    unsilenced_by_name: fromPgText(row.unsilenced_by_name),
    last_error: fromPgText(row.last_error),
  };
}

/** `?` placeholders of silence-store.ts's shared statements as `$n`, numbered from `first`. */
const numbered = (sql: string, first: number): string => {
  let n = first;
  return sql.replace(/\?/g, () => `$${n++}`);
};

/**
 * Silences on PostgreSQL: the statements of silence-store.ts with the same results. One current silence per alert
 * across replicas (the partial unique index decides between two choices at the same moment); each silence's API
 * call is leased to one replica (`claimed_by`, `lease_until`), as write-back jobs are.
 */
export function pgSilences(session: PgSession): SilenceOps {
  return {
    request: (input) =>
      session.atomic(async (s) => {
        if (input.interactionId && (await s.query(`SELECT 1 FROM silences WHERE interaction_id = $1`, [toPgText(input.interactionId)])).rowCount) return 'duplicate';
        const inserted = await s.query(
          `INSERT INTO silences (alert_row, delivery_id, source, state, matchers_json, comment, duration_ms, starts_at, ends_at, by_platform, by_id, by_name,
                                 interaction_id, next_attempt_at, created_at, updated_at)
           VALUES ($1, $2, $3, 'creating', $4, $5, $6, $7, $8, $9, $10, $11, $12, $7, $7, $7) ON CONFLICT DO NOTHING`,
          [
            input.alertRow, input.deliveryId, input.source, JSON.stringify(input.matchers), toPgText(input.comment), input.durationMs, input.at, input.at + input.durationMs,
            input.actor.platform, toPgText(input.actor.id), toPgText(input.actor.name), toPgText(input.interactionId ?? null),
          ],
        );
        if (inserted.rowCount === 0) {
          // A concurrent replay of the same interaction lost the race on its unique id rather than on the alert.
          if (input.interactionId && (await s.query(`SELECT 1 FROM silences WHERE interaction_id = $1`, [toPgText(input.interactionId)])).rowCount) return 'duplicate';
          return 'busy';
        }
        await touchAlert(s, input.alertRow);
        return 'recorded';
      }),

    unsilence: (input) =>
      session.atomic(async (s) => {
        if (input.interactionId && (await s.query(`SELECT 1 FROM silences WHERE unsilence_interaction = $1`, [toPgText(input.interactionId)])).rowCount) return 'duplicate';
        // The lease of a create under way is left alone: its outcome, recorded later, keeps the row expiring.
        const updated = await s.query(
          `UPDATE silences SET state = 'expiring', unsilenced_by_platform = $1, unsilenced_by_id = $2, unsilenced_by_name = $3, unsilenced_at = $4,
                  unsilence_interaction = $5, next_attempt_at = $4, attempts = 0, last_error = NULL, updated_at = $4
            WHERE alert_row = $6 AND state IN ('creating', 'active')`,
          [input.actor.platform, toPgText(input.actor.id), toPgText(input.actor.name), input.at, toPgText(input.interactionId ?? null), input.alertRow],
        );
        if (updated.rowCount === 0) return 'none';
        await touchAlert(s, input.alertRow);
        return 'recorded';
      }),

    // Leased like write-back jobs: one replica makes each call; a silence another replica's transaction holds is
    // skipped, never waited for, and a lease that ran out is anyone's again.
    due: async (now, limit, leaseMs) => {
      const rows = await session.query<SilenceRow>(
        `WITH picked AS (
           SELECT id FROM silences WHERE state IN ('creating', 'active', 'expiring') AND next_attempt_at <= $1 AND lease_until <= $1
            ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
         ), leased AS (
           UPDATE silences t SET claimed_by = $3, lease_until = $4 FROM picked WHERE t.id = picked.id RETURNING t.id AS leased_id
         )
         SELECT ${COLUMNS} FROM silences JOIN leased ON leased_id = silences.id ORDER BY next_attempt_at, id`,
        [now, limit, session.instanceId, now + leaseMs],
      );
      return rows.rows.map((row) => silenceJobOf(decodeSilenceRow(row)));
    },

    nextDueAt: async () =>
      (await session.query<{ at: number | null }>(`SELECT MIN(GREATEST(next_attempt_at, lease_until)) AS at FROM silences WHERE state IN ('creating', 'active', 'expiring')`)).rows[0]?.at ?? undefined,

    // Only by the replica holding the call's lease: once another replica took it over (this one's ran out), that
    // one's outcome stands.
    finish: (job, outcome, now) =>
      session.atomic(async (s) => {
        const update = outcomeUpdate(job, { ...outcome, ...('reason' in outcome ? { reason: toPgText(outcome.reason) } : {}), ...('silenceId' in outcome ? { silenceId: toPgText(outcome.silenceId) } : {}) } as typeof outcome, now);
        const setParams = update.setParams.length;
        const sql = `UPDATE silences SET ${numbered(update.set, 1)}, updated_at = $${setParams + 1}, lease_until = 0, claimed_by = NULL
                      WHERE id = $${setParams + 2} AND claimed_by = $${setParams + 3} AND ${numbered(update.where, setParams + 4)}`;
        const updated = await s.query(sql, [...update.setParams, now, job.id, s.instanceId, ...update.whereParams]);
        // The outcome no longer applies (an Unsilence moved the row while the call was under way): the lease is let go
        // all the same, or the row's next call (the expire) would wait for it to run out.
        if (updated.rowCount === 0) await s.query(`UPDATE silences SET lease_until = 0, claimed_by = NULL WHERE id = $1 AND claimed_by = $2`, [job.id, s.instanceId]);
        if (updated.rowCount === 1 && outcomeShown(job, outcome)) await touchAlert(s, job.alertRow);
      }),
  };
}
