import type { Pool, PoolClient } from 'pg';
import type { PgMigration } from './pg-migrations';

/**
 * The advisory lock every migrator of one schema takes: the first key names the bridge's migrations, the second
 * the schema, so two stores in two schemas of one database migrate independently.
 */
const LOCK_KEYS = `hashtext('chatops-bridge:migrations'), hashtext(coalesce(current_schema(), ''))`;

/** Records which steps ran (in the store's own schema, like its tables). */
const HISTORY_SQL = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/** Where a database stands against a list of migrations. */
export interface PgMigrationStatus {
  /** Versions recorded as applied, in order. */
  applied: number[];
  /** Steps not applied yet, in order (what `migrate --check` lists). */
  pending: Pick<PgMigration, 'version' | 'name'>[];
  /** Versions the database has that this code does not know: a newer release migrated it. */
  unknown: number[];
}

export interface PgMigrateOptions {
  /**
   * How long to wait for another process's migration lock (120 s): another replica starting at the same moment
   * holds it while it migrates, and this one then finds nothing left to do. Past it, the start fails with an error
   * that says so, instead of waiting forever behind a migrator that hangs.
   */
  lockWaitMs?: number;
}

function checkOrder(migrations: readonly PgMigration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration "${m.name}" has version ${m.version}, expected ${i + 1}`);
  });
}

async function appliedVersions(client: Pool | PoolClient): Promise<number[] | null> {
  const exists = await client.query<{ found: boolean }>(`SELECT to_regclass('schema_migrations') IS NOT NULL AS found`);
  if (!exists.rows[0]!.found) return null;
  const rows = await client.query<{ version: number }>(`SELECT version FROM schema_migrations ORDER BY version`);
  return rows.rows.map((r) => r.version);
}

/**
 * Which of `migrations` the database at `pool` has applied and which are pending, without changing anything and
 * without the migration lock (a migration running meanwhile shows as pending until it commits). A database with
 * no `schema_migrations` table has everything pending.
 */
export async function pgMigrationStatus(pool: Pool, migrations: readonly PgMigration[]): Promise<PgMigrationStatus> {
  checkOrder(migrations);
  const applied = (await appliedVersions(pool)) ?? [];
  const done = new Set(applied);
  return {
    applied,
    pending: migrations.filter((m) => !done.has(m.version)).map(({ version, name }) => ({ version, name })),
    unknown: applied.filter((v) => v > migrations.length),
  };
}

/** The steps of `migrations` the database has not applied (for `migrate --check`). */
export async function pendingPgMigrations(pool: Pool, migrations: readonly PgMigration[]): Promise<Pick<PgMigration, 'version' | 'name'>[]> {
  return (await pgMigrationStatus(pool, migrations)).pending;
}

/**
 * Brings the database to the last step of `migrations`, each missing step in its own transaction together with
 * its `schema_migrations` row (a crash leaves the database at the step before, never half-way). The whole run
 * holds a session advisory lock, so replicas starting together migrate once: the others wait for the lock, then
 * find every step recorded. The lock goes with the connection if this process dies. A database migrated by a
 * newer release (a version this code does not know) is refused rather than guessed at. Returns the versions
 * before and after, and the steps this call applied.
 */
export async function migratePg(pool: Pool, migrations: readonly PgMigration[], options: PgMigrateOptions = {}): Promise<{ from: number; to: number; applied: number[] }> {
  checkOrder(migrations);
  const latest = migrations.length;
  const client = await pool.connect();
  let broken: Error | undefined;
  // As in pg-session.ts inTransaction: a checked-out client's dropped connection must not end the process.
  const onError = (error: Error) => {
    broken ??= error;
  };
  client.on('error', onError);
  try {
    await takeLock(client, options.lockWaitMs ?? 120_000);
    try {
      await client.query(HISTORY_SQL);
      const done = new Set((await appliedVersions(client)) ?? []);
      const newest = Math.max(0, ...done);
      if (newest > latest) {
        throw new Error(`the store's schema is version ${newest}, newer than this chatops-bridge knows (${latest}): run a newer release on it`);
      }
      const applied: number[] = [];
      for (const step of migrations) {
        if (done.has(step.version)) continue;
        try {
          await client.query('BEGIN');
          await client.query(step.sql);
          await client.query(`INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, [step.version, step.name]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new Error(`store migration ${step.version} (${step.name}) failed, nothing of it was applied: ${(error as Error).message}`);
        }
        applied.push(step.version);
      }
      return { from: newest, to: latest, applied };
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${LOCK_KEYS})`);
    }
  } catch (error) {
    // A connection whose state is unknown (lock or transaction possibly still held) is closed, not pooled again.
    broken = error as Error;
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/** Waits for the migration lock, at most `waitMs`; only this wait is bounded, never the steps themselves. */
async function takeLock(client: PoolClient, waitMs: number): Promise<void> {
  await client.query(`SELECT set_config('lock_timeout', $1, false)`, [`${Math.max(1, Math.round(waitMs))}ms`]);
  try {
    await client.query(`SELECT pg_advisory_lock(${LOCK_KEYS})`);
  } catch (error) {
    if ((error as { code?: string }).code === '55P03') {
      throw new Error(`another process has been migrating the store for over ${Math.round(waitMs / 1000)} s (its migration lock is still held); not starting`);
    }
    throw error;
  } finally {
    await client.query(`RESET lock_timeout`);
  }
}
