/**
 * Read-only SQL on a bridge's store file, for assertions on rows no port exposes (via, triage_events, panther_sync,
 * edit counters). Opens its own read-only connection per call, beside the running bridge (SQLite WAL lets a
 * reader see every committed row without blocking the writer), so nothing in src/ has to offer arbitrary SQL.
 */
import Database from 'better-sqlite3';
import type { RunningBridge } from '../../src/bridge';
import { harnessStorePath } from './bridge-harness';

/** Runs one read-only query on `store` (a store file, or a bridge started by the harness) and returns every row. */
export function queryStore<T>(store: string | RunningBridge, sql: string, ...params: unknown[]): T[] {
  const db = new Database(typeof store === 'string' ? store : harnessStorePath(store), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** The single number a `SELECT COUNT(*) AS n …` returns. */
export function countInStore(store: string | RunningBridge, sql: string, ...params: unknown[]): number {
  return queryStore<{ n: number }>(store, sql, ...params)[0]!.n;
}
