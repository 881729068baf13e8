import { randomUUID } from 'node:crypto';
import type { StoreConfig } from '../config/schema';
import { OutboxStore } from '../delivery/store';
import { SqliteEngine } from '../delivery/sqlite-engine';
import type * as PostgresEngineModule from '../delivery/postgres/postgres-engine';
import { redactPgUrl } from '../delivery/postgres/pool';
import type { StoreEngine } from '../delivery/store-contract';

/** The PostgreSQL engine, loaded only for a PostgreSQL store: every command (`serve` too) loads this module. */
const postgres = (): typeof PostgresEngineModule => require('../delivery/postgres/postgres-engine');

/** How the CLI names a store in its messages: the file, or the database URL without its password. */
export const storeLabel = (store: StoreConfig): string => (store.engine === 'postgres' ? redactPgUrl(store.url) : store.path);

/**
 * Opens the config's store for one CLI command (safe beside a running `serve`: SQLite in WAL mode, PostgreSQL with
 * its replicas). The command's instance id is its own, so it never holds or finishes a replica's lease.
 */
export async function openCliEngine(store: StoreConfig): Promise<StoreEngine> {
  if (store.engine === 'sqlite') return new SqliteEngine(new OutboxStore(store.path));
  return postgres().PostgresEngine.open(store.url, `cli-${randomUUID()}`);
}
