import type { Logger } from 'pino';
import type { OutboxStore } from './store';
import type { StoreEngine } from './store-contract';
import { acquireStore, currentOwner } from './store-owner';
import { openOwnedStore, startOwnerHeartbeat } from './store-open';
import { SqliteEngine } from './sqlite-engine';

/** The store `serve` runs on, whichever the engine. */
export interface ServedStore {
  readonly engine: StoreEngine;
  /** The SQLite store itself (its synchronous API, for tools and tests); undefined on PostgreSQL. */
  readonly sqlite?: OutboxStore;
  /** This process's instance id (in the owner row or the replicas table, and in /metrics). */
  readonly instanceId: string;
  /** Whether the store answers and takes writes: probed at most once a second, however many callers ask. */
  writable(): Promise<boolean>;
  /** Closes the engine and gives the store up (on SQLite: the owner row, then the lock, last). */
  close(): Promise<void>;
}

export interface ServeStoreOptions {
  /** SQLite: wait for another `serve` holding the store instead of refusing. */
  standby: boolean;
  logger: Logger;
  /** SQLite: another process took the store over; the caller must stop serving at once. */
  lost: () => void;
}

/**
 * Opens the store `serve` runs on. SQLite: takes the store's lock (refusing, or waiting as a standby, while another
 * process holds it), records this process as the owner with a heartbeat, frees leases a dead owner left. The
 * store's own settings are in `config.store` (`path`).
 */
export async function openServedStore(store: { path: string }, options: ServeStoreOptions): Promise<ServedStore> {
  const { logger } = options;
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
  const engine = SqliteEngine.forServe(sqlite, logger);
  // The owner row's heartbeat: what a second serve checks when the lock file cannot see us (store-owner.ts).
  const heartbeat = startOwnerHeartbeat(sqlite, owner, store.path, logger, options.lost);
  const pending = sqlite.counts().pending;
  if (pending > 0) logger.info({ pending, released: opened.released }, 'resuming pending deliveries');
  return {
    engine,
    sqlite,
    instanceId: owner.instanceId,
    writable: cachedProbe(() => engine.isWritable()),
    close: async () => {
      clearInterval(heartbeat);
      try {
        sqlite.forgetOwner(owner.instanceId);
      } catch (error) {
        // Only a name: the next owner overwrites it. Closing and unlocking must happen regardless.
        logger.warn({ err: { message: (error as Error).message } }, 'could not remove the store owner row');
      }
      // The checkpoint thread's connection first: the store's close is then the last and checkpoints what is left.
      await engine.close();
      // Last: a standby may start the moment the lock is free, and every row must be final by then.
      lock.release();
    },
  };
}

/**
 * `probe` run at most once per `everyMs`; callers in between share the last answer (or the probe in flight).
 * /readyz needs no credentials, so pollers must not be able to make the store work for each of their requests.
 */
export function cachedProbe(probe: () => Promise<boolean>, everyMs = 1000): () => Promise<boolean> {
  let last: { at: number; answer: Promise<boolean> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= everyMs) last = { at: now, answer: probe().catch(() => false) };
    return last.answer;
  };
}
