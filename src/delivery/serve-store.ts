import type { Logger } from 'pino';
import type { OutboxStore } from './store';
import type { StoreEngine } from './store-contract';
import { acquireStore, currentOwner, type StoreOwner } from './store-owner';
import { openOwnedStore, startOwnerHeartbeat } from './store-open';
import { SqliteEngine } from './sqlite-engine';
import type { StoreConfig } from '../config/schema';
import { PostgresEngine } from './postgres/postgres-engine';
import { redactPgUrl } from './postgres/pool';
import { beatReplica, forgetReplica, REPLICA_HEARTBEAT_MS, type ClockReading } from './postgres/pg-replicas';
import { PgWakeAnnouncer, PgWakeListener, wakeChannel, type WakeTargets } from './postgres/pg-wake';

export type { WakeTargets } from './postgres/pg-wake';

/**
 * Wake-ups between the processes that share a store (PostgreSQL LISTEN/NOTIFY, pg-wake.ts). Absent on SQLite,
 * where one process receives and delivers and wakes its own loops.
 */
export interface StoreWakes {
  /** Tells the other processes that work was recorded; call after the commit that recorded it. */
  readonly announce: WakeTargets;
  /**
   * Wakes `targets` whenever another process announces work, over a connection of its own that is reconnected
   * when lost, until `stop`. Wake-ups only hasten the loops' polls; they are never needed for correctness.
   */
  listen(targets: WakeTargets): { stop(): Promise<void> };
}

/** The store `serve` runs on, whichever the engine. */
export interface ServedStore {
  readonly engine: StoreEngine;
  /** The SQLite store itself (its synchronous API, for tools and tests); undefined on PostgreSQL. */
  readonly sqlite?: OutboxStore;
  /** This process's instance id (in the owner row or the replicas table, and in /metrics). */
  readonly instanceId: string;
  /** PostgreSQL: wake-ups across the processes sharing the store. */
  readonly wakes?: StoreWakes;
  /**
   * The store's part of /readyz: it answers and takes writes (probed at most once a second, however many callers
   * ask), and on SQLite its log has never failed a sync (after one, webhooks are answered 503 until a restart).
   */
  health(): Promise<{ ok: boolean; detail?: string }>;
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
 * process holds it), records this process as the owner with a heartbeat, frees leases a dead owner left.
 * PostgreSQL: migrates the schema (once, whichever replica comes first) and serves beside any other replicas; a
 * replica's leases run out on their own when it dies, so nothing is freed at start.
 */
export async function openServedStore(store: StoreConfig, options: ServeStoreOptions): Promise<ServedStore> {
  return store.engine === 'postgres' ? openPostgres(store.url, options.logger) : openSqlite(store.path, options);
}

async function openPostgres(url: string, logger: Logger): Promise<ServedStore> {
  const owner = currentOwner();
  const { instanceId } = owner;
  let engine: PostgresEngine;
  try {
    engine = await PostgresEngine.open(url, instanceId, logger);
  } catch (error) {
    // The driver's message names the host or the refusal, never the password; the URL is shown redacted.
    throw new Error(`cannot open the PostgreSQL store ${redactPgUrl(url)}: ${(error as Error).message}`);
  }
  logger.info({ store: redactPgUrl(url), instanceId }, 'store opened (PostgreSQL); this replica serves it beside any others');
  const pending = (await engine.counts()).pending;
  if (pending > 0) logger.info({ pending }, 'pending deliveries in the store');
  const writable = cachedProbe(() => engine.isWritable());
  const wakes = await storeWakes(engine, url, logger);
  const registry = registerReplica(engine, owner, logger);
  return {
    engine,
    instanceId,
    wakes,
    health: async () => ({ ok: await writable() }),
    close: async () => {
      await wakes.close();
      await registry.stop();
      await engine.close();
    },
  };
}

/** The store's LISTEN/NOTIFY wake-ups, on the channel of its schema; `close` ends them before the pool closes. */
async function storeWakes(engine: PostgresEngine, url: string, logger: Logger): Promise<StoreWakes & { close(): Promise<void> }> {
  const channel = await wakeChannel(engine.pool);
  const announce = new PgWakeAnnouncer(engine.pool, channel, engine.instanceId, logger);
  const listeners = new Set<PgWakeListener>();
  const secrets = [url, pgPassword(url)].filter((s): s is string => Boolean(s));
  return {
    announce,
    listen: (targets) => {
      const listener = new PgWakeListener(targets, { url, channel, instanceId: engine.instanceId, logger, secrets });
      listeners.add(listener);
      listener.start();
      return {
        stop: async () => {
          listeners.delete(listener);
          await listener.stop();
        },
      };
    },
    close: async () => {
      announce.close();
      await Promise.all([...listeners].map((l) => l.stop()));
      listeners.clear();
    },
  };
}

/** The password of a PostgreSQL URL (a driver error could echo it), or undefined. */
export function pgPassword(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Keeps this replica's row in `replicas` (who serves the database, and each one's clock skew, for `doctor`), renewed
 * every {@link REPLICA_HEARTBEAT_MS}. A missed beat is only logged: the database's loss shows in /readyz already.
 */
function registerReplica(engine: PostgresEngine, owner: StoreOwner, logger: Logger): { stop(): Promise<void> } {
  let reading: ClockReading | undefined;
  let beating: Promise<void> | undefined;
  let stopped = false;
  // One beat at a time: with a slow database, overlapping beats could re-insert the row after stop() removed it.
  const beat = () => {
    if (beating || stopped) return;
    beating = beatReplica(engine.pool, owner, reading)
      .then((recorded) => void (reading = recorded))
      .catch((error: unknown) => logger.debug({ err: (error as Error).message }, 'replica heartbeat not recorded'))
      .finally(() => (beating = undefined));
  };
  beat();
  const timer = setInterval(beat, REPLICA_HEARTBEAT_MS);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await beating;
      await forgetReplica(engine.pool, owner.instanceId).catch(() => undefined);
    },
  };
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
  const engine = SqliteEngine.forServe(sqlite, logger);
  // The owner row's heartbeat: what a second serve checks when the lock file cannot see us (store-owner.ts).
  const heartbeat = startOwnerHeartbeat(sqlite, owner, store.path, logger, options.lost);
  const pending = sqlite.counts().pending;
  if (pending > 0) logger.info({ pending, released: opened.released }, 'resuming pending deliveries');
  return {
    engine,
    sqlite,
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

/** SQLite's readiness: writable, and its log synced whenever asked (wal-sync.ts). */
function sqliteHealth(engine: SqliteEngine, writable: () => Promise<boolean>): () => Promise<{ ok: boolean; detail?: string }> {
  return async () => {
    const failure = engine.logFailure;
    if (!failure) return { ok: await writable() };
    const cause = (failure as NodeJS.ErrnoException).code ?? failure.message;
    return { ok: false, detail: `a sync of the store's log failed (${cause}); webhooks are answered 503 until serve is restarted` };
  };
}
