import type { Alert } from '../../domain/alert';
import { claimedDelivery, type ClaimedDelivery, type ClaimedRow } from '../claimed-delivery';
import type { DeliveryStatus } from '../status';
import type { AttemptWrite, ChannelPace } from '../store-contract';
import { takeChannel } from './pg-pace';
import type { PgSession } from './pg-session';
import { toPgRecord, toPgText } from './pg-text';
import { recordReply } from './pg-triage';
import { scheduleEscalation } from './pg-escalations';
import { ParsedAlerts } from '../parsed-alerts';

/** Recent claims' alerts, parsed once for all their deliveries and attempts (checked against the stored text). */
const parsedAlerts = new ParsedAlerts();

/**
 * The lock that makes one transaction at a time lease rows of a destination, whichever replica runs it: the claim
 * tries it (a destination another replica is claiming right now is skipped, never waited for), the digest's lease
 * waits for it. The first key names the bridge's destinations in the store's schema (two stores in two schemas
 * never share one), the second the destination. Taken for the transaction, so it ends with it.
 */
export const destinationLock = (fn: 'pg_try_advisory_xact_lock' | 'pg_advisory_xact_lock', destination: string): string =>
  `${fn}(hashtext('chatops-bridge:destination:' || coalesce(current_schema(), '')), hashtext(${destination}))`;

/**
 * Destinations with pending work, one index seek each over deliveries_queue (status, destination, …): a skip scan,
 * as on SQLite (store.ts), instead of a walk over every pending row, which the loop cannot afford on each turn.
 */
const PENDING_DESTINATIONS = `WITH RECURSIVE d(name) AS (
    SELECT (SELECT MIN(destination) FROM deliveries WHERE status = 'pending')
    UNION ALL
    SELECT (SELECT MIN(destination) FROM deliveries WHERE status = 'pending' AND destination > d.name) FROM d WHERE d.name IS NOT NULL
  )`;

/** The first due, unleased row of destination `name` by (next_attempt_at, id): what SQLite's headOf reads. */
const HEAD_OF = (name: string) => `SELECT x.id, x.next_attempt_at FROM deliveries x
     WHERE x.status = 'pending' AND x.destination = ${name} AND x.next_attempt_at <= $1 AND x.lease_until <= $1
     ORDER BY x.next_attempt_at, x.id LIMIT 1`;

/**
 * True while a lease of any replica runs on a row of destination `name`: the destination's next row must wait for
 * it (one send in flight per destination across replicas, in queue order). `lease_until > 0` lets the planner use
 * the small partial index of rows in flight.
 */
const LEASE_RUNS = (name: string) =>
  `EXISTS (SELECT 1 FROM deliveries l WHERE l.status = 'pending' AND l.lease_until > 0 AND l.destination = ${name} AND l.lease_until > $1)`;

/** Every destination's head that may be claimed now, in the order SQLite hands them out. */
const CLAIMABLE_HEADS = `${PENDING_DESTINATIONS}
  SELECT d.name AS destination FROM d CROSS JOIN LATERAL (${HEAD_OF('d.name')}) h
   WHERE d.name IS NOT NULL AND d.name <> ALL($2::text[]) AND NOT ${LEASE_RUNS('d.name')}
   ORDER BY h.next_attempt_at, h.id`;

/**
 * Leases the head of each destination in $2, whose claim lock this transaction holds. A fresh statement, so it
 * sees every lease committed before the lock was granted: none of another replica's can be missed. A head locked
 * by another transaction (a click touching the alert, a requeue) is skipped (SKIP LOCKED): the destination waits
 * for the next pass rather than handing out its second row out of order, and a claim never waits for a lock.
 */
const LEASE_HEADS = `WITH heads AS (
    SELECT h.id FROM unnest($2::text[]) AS d(name) CROSS JOIN LATERAL (${HEAD_OF('d.name')}) h WHERE NOT ${LEASE_RUNS('d.name')}
  ), locked AS (
    SELECT x.id FROM deliveries x JOIN heads ON heads.id = x.id
     WHERE x.status = 'pending' AND x.lease_until <= $1 FOR UPDATE OF x SKIP LOCKED
  )
  UPDATE deliveries t SET lease_until = $3, claimed_by = $4, updated_at = $1 FROM locked WHERE t.id = locked.id
  RETURNING t.id, t.alert_row, t.route, t.destination, t.template, t.attempts, t.created_at, t.next_attempt_at, t.edit_wanted`;

/** What LEASE_HEADS returns: the claimed columns, and when the row was due (its channel's pace reads it). */
interface LeasedRow extends ClaimedRow {
  next_attempt_at: number;
}

/**
 * Leases up to `limit` due deliveries to this replica (claimed_by, lease_until = now + leaseMs): at most one per
 * destination, none of a destination in `busy` or with a lease of any replica still running, each the head of
 * its queue by (next_attempt_at, id). A lease that ran out is anyone's again (a replica that died loses its work
 * when its leases end). Two replicas claiming at once never lease two rows of one destination: each destination's
 * lease is taken under its claim lock ({@link destinationLock}). With `paces`, each leased row also takes a slot of
 * its channel's shared pace in the same transaction (pg-pace.ts), so replicas together keep to the channel's limit;
 * a row whose channel has no slot free, or shares it with a row leased before it, is handed back at once, and the
 * channel's wait goes into `pacedUntil` (channel key → epoch ms a slot may be free).
 */
export async function claim(
  session: PgSession,
  limit: number,
  busy: ReadonlySet<string>,
  leaseMs: number,
  now: number,
  paces?: ReadonlyMap<string, ChannelPace>,
  pacedUntil?: Map<string, number>,
): Promise<ClaimedDelivery[]> {
  if (limit <= 0) return [];
  return session.atomic(async (s) => {
    const candidates = (await s.query<{ destination: string }>(CLAIMABLE_HEADS, [now, [...busy]])).rows.map((r) => r.destination);
    // Claim locks for the first `limit` candidates; one another replica holds is replaced by the next candidate.
    const locked: string[] = [];
    for (let next = 0; next < candidates.length && locked.length < limit; ) {
      const chunk = candidates.slice(next, next + limit - locked.length);
      next += chunk.length;
      const got = await s.query<{ name: string }>(
        `SELECT d.name FROM unnest($1::text[]) WITH ORDINALITY AS d(name, n) WHERE ${destinationLock('pg_try_advisory_xact_lock', 'd.name')} ORDER BY d.n`,
        [chunk],
      );
      locked.push(...got.rows.map((r) => r.name));
    }
    if (locked.length === 0) return [];
    let leased = (await s.query<LeasedRow>(LEASE_HEADS, [now, locked, now + leaseMs, s.instanceId])).rows;
    leased.sort((a, b) => a.next_attempt_at - b.next_attempt_at || a.id - b.id);
    if (paces) leased = await paced(s, leased, paces, now, pacedUntil);
    // One parse per alert, shared by its deliveries (as on SQLite: heads of several destinations are often one alert).
    const rows = [...new Set(leased.map((r) => r.alert_row))];
    const alerts = new Map<number, Alert>();
    if (rows.length > 0) {
      const found = await s.query<{ id: number; json: string }>(`SELECT id, alert_json::text AS json FROM alerts WHERE id = ANY($1::bigint[])`, [rows]);
      for (const r of found.rows) alerts.set(r.id, parsedAlerts.get(r.id, r.json));
    }
    return leased.map((row) => claimedDelivery(row, alerts.get(row.alert_row)!));
  });
}

/**
 * The leased rows whose channel gave them a slot of its shared pace; the others are handed back in this transaction.
 * Channels are locked in key order (two replicas never wait on each other's channel rows crosswise), and a channel
 * gives at most one slot per claim (rows of two destinations into one channel: the first in queue order goes).
 */
async function paced(s: PgSession, leased: LeasedRow[], paces: ReadonlyMap<string, ChannelPace>, now: number, pacedUntil?: Map<string, number>): Promise<LeasedRow[]> {
  const keys = [...new Set(leased.map((row) => paces.get(row.destination)?.key).filter((key): key is string => key !== undefined))].sort();
  const granted = new Set<string>();
  for (const key of keys) {
    const pace = [...paces.values()].find((p) => p.key === key)!;
    const wait = await takeChannel(s, pace, now);
    if (wait === 0) granted.add(key);
    else pacedUntil?.set(key, now + wait);
  }
  const kept: LeasedRow[] = [];
  const back: number[] = [];
  for (const row of leased) {
    const key = paces.get(row.destination)?.key;
    if (key === undefined) kept.push(row);
    else if (granted.delete(key)) kept.push(row);
    else back.push(row.id);
  }
  if (back.length > 0) await s.query(`UPDATE deliveries SET lease_until = 0, claimed_by = NULL WHERE id = ANY($1::bigint[])`, [back]);
  return kept;
}

/** Hands a row this replica leased back unsent (a lease another replica took over is left to it). */
export async function release(session: PgSession, id: number): Promise<void> {
  await session.query(`UPDATE deliveries SET lease_until = 0, claimed_by = NULL WHERE id = $1 AND status = 'pending' AND claimed_by = $2`, [id, session.instanceId]);
}

/**
 * Records one attempt's outcome (store.ts markDelivered / reschedule / markDead, and a reply's link to its parent),
 * only on a row this replica holds the lease of. Its lease may have run out meanwhile: as long as no other replica
 * claimed the row, the outcome is still this replica's to record (the SQLite worker keeps writing it until it is
 * written). Once another replica has claimed the row, that one sends and records it, and this outcome is not
 * written (false): recording it would finish a row that is in flight elsewhere.
 */
export async function recordAttempt(session: PgSession, write: AttemptWrite, now: number): Promise<boolean> {
  const holder = session.instanceId;
  if (write.kind === 'rescheduled') {
    const done = await session.query(
      `UPDATE deliveries SET next_attempt_at = $1, last_reason = $2, updated_at = $3, lease_until = 0, claimed_by = NULL,
              attempts = attempts + $4, rate_limited = rate_limited + $5 WHERE id = $6 AND claimed_by = $7`,
      [write.nextAttemptAt, toPgText(write.reason), now, write.rateLimited ? 0 : 1, write.rateLimited ? 1 : 0, write.id, holder],
    );
    return done.rowCount === 1;
  }
  if (write.kind === 'dead') {
    const done = await session.query(
      `UPDATE deliveries SET status = 'dead', last_reason = $1, updated_at = $2, lease_until = 0, claimed_by = NULL, attempts = attempts + $3
        WHERE id = $4 AND claimed_by = $5`,
      [toPgText(write.reason), now, write.countAttempt ? 1 : 0, write.id, holder],
    );
    return done.rowCount === 1;
  }
  return session.atomic(async (s) => {
    const done = await s.query(
      `UPDATE deliveries SET status = 'delivered', message_ref = $1, delivered_at = $2, updated_at = $2, lease_until = 0, claimed_by = NULL,
              attempts = attempts + 1, last_reason = NULL, edit_done = GREATEST(edit_done, $3) WHERE id = $4 AND claimed_by = $5`,
      [toPgRecord(write.ref), now, write.renderedRevision, write.id, holder],
    );
    if (done.rowCount !== 1) return false;
    if (write.reply) await recordReply(s, write.reply.parentId, write.id, write.reply.threadRef);
    if (write.escalateAt !== undefined) await scheduleEscalation(s, write.id, write.escalateAt, now);
    return true;
  });
}

/**
 * Per destination with unleased pending work, when its next delivery can be claimed: its earliest unleased row's
 * due time, or later while a lease of another replica runs on the destination (the claim gives nothing of it
 * before that lease ends; reporting the row's due time would have an idle replica's worker wake at once, claim
 * nothing and go round again, a spin for as long as another replica's send takes).
 */
export async function nextDueByDestination(session: PgSession, now: number): Promise<Map<string, number>> {
  const rows = await session.query<{ destination: string; at: number; held: number | null }>(
    `${PENDING_DESTINATIONS}
     SELECT d.name AS destination, n.at,
            (SELECT MAX(l.lease_until) FROM deliveries l WHERE l.status = 'pending' AND l.lease_until > 0 AND l.destination = d.name AND l.lease_until > $1) AS held
       FROM d CROSS JOIN LATERAL (
         SELECT x.next_attempt_at AS at FROM deliveries x WHERE x.status = 'pending' AND x.destination = d.name AND x.lease_until <= $1
          ORDER BY x.next_attempt_at LIMIT 1) n
      WHERE d.name IS NOT NULL`,
    [now],
  );
  return new Map(rows.rows.map((r) => [r.destination, Math.max(r.at, r.held ?? 0)]));
}

/** Pending deliveries per destination and the age of the oldest (for the queue gauges). */
export async function queueStats(session: PgSession, now: number): Promise<{ destination: string; depth: number; oldestAgeSeconds: number }[]> {
  const rows = await session.query<{ destination: string; depth: number; oldest: number }>(
    `SELECT destination, COUNT(*) AS depth, MIN(created_at) AS oldest FROM deliveries WHERE status = 'pending' GROUP BY destination ORDER BY destination`,
  );
  return rows.rows.map((r) => ({ destination: r.destination, depth: r.depth, oldestAgeSeconds: Math.max(0, (now - r.oldest) / 1000) }));
}

export async function counts(session: PgSession): Promise<Record<DeliveryStatus, number>> {
  const out: Record<DeliveryStatus, number> = { pending: 0, delivered: 0, dead: 0 };
  const rows = await session.query<{ status: DeliveryStatus; n: number }>(`SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status`);
  for (const row of rows.rows) out[row.status] = row.n;
  return out;
}
