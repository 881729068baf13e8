import type { Command } from 'commander';
import type { StoreConfig } from '../config/schema';
import { sqliteMigrationStatus, type MigrationStatus } from '../delivery/migration-status';
import { OutboxStore } from '../delivery/store';
import { openPgPool, redactPgUrl } from '../delivery/postgres/pool';
import type * as PgMigrateModule from '../delivery/postgres/pg-migrate';
import type * as PgMigrationsModule from '../delivery/postgres/pg-migrations';
import type * as StoreCopyModule from '../delivery/store-copy';
import { createLogger } from '../observability/logger';
import { storeLabel } from './store-engine';

/**
 * `migrate [--check]`: the store's schema migrations. `serve` applies them itself at start; this lets an operator
 * see what a new release will do to a store before rolling it out (`--check`: list, change nothing; exit 1 when
 * steps are pending, so a deploy script can tell), or apply them ahead of time. Safe beside a running `serve`:
 * each step is one transaction that re-reads the version first (on PostgreSQL, under the migrations' lock that
 * starting replicas take too).
 *
 * `migrate --from sqlite:<path> [--to postgres://…]`: moves a SQLite store to PostgreSQL — copies its pending work
 * and history into a new, empty PostgreSQL store (store-copy.ts) and prints what it copied. Without `--to` the
 * config's `store.url` is the target, which keeps the database password off the command line.
 */
/*
 * The PostgreSQL migrations and the store copy, loaded when a command needs them: every command (`serve` too) loads
 * this module to register `migrate`, and a SQLite bridge never runs them.
 */
const pgMigrate = (): typeof PgMigrateModule => require('../delivery/postgres/pg-migrate');
const pgMigrations = (): typeof PgMigrationsModule => require('../delivery/postgres/pg-migrations');
const storeCopy = (): typeof StoreCopyModule => require('../delivery/store-copy');

export function addMigrateCommand(program: Command, storeOf: (configFile?: string) => StoreConfig, fail: (message: string) => never): void {
  program
    .command('migrate')
    .description("apply the store's schema migrations now (serve does at start); --check lists pending ones without changing anything")
    .option('-c, --config <file>', 'config file')
    .option('--check', 'list pending migrations, change nothing; exit 1 when any is pending')
    .option('--from <sqlite:path>', 'copy this SQLite store (serve stopped) into an empty PostgreSQL store: pending work and history')
    .option('--to <postgres-url>', "with --from: the PostgreSQL store to copy into (default: the config's store.url)")
    .action(async (options: { config?: string; check?: boolean; from?: string; to?: string }) => {
      if (options.from !== undefined || options.to !== undefined) return copyStore(options, storeOf, fail);
      const store = storeOf(options.config);
      const label = storeLabel(store);
      let before: MigrationStatus;
      try {
        before = await migrationStatus(store);
      } catch (error) {
        fail(`cannot read the store ${label}: ${(error as Error).message}`);
      }
      if (options.check) {
        process.stdout.write(`${JSON.stringify(before, null, 2)}\n`);
        process.exitCode = before.pending.length > 0 ? 1 : 0;
        return;
      }
      try {
        await migrate(store);
      } catch (error) {
        fail(`cannot migrate the store ${label}: ${(error as Error).message}`);
      }
      process.stdout.write(`${JSON.stringify({ store: label, from: before.current, to: before.latest, applied: before.pending }, null, 2)}\n`);
    });
}

/** Where the store's schema stands, read without changing it. */
async function migrationStatus(store: StoreConfig): Promise<MigrationStatus> {
  if (store.engine === 'sqlite') return sqliteMigrationStatus(store.path);
  const pool = openPgPool(store.url, { max: 1, applicationName: 'chatops-bridge migrate --check' });
  const { PG_MIGRATIONS } = pgMigrations();
  try {
    const status = await pgMigrate().pgMigrationStatus(pool, PG_MIGRATIONS);
    if (status.unknown.length > 0) {
      throw new Error(`the database has schema versions ${status.unknown.join(', ')}, newer than this chatops-bridge knows (${PG_MIGRATIONS.length}): run a newer release on it`);
    }
    return { engine: 'postgres', store: storeLabel(store), current: status.applied.length, latest: PG_MIGRATIONS.length, pending: status.pending };
  } finally {
    await pool.end();
  }
}

async function migrate(store: StoreConfig): Promise<void> {
  if (store.engine === 'sqlite') return new OutboxStore(store.path).close();
  const pool = openPgPool(store.url, { max: 1, applicationName: 'chatops-bridge migrate' });
  try {
    await pgMigrate().migratePg(pool, pgMigrations().PG_MIGRATIONS);
  } finally {
    await pool.end();
  }
}

/** `migrate --from sqlite:<path> [--to postgres://…]`: the copy, its JSON summary on stdout, or why not on stderr. */
async function copyStore(options: { config?: string; check?: boolean; from?: string; to?: string }, storeOf: (configFile?: string) => StoreConfig, fail: (message: string) => never): Promise<void> {
  if (options.check) fail('--check lists pending migrations of one store; it does not go with --from / --to');
  if (options.from === undefined) fail('--to needs --from sqlite:<path>: the SQLite store to copy');
  const from = /^sqlite:(.+)$/.exec(options.from);
  if (!from) fail(`--from takes sqlite:<path of the SQLite store>, e.g. --from sqlite:./data/chatops-bridge.db`);
  let url = options.to;
  if (url === undefined) {
    const store = storeOf(options.config);
    if (store.engine !== 'postgres') fail('say where to copy to: --to postgres://…, or a config whose store.url is the PostgreSQL store');
    url = store.url;
  }
  // Never echoed: a string that is not a PostgreSQL URL may be a password typed in the wrong place.
  if (!/^postgres(ql)?:\/\/\S+$/.test(url)) fail('--to takes a PostgreSQL URL, e.g. postgres://bridge:${DB_PASSWORD}@db:5432/chatops');
  const { copySqliteToPostgres, StoreCopyError } = storeCopy();
  try {
    const summary = await copySqliteToPostgres(from[1]!, url, createLogger());
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } catch (error) {
    const message = error instanceof StoreCopyError ? error.message : `copy into ${redactPgUrl(url)} failed: ${(error as Error).message}`;
    fail(`cannot copy the store: ${message}`);
  }
}
