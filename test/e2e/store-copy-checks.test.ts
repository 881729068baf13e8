/**
 * `migrate --from sqlite:… --to postgres://…` on stores it must refuse (an older schema, a missing file, a table it
 * does not know), and the ids it must never hand out again (issue 16, point 7). The copy of a store that `serve`
 * filled is test/e2e/store-copy.test.ts.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { tempStorePath } from '../helpers/bridge-harness';
import { createTestDatabase } from '../helpers/postgres';
import { SQLITE_MIGRATIONS } from '../../src/delivery/sqlite-migrations';

jest.setTimeout(60_000);

const MAIN = path.resolve(__dirname, '..', '..', 'dist', 'main.js');
const env = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? '' });

function cli(args: string[], environment: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })));
}

describe('refusals', () => {
  it('refuses a store of an older schema, a missing store and a --from that is not sqlite:, writing nothing', async () => {
    const storePath = tempStorePath();
    mkdirSync(path.dirname(storePath), { recursive: true });
    const made = await cli(['migrate', '--config', writeConfig(storePath)], env());
    expect(made.status).toBe(0);
    const db = new Database(storePath);
    db.pragma(`user_version = ${SQLITE_MIGRATIONS.length - 1}`);
    db.close();
    const target = await createTestDatabase();
    try {
      const older = await cli(['migrate', '--from', `sqlite:${storePath}`, '--to', target.url], env());
      expect(older.status).toBe(1);
      expect(older.stderr).toMatch(/is at schema version \d+, this release's is \d+: run `chatops-bridge migrate` on it with this release first/);
      const missing = await cli(['migrate', '--from', `sqlite:${storePath}.nothing`, '--to', target.url], env());
      expect([missing.status, missing.stderr]).toEqual([1, `cannot copy the store: there is no SQLite store at ${storePath}.nothing\n`]);
      const notSqlite = await cli(['migrate', '--from', storePath, '--to', target.url], env());
      expect(notSqlite.status).toBe(1);
      expect(notSqlite.stderr).toMatch(/--from takes sqlite:<path/);
    } finally {
      await target.drop();
    }
  });

  it('refuses a store holding a table it does not know how to copy (a newer schema would otherwise lose it)', async () => {
    const storePath = tempStorePath();
    mkdirSync(path.dirname(storePath), { recursive: true });
    expect((await cli(['migrate', '--config', writeConfig(storePath)], env())).status).toBe(0);
    const db = new Database(storePath);
    db.exec('CREATE TABLE channel_pace (pacing_key TEXT PRIMARY KEY)');
    db.close();
    const target = await createTestDatabase();
    try {
      const result = await cli(['migrate', '--from', `sqlite:${storePath}`, '--to', target.url], env());
      expect([result.status, result.stderr]).toEqual([1, 'cannot copy the store: the SQLite store has tables this release cannot copy (channel_pace): copy it with the release that made them\n']);
    } finally {
      await target.drop();
    }
  });
});

it('never hands out an id SQLite used, even one whose row was purged', async () => {
  const storePath = tempStorePath();
  mkdirSync(path.dirname(storePath), { recursive: true });
  expect((await cli(['migrate', '--config', writeConfig(storePath)], env())).status).toBe(0);
  const db = new Database(storePath);
  const insert = db.prepare(`INSERT INTO alerts (source, dedup_key, severity, received_at, title, alert_json) VALUES ('panther', ?, 'HIGH', 1, 't', '{}')`);
  for (const key of ['k1', 'k2', 'k3']) insert.run(key);
  db.exec(`DELETE FROM alerts WHERE dedup_key = 'k3'`); // as a purge of the newest alert does
  db.close();
  const target = await createTestDatabase();
  try {
    const result = await cli(['migrate', '--from', `sqlite:${storePath}`, '--to', target.url], env());
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ copied: { alerts: 2 }, nextIds: { alerts: 4, deliveries: 1 } });
    const client = new Client({ connectionString: target.url });
    await client.connect();
    try {
      const next = await client.query(`INSERT INTO alerts (source, dedup_key, severity, received_at, title, alert_json) VALUES ('panther', 'k4', 'HIGH', 2, 't', '{}') RETURNING id`);
      expect(Number(next.rows[0].id)).toBe(4);
    } finally {
      await client.end();
    }
  } finally {
    await target.drop();
  }
});

function writeConfig(storePath: string): string {
  const file = path.join(path.dirname(storePath), 'min.yaml');
  writeFileSync(file, `store: { path: "${storePath}" }\ndestinations:\n  con: { type: console }\nroutes:\n  - name: all\n    to: [con]\n`);
  return file;
}
