import type Database from 'better-sqlite3';
import type { StoreOwner } from './store-owner';

/**
 * The `store_owner` row of a SQLite store: which process serves it, with a heartbeat. The store's lock file decides
 * who may serve (store-lock.ts); this row only tells, and lets a second `serve` that cannot see the lock (another
 * container on a shared volume) notice a live owner by its heartbeat (store-owner.ts).
 */
export class OwnerRecords {
  constructor(private readonly db: Database.Database) {}

  /** Names this process as the store's owner (after taking its lock: the lock decides, this row only tells). */
  record(owner: StoreOwner, now = Date.now()): void {
    this.db
      .prepare(
        `INSERT INTO store_owner (id, instance_id, hostname, pid, started_at, version, heartbeat_at) VALUES (1, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET instance_id = excluded.instance_id, hostname = excluded.hostname, pid = excluded.pid,
                                        started_at = excluded.started_at, version = excluded.version, heartbeat_at = excluded.heartbeat_at`,
      )
      .run(owner.instanceId, owner.hostname, owner.pid, owner.startedAt, owner.version, now);
  }

  /**
   * Renews the owner row's heartbeat. False when the row no longer names `instanceId`: another process has
   * recorded itself as the owner, which the lock should have prevented.
   */
  heartbeat(instanceId: string, now = Date.now()): boolean {
    return this.db.prepare(`UPDATE store_owner SET heartbeat_at = ? WHERE id = 1 AND instance_id = ?`).run(now, instanceId).changes === 1;
  }

  /** Removes the owner row if it still names `instanceId` (a later owner's row is left alone). */
  forget(instanceId: string): void {
    this.db.prepare(`DELETE FROM store_owner WHERE id = 1 AND instance_id = ?`).run(instanceId);
  }
}
