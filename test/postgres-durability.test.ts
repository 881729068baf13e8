/**
 * The PostgreSQL store's commits are on disk when they resolve (an accept answered 2xx, a click acknowledged),
 * whatever the server's defaults: an operator's `synchronous_commit = off` (for the database, the role, or in
 * postgresql.conf: a common tuning) lets a commit return before its WAL is flushed, and a crash of the server then
 * loses what the bridge promised.
 */
import { Client } from 'pg';
import { PostgresEngine } from '../src/delivery/postgres/postgres-engine';
import { useTestDatabase } from './helpers/postgres';

const db = useTestDatabase();

it('keeps synchronous_commit on for its own connections where the database turns it off by default', async () => {
  const admin = new Client({ connectionString: db.url });
  await admin.connect();
  await admin.query(`ALTER DATABASE "${db.name}" SET synchronous_commit = off`);
  await admin.end();
  const engine = await PostgresEngine.open(db.url, 'replica-a');
  try {
    // Pooled connections (accepts, each a transaction of its own) and a transaction's connection alike.
    const pooled = await Promise.all(Array.from({ length: 3 }, () => engine.pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit')));
    expect(pooled.map((r) => r.rows[0]!.synchronous_commit)).toEqual(['on', 'on', 'on']);
    const client = await engine.pool.connect();
    try {
      await client.query('BEGIN');
      expect((await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]!.synchronous_commit).toBe('on');
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
  } finally {
    await engine.close();
  }
});
