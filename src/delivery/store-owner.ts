import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { lockFileOf, tryLockStore, type StoreLock } from './store-lock';

/** Who holds a store: written into it by the `serve` holding its lock, so a second one can name it. */
export interface StoreOwner {
  /** Random per process start: PIDs repeat across containers (every one is PID 1), this does not. */
  instanceId: string;
  hostname: string;
  pid: number;
  /** ISO-8601. */
  startedAt: string;
  /** chatops-bridge version. */
  version: string;
  /** Epoch ms of its last heartbeat (read from the store; 0 when it never beat). */
  heartbeatAt?: number;
}

/** How often the owner renews its heartbeat in the store. */
export const OWNER_HEARTBEAT_MS = 5000;
/** A heartbeat older than this means its process is gone (three missed beats). */
export const OWNER_STALE_MS = 3 * OWNER_HEARTBEAT_MS;

/** This process as a store owner. */
export function currentOwner(now = new Date()): StoreOwner {
  return { instanceId: randomUUID(), hostname: os.hostname(), pid: process.pid, startedAt: now.toISOString(), version: bridgeVersion() };
}

function bridgeVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The owner recorded in the store, read through its own read-only connection (no migration, no write: the
 * holder may be in the middle of either). Null when none is recorded: the holder has not written its row yet, or
 * the file is not a store of this version.
 */
export function readStoreOwner(storePath: string): StoreOwner | null {
  let db: Database.Database | undefined;
  try {
    db = new Database(storePath, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 1000');
    const row = db.prepare(`SELECT instance_id, hostname, pid, started_at, version, heartbeat_at FROM store_owner WHERE id = 1`).get() as
      | { instance_id: string; hostname: string; pid: number; started_at: string; version: string; heartbeat_at: number }
      | undefined;
    return row ? { instanceId: row.instance_id, hostname: row.hostname, pid: row.pid, startedAt: row.started_at, version: row.version, heartbeatAt: row.heartbeat_at } : null;
  } catch {
    return null;
  } finally {
    db?.close();
  }
}

/** "chatops-bridge instance 3f2a… on host web-1 (pid 1, since …)", or what is known when nothing is recorded. */
export function describeOwner(owner: StoreOwner | null): string {
  if (!owner) return 'another chatops-bridge (it has not recorded who it is yet)';
  return `chatops-bridge instance ${owner.instanceId} on host ${owner.hostname} (pid ${owner.pid}, version ${owner.version}, since ${owner.startedAt})`;
}

/** A second `serve` on a store that one already serves. */
export class StoreInUseError extends Error {
  constructor(
    readonly storePath: string,
    readonly holder: StoreOwner | null,
    /** The lock file was free but the owner row's heartbeat is live. */
    lockFileBypassed = false,
  ) {
    super(
      `store ${storePath} is in use by ${describeOwner(holder)}: one serve per SQLite store. ` +
        (lockFileBypassed ? `Its lock file ${lockFileOf(storePath)} was free, yet the holder's heartbeat in the store is live: was that file deleted, or is the store reached under another path? ` : '') +
        'Stop it, or run serve --standby to take over when it stops.',
    );
    this.name = 'StoreInUseError';
  }
}

export interface AcquireOptions {
  /** Wait for the holder to stop instead of refusing. */
  standby?: boolean;
  logger: Logger;
  /** How often a standby retries the lock (1 s). */
  retryMs?: number;
  /** How often a standby repeats that it is waiting (once a minute). */
  remindMs?: number;
}

/**
 * Takes the store's lock for `serve`. Held by another process: throws {@link StoreInUseError} naming it, or, as a
 * standby, logs that it waits and for whom (then at most once a minute) and retries every second until the
 * holder is gone. A `:memory:` store belongs to this process alone and needs no lock.
 */
export async function acquireStore(storePath: string, options: AcquireOptions): Promise<StoreLock> {
  if (storePath === ':memory:') return { release: () => undefined };
  const retryMs = options.retryMs ?? 1000;
  const remindMs = options.remindMs ?? 60_000;
  let lastSaid: { at: number; holder: string } | undefined;
  for (;;) {
    const lock = tryLockStore(storePath);
    const liveHolder = lock ? await heartbeatingOwner(storePath, retryMs, options.logger) : null;
    if (lock && !liveHolder) {
      if (lastSaid) options.logger.info({ store: storePath }, 'standby: the store is free; taking over');
      return lock;
    }
    lock?.release();
    const holder = liveHolder ?? readStoreOwner(storePath);
    if (!options.standby) throw new StoreInUseError(storePath, holder, liveHolder !== null);
    const described = describeOwner(holder);
    const now = Date.now();
    if (!lastSaid || lastSaid.holder !== described || now - lastSaid.at >= remindMs) {
      options.logger.info(
        { store: storePath, holder: holder ?? undefined },
        `standby: store ${storePath} is in use by ${described}; waiting to take over when it stops (not serving until then)`,
      );
      lastSaid = { at: now, holder: described };
    }
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}

/**
 * With the lock file taken: the owner recorded in the store when its heartbeat is still beating, else null. A lock
 * file that was free although a process serves the store (deleted, or the store reached by another path the lock
 * did not see) must not let a second one in. A heartbeat younger than {@link OWNER_STALE_MS} is watched until it
 * either advances (a live holder) or goes stale (a holder that died without removing its row, e.g. SIGKILL).
 */
async function heartbeatingOwner(storePath: string, pollMs: number, logger: Logger): Promise<StoreOwner | null> {
  const first = readStoreOwner(storePath);
  const age = first?.heartbeatAt ? Date.now() - first.heartbeatAt : Infinity;
  // Long stale by the wall clock: gone. A heartbeat "in the future" (the clock stepped back) is watched like a fresh one.
  if (!first?.heartbeatAt || age > OWNER_STALE_MS) return null;
  logger.info(
    { store: storePath, holder: first },
    `the store's last owner (${describeOwner(first)}) beat ${Math.round(age / 1000)} s ago without leaving it: waiting up to ${OWNER_STALE_MS / 1000} s for another beat, to be sure it is gone`,
  );
  // Watched on this process's monotonic clock, so a wall-clock step cannot stretch or cut the wait.
  const watchedFrom = performance.now();
  for (;;) {
    const now = readStoreOwner(storePath);
    if (!now?.heartbeatAt || now.instanceId !== first.instanceId) return null;
    if (now.heartbeatAt !== first.heartbeatAt) return now;
    if (performance.now() - watchedFrom > OWNER_STALE_MS) return null;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, 1000)));
  }
}
