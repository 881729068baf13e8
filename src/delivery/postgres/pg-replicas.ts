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
  /** Its clock minus the server's, as far as its tightest recent reading is sure of (ms); null before one. */
  clockSkewMs: number | null;
}

/** The largest value of `clock_skew_ms` (a PostgreSQL integer). */
const INT4_MAX = 2_147_483_647;
/** A reading is kept over later ones with a longer round trip for this long (then clocks may have been stepped). */
const CLOCK_READING_KEPT_MS = 5 * 60_000;

/** One reading of this replica's clock against the server's: the skew, known to within half the round trip. */
export interface ClockReading {
  skewMs: number;
  rttMs: number;
  at: number;
}

/**
 * The reading to record: the newer one unless the kept one had a shorter round trip and is recent. A busy event
 * loop (a replica starting, a burst) or a far database makes an answer look late; the tightest recent reading wins.
 */
export function betterReading(kept: ClockReading | undefined, fresh: ClockReading): ClockReading {
  return kept && kept.rttMs < fresh.rttMs && fresh.at - kept.at < CLOCK_READING_KEPT_MS ? kept : fresh;
}

/**
 * What goes in `clock_skew_ms` for a reading: the part of the skew the reading is sure of (half the round trip
 * taken off, towards zero, as doctor's own clock check does), held within the column's integer (about ±24.8 days:
 * a clock further off, on a host booted with a wrong date, failed the UPDATE and hid the worst-drifted replica).
 */
export function recordedSkew(reading: ClockReading): number {
  const sure = Math.max(0, Math.abs(reading.skewMs) - reading.rttMs / 2);
  return Math.sign(reading.skewMs) * Math.min(INT4_MAX, Math.round(sure));
}

/**
 * Records this replica in `replicas` (or renews its row), reads the server's clock and records this replica's skew
 * against it (the tightest recent reading, {@link betterReading}), and deletes the rows of replicas silent for a
 * day. Returns the reading it recorded, for the next beat to compare with.
 */
export async function beatReplica(pool: Pool, owner: StoreOwner, kept?: ClockReading): Promise<ClockReading> {
  await pool.query(
    `INSERT INTO replicas (instance_id, hostname, pid, version, started_at, seen_at)
     VALUES ($1, $2, $3, $4, $5, now())
     ON CONFLICT (instance_id) DO UPDATE SET seen_at = now()`,
    [toPgText(owner.instanceId), toPgText(owner.hostname), owner.pid, toPgText(owner.version), owner.startedAt],
  );
  const sent = Date.now();
  const serverMs = Number((await pool.query<{ ms: number }>(`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms`)).rows[0]!.ms);
  const received = Date.now();
  const reading = betterReading(kept, { skewMs: (sent + received) / 2 - serverMs, rttMs: received - sent, at: received });
  await pool.query(`UPDATE replicas SET clock_skew_ms = $2 WHERE instance_id = $1`, [toPgText(owner.instanceId), recordedSkew(reading)]);
  await pool.query(`DELETE FROM replicas WHERE seen_at < now() - make_interval(secs => $1)`, [REPLICA_FORGET_MS / 1000]);
  return reading;
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
