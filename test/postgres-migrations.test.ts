/**
 * Versioned migrations of the PostgreSQL store (issue 16, point 1), against the real PostgreSQL at 127.0.0.1:5432
 * (`.ci/postgres-up`), each test on a database of its own. What they hold: the steps apply on an empty database and
 * mirror the current SQLite schema; a second run, or a second replica starting at the same moment, applies nothing
 * twice; the pending list is what `migrate --check` will print; the dedup key makes a second accept a duplicate.
 */
import Database from 'better-sqlite3';
import type { Pool } from 'pg';
import { migrate as migrateSqlite } from '../src/delivery/migrate';
import { SQLITE_MIGRATIONS } from '../src/delivery/sqlite-migrations';
import { migratePg, pendingPgMigrations, pgMigrationStatus } from '../src/delivery/postgres/pg-migrate';
import { PG_MIGRATIONS } from '../src/delivery/postgres/pg-migrations';
import { openPgPool, redactPgUrl } from '../src/delivery/postgres/pool';
import { createTestDatabase, type TestDatabase } from './helpers/postgres';

let db: TestDatabase;
const pools: Pool[] = [];
/** A pool on this test's database, closed after the test. */
const pool = (): Pool => {
  const p = openPgPool(db.url, { max: 3 });
  pools.push(p);
  return p;
};

beforeEach(async () => {
  db = await createTestDatabase();
});

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()));
  await db.drop();
});

const versions = (steps: readonly { version: number }[]) => steps.map((s) => s.version);
const ALL = versions(PG_MIGRATIONS);

/** The tables, columns (with NOT NULL) and index names of the current SQLite schema. */
function sqliteSchema(): { columns: Map<string, Map<string, boolean>>; indexes: Set<string> } {
  const sqlite = new Database(':memory:');
  try {
    migrateSqlite(sqlite, SQLITE_MIGRATIONS);
    const tables = sqlite.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all() as { name: string }[];
    const columns = new Map<string, Map<string, boolean>>();
    for (const { name } of tables) {
      const info = sqlite.prepare(`PRAGMA table_info(${name})`).all() as { name: string; notnull: number; pk: number }[];
      // An INTEGER PRIMARY KEY is never NULL, though table_info says notnull 0.
      columns.set(name, new Map(info.map((c) => [c.name, c.notnull === 1 || c.pk > 0])));
    }
    const indexes = sqlite.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'`).all() as { name: string }[];
    return { columns, indexes: new Set(indexes.map((i) => i.name)) };
  } finally {
    sqlite.close();
  }
}

describe('PostgreSQL store migrations', () => {
  it('apply on an empty database, and every table, column (with its NOT NULL) and index of the SQLite schema is there', async () => {
    const p = pool();
    expect(await migratePg(p, PG_MIGRATIONS)).toEqual({ from: 0, to: ALL.length, applied: ALL });

    const pgColumns = await p.query<{ table_name: string; column_name: string; is_nullable: 'YES' | 'NO' }>(
      `SELECT table_name, column_name, is_nullable FROM information_schema.columns WHERE table_schema = current_schema()`,
    );
    const pgIndexes = new Set((await p.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()`)).rows.map((r) => r.indexname));
    const sqlite = sqliteSchema();
    // store_owner names the one SQLite process serving a file; PostgreSQL has a row per replica instead.
    sqlite.columns.delete('store_owner');
    const missing: string[] = [];
    for (const [table, columns] of sqlite.columns) {
      for (const [column, notNull] of columns) {
        const found = pgColumns.rows.find((r) => r.table_name === table && r.column_name === column);
        if (!found) missing.push(`${table}.${column}`);
        else if ((found.is_nullable === 'NO') !== notNull) missing.push(`${table}.${column} ${notNull ? 'NOT NULL' : 'nullable'}`);
      }
    }
    for (const index of sqlite.indexes) if (!pgIndexes.has(index)) missing.push(`index ${index}`);
    expect(missing).toEqual([]);

    // What active replicas need beyond the SQLite schema.
    const has = (table: string, column: string) => pgColumns.rows.some((r) => r.table_name === table && r.column_name === column);
    expect(['claimed_by', 'edit_claimed_by', 'edit_lease_until'].filter((c) => !has('deliveries', c))).toEqual([]);
    expect(['claimed_by', 'lease_until'].filter((c) => !has('panther_sync', c))).toEqual([]);
    expect(['pacing_key', 'next_allowed_at', 'retry_after_until'].filter((c) => !has('channel_pace', c))).toEqual([]);
    expect(['instance_id', 'seen_at'].filter((c) => !has('replicas', c))).toEqual([]);
  });

  it('a second run applies nothing and leaves the history as it was', async () => {
    const p = pool();
    await migratePg(p, PG_MIGRATIONS);
    const history = (await p.query(`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)).rows;
    expect(await migratePg(p, PG_MIGRATIONS)).toEqual({ from: ALL.length, to: ALL.length, applied: [] });
    expect((await p.query(`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)).rows).toEqual(history);
  });

  it('replicas starting together (four pools racing) apply each step exactly once', async () => {
    const racers = [pool(), pool(), pool(), pool()];
    const results = await Promise.all(racers.map((p) => migratePg(p, PG_MIGRATIONS)));
    // Whoever got the lock first did everything; the others found every step recorded.
    expect(results.flatMap((r) => r.applied).sort()).toEqual(ALL);
    expect(results.filter((r) => r.applied.length > 0)).toHaveLength(1);
    const rows = await racers[0]!.query<{ version: number; n: number }>(`SELECT version, COUNT(*) AS n FROM schema_migrations GROUP BY version ORDER BY version`);
    expect(rows.rows).toEqual(ALL.map((version) => ({ version, n: 1 })));
  });

  it('lists the pending steps before, between and after, and names versions a newer release applied', async () => {
    const p = pool();
    const all = PG_MIGRATIONS.map(({ version, name }) => ({ version, name }));
    expect(await pendingPgMigrations(p, PG_MIGRATIONS)).toEqual(all);
    await migratePg(p, PG_MIGRATIONS.slice(0, 1));
    expect(await pendingPgMigrations(p, PG_MIGRATIONS)).toEqual(all.slice(1));
    await migratePg(p, PG_MIGRATIONS);
    expect(await pgMigrationStatus(p, PG_MIGRATIONS)).toEqual({ applied: ALL, pending: [], unknown: [] });
    // Older code on a newer database: it lists what it does not know and refuses to run on it.
    expect(await pgMigrationStatus(p, PG_MIGRATIONS.slice(0, 1))).toEqual({ applied: ALL, pending: [], unknown: ALL.slice(1) });
    await expect(migratePg(p, PG_MIGRATIONS.slice(0, 1))).rejects.toThrow(`the store's schema is version ${ALL.length}, newer than this chatops-bridge knows (1)`);
  });

  it('a failing step leaves nothing of itself, and says which step failed', async () => {
    const p = pool();
    const broken = [...PG_MIGRATIONS, { version: ALL.length + 1, name: 'a broken step', sql: `CREATE TABLE half_done (id int); SELECT no_such_function()` }];
    await expect(migratePg(p, broken)).rejects.toThrow(`store migration ${ALL.length + 1} (a broken step) failed, nothing of it was applied`);
    expect((await p.query(`SELECT to_regclass('half_done') AS t`)).rows[0].t).toBeNull();
    expect(await pendingPgMigrations(p, broken)).toEqual([{ version: ALL.length + 1, name: 'a broken step' }]);
  });

  it('waits a bounded time for a migrator that holds the lock, then fails saying so', async () => {
    const holder = await pool().connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(hashtext('chatops-bridge:migrations'), hashtext(current_schema()))`);
      await expect(migratePg(pool(), PG_MIGRATIONS, { lockWaitMs: 300 })).rejects.toThrow('another process has been migrating the store for over 0 s');
    } finally {
      holder.release(true);
    }
    // The lock went with the holder's connection: the next start migrates.
    expect((await migratePg(pool(), PG_MIGRATIONS)).applied).toEqual(ALL);
  });
});

/** Polls `check` every 20 ms until it holds (at most 5 s). */
async function waitFor(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('PostgreSQL store schema', () => {
  const insertAlert = `INSERT INTO alerts (source, dedup_key, alert_id, severity, title, alert_json, received_at)
                       VALUES ($1, $2, 'a-1', 'HIGH', 'title', $3, 1700000000000)`;

  it('a second alert with the same (source, dedup key) is a conflict; another source is not', async () => {
    const p = pool();
    await migratePg(p, PG_MIGRATIONS);
    const first = await p.query<{ id: number }>(`${insertAlert} RETURNING id`, ['panther', 'k1', '{}']);
    // int8 ids come back as numbers, like SQLite's.
    expect(first.rows[0]!.id).toBe(1);
    await expect(p.query(insertAlert, ['panther', 'k1', '{}'])).rejects.toMatchObject({ code: '23505', constraint: 'alerts_dedup' });
    // The form accept will use: nothing inserted, so the answer is "duplicate".
    expect((await p.query(`${insertAlert} ON CONFLICT (source, dedup_key) DO NOTHING`, ['panther', 'k1', '{}'])).rowCount).toBe(0);
    expect((await p.query(insertAlert, ['alertmanager', 'k1', '{}'])).rowCount).toBe(1);
  });

  it('two replicas accepting the same retry at the same moment: one inserts, the other waits and inserts nothing', async () => {
    const p = pool();
    await migratePg(p, PG_MIGRATIONS);
    const a = await p.connect();
    const b = await p.connect();
    try {
      const bPid = (await b.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`)).rows[0]!.pid;
      await a.query('BEGIN');
      await b.query('BEGIN');
      const first = await a.query(`${insertAlert} ON CONFLICT (source, dedup_key) DO NOTHING`, ['panther', 'same', '{}']);
      // B's insert blocks on A's uncommitted row until A commits, then finds the conflict.
      const second = b.query(`${insertAlert} ON CONFLICT (source, dedup_key) DO NOTHING`, ['panther', 'same', '{}']);
      await waitFor(async () => (await p.query(`SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1`, [bPid])).rows[0]?.wait_event_type === 'Lock');
      await a.query('COMMIT');
      expect(first.rowCount).toBe(1);
      expect((await second).rowCount).toBe(0);
      await b.query('COMMIT');
    } finally {
      a.release();
      b.release();
    }
    expect((await p.query(`SELECT COUNT(*) AS n FROM alerts`)).rows[0].n).toBe(1);
  });

  it('keeps an alert whose JSON holds \\u0000 as written (jsonb would refuse it); a raw NUL in a text column is refused', async () => {
    const p = pool();
    await migratePg(p, PG_MIGRATIONS);
    const json = JSON.stringify({ title: 'nul\u0000byte', b: 1, a: 2 });
    await p.query(insertAlert, ['panther', 'nul', json]);
    const row = (await p.query<{ text: string }>(`SELECT alert_json::text AS text FROM alerts WHERE dedup_key = 'nul'`)).rows[0]!;
    expect(row.text).toBe(json);
    // What the engine must deal with before it stores alert text in plain columns (title, ids, link).
    await expect(p.query(`SELECT $1::text`, ['nul\u0000byte'])).rejects.toThrow('invalid byte sequence for encoding "UTF8": 0x00');
  });
});

describe('redactPgUrl', () => {
  it('masks the password of a connection string and shows the rest', () => {
    expect(redactPgUrl('postgres://bridge:s3cret@db.internal:5432/alerts?sslmode=require')).toBe('postgres://bridge:***@db.internal:5432/alerts?sslmode=require');
    expect(redactPgUrl('postgres://db/alerts?password=s3cret')).toBe('postgres://db/alerts?password=***');
    expect(redactPgUrl('not a url s3cret')).not.toContain('s3cret');
  });
});
