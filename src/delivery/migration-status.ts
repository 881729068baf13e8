import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { schemaVersion } from './migrate';
import { SQLITE_MIGRATIONS } from './sqlite-migrations';

/** Where a store's schema stands against the migrations this release knows. */
export interface MigrationStatus {
  engine: 'sqlite' | 'postgres';
  /** The store's file, or its database URL without the password. */
  store: string;
  /** The store's schema version (0: a store not created yet, or made before versioned migrations). */
  current: number;
  /** The last version this release knows. */
  latest: number;
  /** The steps `serve` (or `migrate`) would apply, in order. */
  pending: { version: number; name: string }[];
}

/**
 * The migrations a SQLite store still needs, read without changing it (read-only; a store that does not exist yet
 * needs every step). Throws when the store is newer than this release, as opening it would.
 */
export function sqliteMigrationStatus(storePath: string): MigrationStatus {
  let current = 0;
  if (storePath !== ':memory:' && existsSync(storePath)) {
    const db = new Database(storePath, { readonly: true, fileMustExist: true });
    try {
      current = schemaVersion(db);
    } finally {
      db.close();
    }
  }
  const latest = SQLITE_MIGRATIONS.length;
  if (current > latest) {
    throw new Error(`the store's schema is version ${current}, newer than this chatops-bridge knows (${latest}): run a newer release on it`);
  }
  return { engine: 'sqlite', store: storePath, current, latest, pending: SQLITE_MIGRATIONS.slice(current).map(({ version, name }) => ({ version, name })) };
}
