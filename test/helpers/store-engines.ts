/**
 * The engines of the store contract (src/delivery/store-contract.ts), opened fresh for each test, so one suite runs
 * the same tests against every engine: SQLite on a temporary file, PostgreSQL on a database of its own on the
 * real server at 127.0.0.1:5432 (test/helpers/postgres.ts). Also the small things those tests share.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Alert } from '../../src/domain/alert';
import { PostgresEngine } from '../../src/delivery/postgres/postgres-engine';
import { SqliteEngine } from '../../src/delivery/sqlite-engine';
import { OutboxStore } from '../../src/delivery/store';
import type { AcceptResult } from '../../src/delivery/status';
import type { StoreEngine, StoreOps } from '../../src/delivery/store-contract';
import type { RouteTarget } from '../../src/routing/router';
import { createTestDatabase } from './postgres';

/** An engine opened for one test, and how to put it away (the PostgreSQL database is dropped). */
export interface OpenedEngine {
  engine: StoreEngine;
  close(): Promise<void>;
}

/** Every engine, by name, for `describe.each`. */
export const ENGINES: [name: 'sqlite' | 'postgres', open: () => Promise<OpenedEngine>][] = [
  [
    'sqlite',
    async () => {
      const engine = new SqliteEngine(new OutboxStore(path.join(mkdtempSync(path.join(os.tmpdir(), 'cb-contract-')), 'outbox.db')));
      return { engine, close: () => engine.close() };
    },
  ],
  [
    'postgres',
    async () => {
      const db = await createTestDatabase();
      const engine = await PostgresEngine.open(db.url, 'replica-a');
      return {
        engine,
        close: async () => {
          await engine.close();
          await db.drop();
        },
      };
    },
  ],
];

/** Opens `open`'s engine before each test of the block and closes it after; read `engine` inside tests. */
export function useEngine(open: () => Promise<OpenedEngine>): { readonly engine: StoreEngine } {
  let opened: OpenedEngine | undefined;
  beforeEach(async () => {
    opened = await open();
  });
  afterEach(async () => {
    await opened?.close();
    opened = undefined;
  });
  return {
    get engine() {
      if (!opened) throw new Error('the engine is opened in beforeEach: read it inside a test');
      return opened.engine;
    },
  };
}

/** Accepts one alert (one POST of one alert). */
export async function accept(engine: StoreEngine, alert: Alert, targets: readonly RouteTarget[]): Promise<AcceptResult> {
  return (await engine.acceptGroup([{ alert, targets }], 0))[0]!;
}

/** The alert as the store gives it back: what JSON keeps of it. */
export const stored = (alert: Alert): Alert => JSON.parse(JSON.stringify(alert)) as Alert;

/** Claims everything claimable at `now` and records each as delivered (as the worker would), until nothing is left. */
export async function deliverAll(ops: StoreOps, now: number): Promise<void> {
  for (let batch = await ops.claim(100, new Set(), 60_000, now); batch.length > 0; batch = await ops.claim(100, new Set(), 60_000, now)) {
    for (const claimed of batch) await ops.recordAttempt({ kind: 'delivered', id: claimed.id, ref: { channel: 'C1', ts: `${claimed.id}.0` }, renderedRevision: claimed.revision }, now);
  }
}
