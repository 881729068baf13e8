import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
import { isConnectionError } from './pg-errors';

/**
 * Where the statements of one store operation go: the pool (each statement its own transaction, several-statement
 * operations in one of their own) or the client of an open transaction (everything joins it).
 */
export interface PgSession {
  /** This replica's instance id: the holder named in the leases it takes. */
  readonly instanceId: string;
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: readonly unknown[]): Promise<QueryResult<R>>;
  /**
   * Runs `work` as one transaction: a new one on a pooled client outside a transaction, the open one inside (its
   * statements simply join it; like SQLite's savepoints they then commit or roll back with the whole).
   */
  atomic<T>(work: (session: PgSession) => Promise<T>): Promise<T>;
}

/**
 * Statements outside any transaction: each on whatever pooled connection is free. `refuse` says why a statement
 * must not run now (an error to reject it with), e.g. when it comes from inside a transaction of the engine.
 */
export class PoolSession implements PgSession {
  constructor(
    private readonly pool: Pool,
    readonly instanceId: string,
    private readonly refuse: () => Error | undefined = () => undefined,
  ) {}

  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: readonly unknown[]): Promise<QueryResult<R>> {
    const refused = this.refuse();
    return refused ? Promise.reject(refused) : this.pool.query<R>(text, values as unknown[] | undefined);
  }

  atomic<T>(work: (session: PgSession) => Promise<T>): Promise<T> {
    const refused = this.refuse();
    return refused ? Promise.reject(refused) : inTransaction(this.pool, (client) => work(new ClientSession(client, this.instanceId)));
  }
}

/** Statements inside an open transaction, all on its one client. */
export class ClientSession implements PgSession {
  constructor(
    private readonly client: PoolClient,
    readonly instanceId: string,
  ) {}

  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: readonly unknown[]): Promise<QueryResult<R>> {
    return this.client.query<R>(text, values as unknown[] | undefined);
  }

  atomic<T>(work: (session: PgSession) => Promise<T>): Promise<T> {
    return work(this);
  }
}

/**
 * Runs `work` between BEGIN and COMMIT on one pooled client; ROLLBACK when it throws (the error is rethrown).
 * PostgreSQL answers COMMIT with ROLLBACK when a statement of the transaction failed, which happens when `work`
 * caught a statement's error and went on: that is thrown too, never reported as a commit. A client whose
 * connection failed, or whose ROLLBACK did, is closed instead of pooled again (its state is unknown).
 */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // The pool listens for errors of idle clients only: a connection that drops while checked out emits 'error' here,
  // and an 'error' nobody listens to ends the process. Its statement fails too; the client is then closed.
  const onError = (error: Error) => {
    broken ??= error;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    try {
      const result = await work(client);
      const commit = await client.query('COMMIT');
      if (commit.command === 'ROLLBACK') {
        throw new Error('the transaction was rolled back: a statement in it failed and its error was not passed on');
      }
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    }
  } catch (error) {
    if (isConnectionError(error)) broken ??= error as Error;
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
