/**
 * `chatops-bridge migrate [--check]` (issue 16, point 1, on SQLite and on PostgreSQL): `--check` lists the pending steps
 * and changes nothing (exit 1 while any is pending), `migrate` applies them, and a store newer than the release is
 * refused by both.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS } from '../../src/delivery/sqlite-migrations';
import { PG_MIGRATIONS } from '../../src/delivery/postgres/pg-migrations';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres';

const MAIN = path.resolve(__dirname, '..', '..', 'dist', 'main.js');
const run = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [MAIN, 'migrate', ...args], { cwd, env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });

it('lists pending migrations without changing the store, applies them, then has none pending', () => {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'cb-migrate-'));
  const store = path.join(cwd, 'data', 'chatops-bridge.db');

  const check = run(cwd, '--check');
  expect(check.status).toBe(1);
  const status = JSON.parse(check.stdout);
  expect(status).toMatchObject({ engine: 'sqlite', current: 0, latest: SQLITE_MIGRATIONS.length });
  expect(status.pending.map((p: { version: number }) => p.version)).toEqual(SQLITE_MIGRATIONS.map((m) => m.version));
  expect(existsSync(store)).toBe(false);

  const applied = run(cwd);
  expect(applied.status).toBe(0);
  expect(JSON.parse(applied.stdout)).toMatchObject({ from: 0, to: SQLITE_MIGRATIONS.length });
  const db = new Database(store, { readonly: true });
  expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.length);
  db.close();

  const after = run(cwd, '--check');
  expect([after.status, JSON.parse(after.stdout).pending]).toEqual([0, []]);
});

it('refuses a store newer than this release', () => {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'cb-migrate-'));
  run(cwd);
  const db = new Database(path.join(cwd, 'data', 'chatops-bridge.db'));
  db.pragma(`user_version = ${SQLITE_MIGRATIONS.length + 1}`);
  db.close();
  for (const args of [['--check'], []]) {
    const result = run(cwd, ...args);
    expect([args, result.status]).toEqual([args, 1]);
    expect(result.stderr).toMatch(/newer than this chatops-bridge knows/);
  }
});

describe('on PostgreSQL (store.url)', () => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    await database.drop();
  });

  it('lists pending steps without changing the database, applies them under the lock, then has none pending; the password never shows', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'cb-migrate-pg-'));
    const url = new URL(database.url);
    url.password = 'hunter2-secret';
    writeFileSync(path.join(cwd, 'bridge.yaml'), `store:\n  url: \${DATABASE_URL}\ndestinations:\n  con: { type: console }\nroutes:\n  - name: all\n    to: [con]\n`);
    const pg = (...args: string[]) => spawnSync(process.execPath, [MAIN, 'migrate', '--config', 'bridge.yaml', ...args], { cwd, env: { PATH: process.env.PATH ?? '', DATABASE_URL: url.toString() }, encoding: 'utf8' });
    const check = pg('--check');
    expect([check.status, check.stderr]).toEqual([1, '']);
    const status = JSON.parse(check.stdout);
    expect(status).toMatchObject({ engine: 'postgres', current: 0, latest: PG_MIGRATIONS.length });
    expect(status.pending.map((p: { version: number }) => p.version)).toEqual(PG_MIGRATIONS.map((m) => m.version));
    const applied = pg();
    expect(applied.status).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ from: 0, to: PG_MIGRATIONS.length });
    const after = pg('--check');
    expect([after.status, JSON.parse(after.stdout).pending]).toEqual([0, []]);
    for (const out of [check, applied, after]) expect(out.stdout + out.stderr).not.toContain('hunter2-secret');
  });

  it('names the database, without its password, when it cannot be reached', () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'cb-migrate-pg-'));
    writeFileSync(path.join(cwd, 'bridge.yaml'), `store:\n  url: postgres://bridge:hunter2-secret@127.0.0.1:1/chatops\ndestinations:\n  con: { type: console }\nroutes:\n  - name: all\n    to: [con]\n`);
    const result = spawnSync(process.execPath, [MAIN, 'migrate', '--check', '--config', 'bridge.yaml'], { cwd, env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/cannot read the store postgres:\/\/bridge:\*+@127\.0\.0\.1:1\/chatops: .*ECONNREFUSED/);
    expect(result.stderr).not.toContain('hunter2-secret');
  });
});
