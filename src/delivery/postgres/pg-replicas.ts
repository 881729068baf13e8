import type { Pool } from 'pg';
import type { StoreOwner } from '../store-owner';
import { fromPgText, toPgText } from './pg-text';

/** How often a serving replica renews its row in `replicas` (its heartbeat). */
export const REPLICA_HEARTBEAT_MS = 5_000;
/** A replica whose heartbeat is older than this is not counted as serving (three missed beats). */
export const REPLICA_LIVE_MS = 3 * REPLICA_HEARTBEAT_MS;
/**
 * Rows of replicas silent this long are deleted by any heartbeat: every process gets a new instance id, so without
 * this the table would keep a row per restart forever.
 */
const REPLICA_FORGET_MS = 24 * 3600_000;

/** One replica serving the database, as its last heartbeat left it. */
export interface ReplicaRow {
  instanceId: string;
  hostname: string;
  pid: number;
  version: string;
  startedAt: string;
  /** Seconds since its last heartbeat, by the server's clock. */
  silentSeconds: number;
  /** Its clock minus the server's at its last good reading (ms, to within 25 ms); null before one. */
  clockSkewMs: number | null;
}

/**
 * A clock reading whose round trip took longer than this is not recorded: the skew is known only to within half
 * the round trip, and a busy event loop (a replica starting, a burst) makes the answer look late.
 */
const CLOCK_READING_MAX_RTT_MS = 50;
/** The largest value of `clock_skew_ms` (a PostgreSQL integer). */
const INT4_MAX = 2_147_483_647;

/**
 * Records this replica in `replicas` (or renews its row), then reads the server's clock and records this replica's
 * skew against it when the reading's round trip was short ({@link CLOCK_READING_MAX_RTT_MS}). Also deletes the rows
 * of replicas silent for a day.
 */
export async function beatReplica(pool: Pool, owner: StoreOwner): Promise<void> {
  await pool.query(
    `INSERT INTO replicas (instance_id, hostname, pid, version, started_at, seen_at)
     VALUES ($1, $2, $3, $4, $5, now())
     ON CONFLICT (instance_id) DO UPDATE SET seen_at = now()`,
    [toPgText(owner.instanceId), toPgText(owner.hostname), owner.pid, toPgText(owner.version), owner.startedAt],
  );
  const sent = Date.now();
  const serverMs = Number((await pool.query<{ ms: number }>(`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms`)).rows[0]!.ms);
  const received = Date.now();
  if (received - sent <= CLOCK_READING_MAX_RTT_MS) {
    // Held within the column's integer (about ±24.8 days): a clock further off (a host that booted with a wrong
    // date) failed the UPDATE, so the worst-drifted replica showed as "clock not measured yet" and passed doctor.
    const skewMs = Math.max(-INT4_MAX, Math.min(INT4_MAX, Math.round((sent + received) / 2 - serverMs)));
    await pool.query(`UPDATE replicas SET clock_skew_ms = $2 WHERE instance_id = $1`, [toPgText(owner.instanceId), skewMs]);
  }
  await pool.query(`DELETE FROM replicas WHERE seen_at < now() - make_interval(secs => $1)`, [REPLICA_FORGET_MS / 1000]);
}

/** Removes this replica's row (it stops serving). */
export async function forgetReplica(pool: Pool, instanceId: string): Promise<void> {
  await pool.query(`DELETE FROM replicas WHERE instance_id = $1`, [toPgText(instanceId)]);
}

/** The replicas whose heartbeat is at most {@link REPLICA_LIVE_MS} old, by the server's clock, oldest first. */
export async function liveReplicas(pool: Pool): Promise<ReplicaRow[]> {
  const rows = await pool.query<{ instance_id: string; hostname: string; pid: number; version: string; started_at: Date; silent: number; clock_skew_ms: number | null }>(
    `SELECT instance_id, hostname, pid, version, started_at, extract(epoch FROM now() - seen_at)::float8 AS silent, clock_skew_ms
       FROM replicas WHERE seen_at >= now() - make_interval(secs => $1) ORDER BY started_at, instance_id`,
    [REPLICA_LIVE_MS / 1000],
  );
  return rows.rows.map((r) => ({
    instanceId: fromPgText(r.instance_id),
    hostname: fromPgText(r.hostname),
    pid: r.pid,
    version: fromPgText(r.version),
    startedAt: r.started_at.toISOString(),
    silentSeconds: Math.max(0, Math.round(Number(r.silent))),
    clockSkewMs: r.clock_skew_ms,
  }));
}
