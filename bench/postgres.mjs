/**
 * PostgreSQL for `npm run bench -- --store postgres`: a database of its own per store configuration (random
 * name, dropped at the end, as test/helpers/postgres.ts does for tests), and the server's CPU over a measurement.
 * CB_BENCH_PG_URL names the server and its maintenance database (default: the project's local server, trust auth).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { childrenCpu, cmdline, parentOf } from './cpu.mjs';

export const PG_ADMIN_URL = process.env.CB_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function admin(work) {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`bench: PostgreSQL does not answer at ${PG_ADMIN_URL} (run .ci/postgres-up): ${error.message}`);
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** An empty database `cb_bench_<pid>_<hex>`: { name, url, drop() }. A bench killed before `drop()` leaves it behind. */
export async function createBenchDatabase() {
  const name = `cb_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)) };
}

/** The server-wide processes PostgreSQL 15 runs beside its backends (`ps` shows them as "postgres: 15/main: walwriter"). */
const BACKGROUND = /^(checkpointer|background writer|walwriter|autovacuum launcher|logical replication launcher|archiver|startup|walreceiver|walsender .*)$/;

/**
 * The postmaster's pid when the server runs on this machine and its processes are readable here (the parent of
 * our own backend), else undefined: then the PostgreSQL CPU rows say n/a.
 */
export async function postmasterPid() {
  // Read while the connection is open: its backend exits with it.
  const parent = await admin(async (c) => parentOf((await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid));
  return parent && /postgres/.test(cmdline(parent) ?? '') ? parent : undefined;
}

/**
 * CPU of the server over a measurement, in two groups: `backends`, the backend processes connected to `database`
 * (the bridges' pooled connections; autovacuum workers of that database too), and `background`, the server-wide
 * walwriter, checkpointer, background writer and launchers, which also work for anything else that uses the server
 * at the same time. Other databases' backends are not counted.
 */
export function serverCpu(postmaster, database) {
  return childrenCpu(postmaster, (line) => {
    // "postgres: 15/main: <user> <database> <host>(<port>) <state>" or "postgres: 15/main: walwriter".
    const m = /^postgres: [^:]+: (.*)$/.exec(line);
    if (!m) return undefined;
    const what = m[1].trim();
    if (BACKGROUND.test(what)) return 'background';
    const words = what.split(/\s+/);
    if (words[0] === 'autovacuum' && words[1] === 'worker') return words.includes(database) ? 'backends' : null;
    return words[1] === database ? 'backends' : null;
  });
}
