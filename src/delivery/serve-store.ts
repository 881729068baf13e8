import type { Logger } from 'pino';
import type { OutboxStore } from './store';
import type { StoreEngine } from './store-contract';
import { acquireStore, currentOwner } from './store-owner';
import { openOwnedStore, startOwnerHeartbeat } from './store-open';
import { SqliteEngine } from './sqlite-engine';
import type { StoreConfig } from '../config/schema';
import { cachedProbe, type ServedStore } from './served-store';
import type * as ServePostgres from './postgres/serve-postgres';

export { cachedProbe, type ServedStore, type StoreWakes, type WakeTargets } from './served-store';

/**
 * The PostgreSQL side (its engine, wake-ups and replica registry), loaded only for a PostgreSQL store: a bridge on
 * SQLite never runs it, and its modules are a MB of heap in each thread that would load them.
 */
const servePostgres = (): typeof ServePostgres => require('./postgres/serve-postgres');

export interface ServeStoreOptions {
  /** SQLite: wait for another `serve` holding the store instead of refusing. */
  standby: boolean;
  logger: Logger;
  /** SQLite: another process took the store over; the caller must stop serving at once. */
  lost: () => void;
  /**
   * SQLite: a delivery thread will run the WAL checkpoints, attached to the served store's `checkpoints` while it
   * runs; without it, a thread of their own does (store-open.ts).
   */
  deliveryThread?: boolean;
}

/**
 * Opens the store `serve` runs on. SQLite: takes the store's lock (refusing, or waiting as a standby, while another
 * process holds it), records this process as the owner with a heartbeat, frees leases a dead owner left.
 * PostgreSQL: migrates the schema (once, whichever replica comes first) and serves beside any other replicas; a
 * replica's leases run out on their own when it dies, so nothing is freed at start.
 */
export async function openServedStore(store: StoreConfig, options: ServeStoreOptions): Promise<ServedStore> {
  return store.engine === 'postgres' ? servePostgres().openPostgres(store.url, options.logger) : openSqlite(store.path, options);
}

async function openSqlite(path: string, options: ServeStoreOptions): Promise<ServedStore> {
  const { logger } = options;
  const store = { path };
  // The lock first (for ':memory:' there is none), then the store and the row that names us in it.
  const lock = await acquireStore(store.path, { standby: options.standby, logger });
  const owner = currentOwner();
  let opened: { store: OutboxStore; released: number };
  try {
    opened = await openOwnedStore(store.path, owner, logger);
  } catch (error) {
    lock.release();
    throw error;
  }
  const sqlite = opened.store;
  logger.info({ store: store.path, instanceId: owner.instanceId }, 'store locked; this process serves it');
  const engine = SqliteEngine.forServe(sqlite, logger, options.deliveryThread === true);
  // The owner row's heartbeat: what a second serve checks when the lock file cannot see us (store-owner.ts).
  const heartbeat = startOwnerHeartbeat(sqlite, owner, store.path, logger, options.lost);
  const pending = sqlite.counts().pending;
  if (pending > 0) logger.info({ pending, released: opened.released }, 'resuming pending deliveries');
  return {
    engine,
    sqlite,
    ...(engine.checkpoints ? { checkpoints: engine.checkpoints } : {}),
    instanceId: owner.instanceId,
    health: sqliteHealth(engine, cachedProbe(() => engine.isWritable())),
    close: async () => {
      clearInterval(heartbeat);
      try {
        sqlite.owner().forget(owner.instanceId);
      } catch (error) {
        // Only a name: the next owner overwrites it. Closing and unlocking must happen regardless.
        logger.warn({ err: { message: (error as Error).message } }, 'could not remove the store owner row');
      }
      // The checkpoints end first (and the checkpoint thread's connection closes): the store's close is then the
      // last and checkpoints what is left.
      await engine.close();
      // Last: a standby may start the moment the lock is free, and every row must be final by then.
      lock.release();
    },
  };
}

/** SQLite's readiness: writable, and its log synced whenever asked (wal-sync.ts). */
function sqliteHealth(engine: SqliteEngine, writable: () => Promise<boolean>): () => Promise<{ ok: boolean; detail?: string }> {
  return async () => {
    const failure = engine.logFailure;
    if (!failure) return { ok: await writable() };
    const cause = (failure as NodeJS.ErrnoException).code ?? failure.message;
    return { ok: false, detail: `a sync of the store's log failed (${cause}); webhooks are answered 503 until serve is restarted` };
  };
}
