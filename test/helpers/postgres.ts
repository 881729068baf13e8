/**
 * A PostgreSQL database of its own for a test: the real server the project's machines run at 127.0.0.1:5432
 * (trust auth; `.ci/postgres-up` starts it), never a mock. Each database has a random name, so test files running
 * in parallel, and runs on one machine at once, never see each other's rows or advisory locks (both belong to a
 * database), and each is dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * Where databases are created from: a superuser (or CREATEDB role) on the maintenance database `test`.
 * CB_TEST_PG_URL points the tests at another server.
 */
export const PG_ADMIN_URL = process.env.CB_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Every test database's name starts with this (the rest: pid and random hex). */
export const TEST_DATABASE_PREFIX = 'cb_test_';

export interface TestDatabase {
  /** `cb_test_<pid>_<random>`. */
  name: string;
  /** Connection string of the new database. */
  url: string;
  /** Drops the database, closing whatever connections are still open to it. */
  drop(): Promise<void>;
}

async function admin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`PostgreSQL for the tests does not answer at ${PG_ADMIN_URL} (run .ci/postgres-up): ${(error as Error).message}`);
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database with a random name and returns its connection string. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `${TEST_DATABASE_PREFIX}${process.pid}_${randomBytes(6).toString('hex')}`;
  // Identifiers cannot be parameters; the name is ours (lower-case letters, digits, underscores), quoted anyway.
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/**
 * A database for the test file: created before its first test, dropped after its last. Read `url` inside
 * tests or hooks (it is set once `beforeAll` has run).
 */
export function useTestDatabase(): { readonly url: string; readonly name: string } {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });
  return {
    get url() {
      if (!db) throw new Error('the test database is created in beforeAll: read its url inside a test or hook');
      return db.url;
    },
    get name() {
      if (!db) throw new Error('the test database is created in beforeAll: read its name inside a test or hook');
      return db.name;
    },
  };
}
