import type Database from 'better-sqlite3';
import type { Migration } from './sqlite-migrations';

/** The schema version a database is at (`PRAGMA user_version`; 0 for a new file or one made before migrations). */
export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the database to the last step of `migrations`, running each missing step in its own IMMEDIATE
 * transaction (so a crash leaves the store at the step before, never half-way). Two processes opening the same
 * old store (serve and an `outbox` command) are safe: each step re-reads the version inside its transaction and
 * is skipped when the other process ran it first. A store newer than this code is refused rather than guessed at.
 * Returns the versions before and after.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[]): { from: number; to: number } {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration "${m.name}" has version ${m.version}, expected ${i + 1}`);
  });
  const latest = migrations.length;
  const from = schemaVersion(db);
  if (from > latest) {
    throw new Error(`the store's schema is version ${from}, newer than this chatops-bridge knows (${latest}): run a newer release on it`);
  }
  for (const step of migrations.slice(from)) {
    // A no-op inside a transaction, so switched around it.
    if (step.rebuildsTables) db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        if (schemaVersion(db) >= step.version) return;
        if (typeof step.up === 'string') db.exec(step.up);
        else step.up(db);
        if (step.rebuildsTables) {
          const broken = db.pragma('foreign_key_check') as { table: string; rowid: number; parent: string }[];
          if (broken.length > 0) {
            const first = broken[0]!;
            throw new Error(`${broken.length} rows point at missing rows (first: ${first.table} row ${first.rowid} → ${first.parent})`);
          }
        }
        db.pragma(`user_version = ${step.version}`);
      }).immediate();
    } catch (error) {
      throw new Error(`store migration ${step.version} (${step.name}) failed, nothing of it was applied: ${(error as Error).message}`);
    } finally {
      if (step.rebuildsTables) db.pragma('foreign_keys = ON');
    }
  }
  return { from, to: latest };
}
