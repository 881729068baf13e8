import type { CustomTypesConfig, Pool } from 'pg';

/**
 * node-postgres, loaded when the first pool is opened: a bridge on SQLite never needs it, and its modules are
 * several MB of every process's memory.
 */
export const pg = (): typeof import('pg') => require('pg') as typeof import('pg');

/** The password of a PostgreSQL URL (a driver error could echo it), or undefined. */
export function pgPassword(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

/** How a pool of the PostgreSQL store is opened. */
export interface PgPoolOptions {
  /** Most connections held at once (10). The claim, the accepts and the loops each take one per transaction. */
  max?: number;
  /** Shown in `pg_stat_activity.application_name`, so an operator can tell the replicas' connections apart. */
  applicationName?: string;
  /** How long a connect may take before the query fails (5 s): an unreachable server must fail readiness fast. */
  connectionTimeoutMs?: number;
  /**
   * An idle pooled connection failed (the server restarted, a proxy cut it). The pool has already dropped it and
   * the next query opens a new one; without a listener node-postgres would crash the process with the error.
   */
  onIdleError?: (error: Error) => void;
  /**
   * How long a statement waits for a lock another transaction holds before it fails with 55P03 (the server's
   * `lock_timeout`, set for each connection; unset: the server's default, which waits for ever). A RESET of it
   * returns to this value.
   */
  lockTimeoutMs?: number;
}

/** int8's type OID (`types.builtins.INT8` of node-postgres, stated here so that reading it loads nothing). */
const INT8 = 20;
/** `bigint[]` (no builtins entry for array types). */
const INT8_ARRAY = 1016;

/**
 * int8 as a JS number. Every bigint of the store is a row id, a count or epoch milliseconds, all far below 2^53;
 * node-postgres returns them as strings by default (it cannot know that), which every caller would have to
 * convert. A value beyond 2^53 is refused rather than rounded: a wrong id would point at another row.
 */
function safeInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`PostgreSQL returned the integer ${text}, beyond what the store can hold exactly`);
  return value;
}

/**
 * The pool's own type parsers (node-postgres's `types.setTypeParser` is process-wide and would change every
 * other pool's results too).
 */
const STORE_TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format !== 'binary' && oid === INT8) return safeInteger;
    if (format !== 'binary' && oid === INT8_ARRAY) {
      const parseArray = pg().types.getTypeParser(INT8_ARRAY as never, 'text') as (text: string) => (string | null)[];
      return (text: string) => parseArray(text).map((v) => (v === null ? null : safeInteger(v)));
    }
    return pg().types.getTypeParser(oid as never, format);
  }) as CustomTypesConfig['getTypeParser'],
};

/**
 * A connection pool to the PostgreSQL store at `url` (`postgres://user:password@host:port/database`, and any
 * libpq-style parameters node-postgres reads from it, e.g. `?sslmode=require` or `options=-c search_path=x`).
 * Nothing is connected until the first query. int8 columns come back as numbers (see {@link safeInteger}).
 */
export function openPgPool(url: string, options: PgPoolOptions = {}): Pool {
  const pool = new (pg().Pool)({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
    application_name: options.applicationName ?? 'chatops-bridge',
    types: STORE_TYPES,
    ...(options.lockTimeoutMs !== undefined ? { lock_timeout: Math.max(1, Math.round(options.lockTimeoutMs)) } : {}),
    // Every commit is on disk when it resolves, whatever the server's default: the store's promise (an accept
    // answered 2xx, a click acknowledged) must not depend on the database's or the role's synchronous_commit, which
    // operators turn off for speed. A startup parameter of each connection (a SET query on connect would run beside
    // the connection's first query), after any `options` the URL gives.
    options: `${startupOptions(url)} -c synchronous_commit=on`.trim(),
  });
  pool.on('error', (error) => options.onIdleError?.(error));
  return pool;
}

/**
 * `url` with its password masked, for messages and logs: a connection string usually carries the password, and
 * secrets never reach a log line. A string that does not parse as a URL is not shown at all.
 */
export function redactPgUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const key of ['password', 'sslpassword']) if (parsed.searchParams.has(key)) parsed.searchParams.set(key, '***');
    return parsed.toString();
  } catch {
    return '(a connection string that is not a URL)';
  }
}

/** The `options` startup parameter a connection string carries (libpq style, e.g. `-c search_path=x`), or ''. */
function startupOptions(url: string): string {
  try {
    return new URL(url).searchParams.get('options') ?? '';
  } catch {
    return '';
  }
}
