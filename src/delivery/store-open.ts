import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { OutboxStore } from './store';
import { whenLockFree } from './lock-wait';
import { isStoreBusy } from './store-errors';
import { OWNER_HEARTBEAT_MS, type StoreOwner } from './store-owner';
import { WalSync } from './wal-sync';
import { CheckpointThread } from './checkpoint-thread';
import { Checkpointer } from './checkpointer';

/** How long `serve` waits at start for a write lock another connection holds (an outbox command, a backup). */
const STARTUP_LOCK_WAIT_MS = 60_000;

/**
 * Opens the store (migrating it), records this process as its owner and frees every lease left in it — each lease
 * belongs to a process that is gone, since the kernel frees the lock only when its holder stops or dies. A write
 * lock held by another connection (`outbox purge`, a backup) is waited for, up to {@link STARTUP_LOCK_WAIT_MS}
 * and said in the log, instead of failing the start after one busy timeout: a standby taking over during a purge
 * used to exit, leaving nothing to serve the store.
 */
export async function openOwnedStore(storePath: string, owner: StoreOwner, logger: Logger): Promise<{ store: OutboxStore; released: number }> {
  const open = () => {
    const store = new OutboxStore(storePath);
    try {
      store.owner().record(owner);
      return { store, released: store.releaseAllLeases() };
    } catch (error) {
      store.close();
      throw error;
    }
  };
  try {
    return await whenLockFree(open, STARTUP_LOCK_WAIT_MS, () =>
      logger.warn({ store: storePath }, `the store's write lock is held by another connection (an outbox command, a backup?); waiting up to ${STARTUP_LOCK_WAIT_MS / 1000} s`),
    );
  } catch (error) {
    if (!isStoreBusy(error)) throw error;
    throw new Error(`the store's write lock stayed held by another connection for ${STARTUP_LOCK_WAIT_MS / 1000} s (an outbox command, a backup?): ${(error as Error).message}`);
  }
}

/**
 * Renews the owner row's heartbeat every {@link OWNER_HEARTBEAT_MS} (what a second `serve` checks when the lock
 * file cannot see this one). When the row names another process, calls `lost` once: the caller must stop serving.
 * Returns the timer to clear.
 */
export function startOwnerHeartbeat(store: OutboxStore, owner: StoreOwner, storePath: string, logger: Logger, lost: () => void): NodeJS.Timeout {
  const heartbeat = setInterval(() => {
    try {
      if (!store.briefly(() => store.owner().heartbeat(owner.instanceId))) {
        // Another serve took the store over (this one was frozen past the stale time with its lock file gone, or
        // reached the store by a path the lock could not see): this one must stop sending at once, or both post.
        clearInterval(heartbeat);
        logger.error({ store: storePath, instanceId: owner.instanceId }, 'another process has taken over this store; stopping at once so that nothing is posted twice');
        lost();
      }
    } catch (error) {
      // A store busy past the brief wait: the next beat comes in a few seconds, well before the row goes stale.
      logger.warn({ err: { message: (error as Error).message, code: (error as { code?: unknown }).code } }, 'could not renew the store owner heartbeat');
    }
  }, OWNER_HEARTBEAT_MS);
  heartbeat.unref();
  return heartbeat;
}

/** What `serve` runs beside its SQLite store: see {@link startLogHousekeeping}. */
export interface LogHousekeeping {
  walSync?: WalSync;
  /** The WAL checkpoints' side on the store's connection; a runner must be attached to it for them to run. */
  checkpoints?: Checkpointer;
  /** Ends the checkpoints (and their thread) and the log syncer; must run before the store closes. */
  stop(): Promise<void>;
}

/**
 * Keeps disk work of the store off the event loop while `serve` runs: accepts are synced by a {@link WalSync} on
 * the thread pool, and WAL checkpoints run on another thread ({@link Checkpointer}): `'own thread'`, a
 * {@link CheckpointThread} started here; `'delivery thread'`, none (the delivery thread attaches itself to
 * `checkpoints` while it runs, and the store's connection checkpoints on commit while it does not). Both only when
 * the store has a log on disk (not in memory). A failed sync of the log is logged (error) once, and
 * `walSync.failure` stays set: nothing more may be answered 2xx until a restart.
 */
export function startLogHousekeeping(store: OutboxStore, logger: Logger, checkpointsIn: 'own thread' | 'delivery thread'): LogHousekeeping {
  const walFile = store.walFile();
  if (!walFile) return { stop: async () => {} };
  if (!existsSync(walFile)) {
    // Not where SQLite keeps it (an unusual VFS or file system): accepts keep syncing in place, as before.
    logger.warn({ walFile }, 'the store has no write-ahead log file where expected; accepts are synced on the event loop');
    return { stop: async () => {} };
  }
  const checkpoints = new Checkpointer(store, logger);
  const thread = checkpointsIn === 'own thread' ? new CheckpointThread(store.file, checkpoints, logger) : undefined;
  const walSync = new WalSync(walFile, (error) =>
    logger.error(
      { walFile, err: { message: error.message, code: (error as NodeJS.ErrnoException).code } },
      "a sync of the store's write-ahead log failed: every webhook is answered 503 until serve is restarted (what that sync held may not be on disk, and every later commit comes after it in the log)",
    ),
  );
  const stop = async () => {
    checkpoints.stop();
    await Promise.all([thread?.close(), walSync.close()]);
  };
  return { walSync, checkpoints, stop };
}
