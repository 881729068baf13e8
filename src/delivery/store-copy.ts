import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { PoolClient } from 'pg';
import { schemaVersion } from './migrate';
import { SQLITE_MIGRATIONS } from './sqlite-migrations';
import { acquireStore, describeOwner, StoreInUseError } from './store-owner';
import type { StoreLock } from './store-lock';
import { migratePg } from './postgres/pg-migrate';
import { PG_MIGRATIONS } from './postgres/pg-migrations';
import { inTransaction } from './postgres/pg-session';
import { openPgPool, redactPgUrl } from './postgres/pool';
import { COPIED_TABLES, NOT_COPIED, PG_CAST, toPgValue, type CopiedTable } from './store-copy-tables';

/** What `migrate --from sqlite:… --to postgres://…` prints once the copy has committed. */
export interface StoreCopySummary {
  /** `sqlite:<path>` as given. */
  from: string;
  /** The database URL without its password. */
  to: string;
  /** Rows copied per table (every table of the SQLite store's data, see store-copy-tables.ts). */
  copied: Record<string, number>;
  /** Deliveries still to send: the replicas send them once they start on the PostgreSQL store. */
  pendingDeliveries: number;
  /** The id the next new row of each table gets: past every id the SQLite store ever handed out. */
  nextIds: Record<string, number>;
}

/** The copy refused to run, or stopped; nothing was written to the PostgreSQL store. The message says why. */
export class StoreCopyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreCopyError';
  }
}

/** Most rows per INSERT (PostgreSQL takes at most 65,535 parameters in one statement). */
const MAX_PARAMETERS = 60_000;
/** Most text per INSERT, roughly: a stored alert may be 1 MiB, and a statement is held in memory whole. */
const MAX_BATCH_CHARS = 8 * 1024 * 1024;
/** How long the copy waits for the PostgreSQL tables when something else holds them. */
const TABLE_LOCK_WAIT = '5s';

/**
 * Copies the SQLite store at `sqlitePath` — pending work and history: alerts with their dedup keys, deliveries
 * with status, attempts, message refs and edit state, digests, triage clicks, Panther write-back jobs, firing /
 * resolved episodes — into the PostgreSQL store at `pgUrl`, keeping every id, so message refs, digest ids and
 * triage buttons already posted in Slack and Discord keep pointing at their rows, and a sender's retry of a copied
 * alert is a duplicate.
 *
 * - Refuses while a `serve` holds the SQLite store (its lock, or a live owner heartbeat: the same checks a second
 *   `serve` makes), and holds that lock until the copy is over, so none can start meanwhile.
 * - Reads one snapshot of the SQLite store (a read transaction on a read-only connection); the store must be at
 *   this release's schema version.
 * - Migrates the PostgreSQL schema first, then writes in ONE transaction: the tables are locked against writers,
 *   must all be empty (a store that already holds rows is refused: copied ids would collide with its own), and the
 *   identity sequences are set past the highest id the SQLite store ever used (purged ids included: ids are never
 *   reused). Any failure rolls everything back.
 * - Leases are cleared (no replica holds the copied work); a replica that starts on the store sends what is pending.
 * Errors and the summary name the database without its password.
 */
export async function copySqliteToPostgres(sqlitePath: string, pgUrl: string, logger: Logger): Promise<StoreCopySummary> {
  const target = redactPgUrl(pgUrl);
  if (sqlitePath === ':memory:' || !existsSync(sqlitePath)) throw new StoreCopyError(`there is no SQLite store at ${sqlitePath}`);
  const lock = await lockSource(sqlitePath, logger);
  let db: Database.Database | undefined;
  const pool = openPgPool(pgUrl, { max: 1, applicationName: 'chatops-bridge migrate --from sqlite' });
  try {
    db = new Database(sqlitePath, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    checkSource(db, sqlitePath);
    try {
      await migratePg(pool, PG_MIGRATIONS);
    } catch (error) {
      throw new StoreCopyError(`cannot migrate the PostgreSQL store ${target}: ${(error as Error).message}`);
    }
    const source = db;
    // One snapshot of the SQLite store for the whole copy, even if an `outbox` command writes meanwhile.
    source.exec('BEGIN');
    try {
      return await inTransaction(pool, (client) => copyInto(client, source, sqlitePath, target));
    } catch (error) {
      if (error instanceof StoreCopyError) throw error;
      throw new StoreCopyError(`copy into ${target} failed, nothing was written: ${(error as Error).message}`);
    } finally {
      source.exec('COMMIT');
    }
  } finally {
    db?.close();
    await pool.end();
    lock.release();
  }
}

/** The SQLite store's serve lock, or a StoreCopyError naming the process that serves it. */
async function lockSource(sqlitePath: string, logger: Logger): Promise<StoreLock> {
  try {
    return await acquireStore(sqlitePath, { standby: false, logger });
  } catch (error) {
    if (error instanceof StoreInUseError) {
      throw new StoreCopyError(
        `the SQLite store ${sqlitePath} is in use by ${describeOwner(error.holder)}: stop it before copying ` +
          '(a copy taken while it accepts alerts would miss those that arrive after it, and it would go on sending what the replicas send)',
      );
    }
    throw new StoreCopyError(`cannot take the SQLite store's lock: ${(error as Error).message}`);
  }
}

/** The SQLite store must be at this release's schema and hold no table the copy does not know. */
function checkSource(db: Database.Database, sqlitePath: string): void {
  const version = schemaVersion(db);
  const latest = SQLITE_MIGRATIONS.length;
  if (version > latest) throw new StoreCopyError(`the SQLite store's schema is version ${version}, newer than this chatops-bridge knows (${latest}): copy it with a newer release`);
  if (version < latest) {
    throw new StoreCopyError(`the SQLite store ${sqlitePath} is at schema version ${version}, this release's is ${latest}: run \`chatops-bridge migrate\` on it with this release first (serve does it at start)`);
  }
  const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((t) => t.name);
  const known = new Set([...COPIED_TABLES.map((t) => t.name), ...Object.keys(NOT_COPIED)]);
  const unknown = tables.filter((name) => !known.has(name));
  if (unknown.length > 0) throw new StoreCopyError(`the SQLite store has tables this release cannot copy (${unknown.join(', ')}): copy it with the release that made them`);
}

/** Everything, inside the PostgreSQL transaction of `client`. */
async function copyInto(client: PoolClient, db: Database.Database, sqlitePath: string, target: string): Promise<StoreCopySummary> {
  await lockEmptyTarget(client, target);
  const copied: Record<string, number> = {};
  for (const table of COPIED_TABLES) copied[table.name] = await copyTable(client, db, table);
  const nextIds = await advanceSequences(client, db);
  const pending = db.prepare(`SELECT COUNT(*) AS n FROM deliveries WHERE status = 'pending'`).get() as { n: number };
  return { from: `sqlite:${sqlitePath}`, to: target, copied, pendingDeliveries: pending.n, nextIds };
}

/**
 * Locks the store's tables against every writer (plain reads go on) for the rest of the transaction, then checks
 * that they are empty: a replica started early cannot insert between the check and the commit.
 */
async function lockEmptyTarget(client: PoolClient, target: string): Promise<void> {
  const names = COPIED_TABLES.map((t) => t.name);
  await client.query(`SET LOCAL lock_timeout = '${TABLE_LOCK_WAIT}'`);
  try {
    await client.query(`LOCK TABLE ${names.join(', ')} IN EXCLUSIVE MODE`);
  } catch (error) {
    if ((error as { code?: string }).code !== '55P03') throw error;
    throw new StoreCopyError(`the PostgreSQL store ${target} is in use (its tables stayed locked for ${TABLE_LOCK_WAIT}): stop every serve and command on it, then copy`);
  }
  await client.query(`SET LOCAL lock_timeout = 0`);
  const counts = await client.query<Record<string, number>>(`SELECT ${names.map((n) => `(SELECT COUNT(*) FROM ${n}) AS ${n}`).join(', ')}`);
  const held = Object.entries(counts.rows[0]!).filter(([, n]) => Number(n) > 0);
  if (held.length > 0) {
    throw new StoreCopyError(
      `the PostgreSQL store ${target} is not empty (${held.map(([t, n]) => `${t}: ${n}`).join(', ')}): the copy goes into an empty store only, ` +
        'since its ids and dedup keys would collide with the copied ones. Copy into a new database (or schema), nothing was written',
    );
  }
}

/** Copies one table in key order, in multi-row INSERTs bounded by parameters and size. Returns the rows copied. */
async function copyTable(client: PoolClient, db: Database.Database, table: CopiedTable): Promise<number> {
  const columns = table.columns.map(([column]) => column);
  const maxRows = Math.max(1, Math.floor(MAX_PARAMETERS / columns.length));
  const read = db.prepare(`SELECT ${columns.join(', ')} FROM ${table.name} ORDER BY ${table.key}`);
  let batch: unknown[][] = [];
  let chars = 0;
  let count = 0;
  // Rows are read one at a time while earlier batches are written: a store of large alerts is never held whole.
  for (const row of read.iterate() as Iterable<Record<string, unknown>>) {
    const key = row[table.key];
    const values = table.columns.map(([column, kind]) => toPgValue(table.name, key, column, kind, row[column]));
    batch.push(values);
    chars += values.reduce<number>((sum, v) => sum + (typeof v === 'string' ? v.length : 8), 0);
    count++;
    if (batch.length >= maxRows || chars >= MAX_BATCH_CHARS) {
      await insertRows(client, table, batch);
      batch = [];
      chars = 0;
    }
  }
  if (batch.length > 0) await insertRows(client, table, batch);
  return count;
}

async function insertRows(client: PoolClient, table: CopiedTable, rows: unknown[][]): Promise<void> {
  const width = table.columns.length;
  const tuples = rows.map((_, r) => `(${table.columns.map(([, kind], c) => `$${r * width + c + 1}::${PG_CAST[kind]}`).join(', ')})`);
  await client.query(`INSERT INTO ${table.name} (${table.columns.map(([column]) => column).join(', ')}) VALUES ${tuples.join(', ')}`, rows.flat());
}

/**
 * Sets each identity past the highest id its table ever had in SQLite: the highest copied one, or the higher one
 * `sqlite_sequence` remembers for rows purged since (AUTOINCREMENT never reuses them, and neither may PostgreSQL:
 * log lines and old message refs name them). Returns the id each table's next row gets.
 */
async function advanceSequences(client: PoolClient, db: Database.Database): Promise<Record<string, number>> {
  const used = new Map((db.prepare(`SELECT name, seq FROM sqlite_sequence`).all() as { name: string; seq: number }[]).map((r) => [r.name, Number(r.seq)]));
  const next: Record<string, number> = {};
  for (const table of COPIED_TABLES.filter((t) => t.identity)) {
    const max = await client.query<{ max: number | null }>(`SELECT MAX(id) AS max FROM ${table.name}`);
    const highest = Math.max(max.rows[0]?.max ?? 0, used.get(table.name) ?? 0);
    // setval(…, n, true): the next row gets n + 1; a sequence cannot be set to 0, hence (1, false) for none.
    await client.query(`SELECT setval(pg_get_serial_sequence($1, 'id'), $2, $3)`, [table.name, Math.max(highest, 1), highest > 0]);
    next[table.name] = highest + 1;
  }
  return next;
}
