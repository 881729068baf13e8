/**
 * True for an error the SQLite store raised (a `SQLITE_*` code: locked past the busy timeout, disk full, read-only,
 * I/O). The HTTP fronts answer it with `503 store_unavailable` — "try again" — rather than a 500 that reads like a
 * bug.
 */
export function isStoreError(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_');
}

/** True when the store could not take its write lock in time (another connection or process holds it). */
export function isStoreBusy(error: unknown): boolean {
  return isStoreError(error) && error.code.startsWith('SQLITE_BUSY');
}
