/**
 * Versioned migrations of the SQLite outbox (issue 14, point 4). Store files are written here with the DDL of
 * earlier releases, copied as those releases ran it (not imported from src/, so a change to the migration code
 * cannot also change what "old" means), holding pending and delivered rows; opening them with the current store
 * must migrate them in place without losing a row, after which purged row ids are never handed out again.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { OutboxStore } from '../src/delivery/store';
import { parsedAlert } from './helpers/fixtures';
import { queryStore } from './helpers/store-query';

const tmpDb = () => path.join(mkdtempSync(path.join(os.tmpdir(), 'cb-migrate-')), 'outbox.db');

/** The schema every release before versioned migrations ended with (SCHEMA_SQL + ADDED_COLUMNS + episodes). */
const UNVERSIONED_DDL = `
CREATE TABLE alerts (
  id INTEGER PRIMARY KEY, source TEXT NOT NULL, dedup_key TEXT NOT NULL, alert_id TEXT, severity TEXT NOT NULL,
  title TEXT NOT NULL, alert_json TEXT NOT NULL, received_at INTEGER NOT NULL, detection_id TEXT, UNIQUE (source, dedup_key));
CREATE TABLE deliveries (
  id INTEGER PRIMARY KEY, alert_row INTEGER NOT NULL REFERENCES alerts(id), route TEXT NOT NULL, destination TEXT NOT NULL,
  template TEXT, status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')), attempts INTEGER NOT NULL DEFAULT 0,
  rate_limited INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, lease_until INTEGER NOT NULL DEFAULT 0,
  last_reason TEXT, message_ref TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, delivered_at INTEGER,
  via TEXT NOT NULL DEFAULT 'message', edit_wanted INTEGER NOT NULL DEFAULT 0, edit_done INTEGER NOT NULL DEFAULT 0,
  edit_next_at INTEGER NOT NULL DEFAULT 0, edit_attempts INTEGER NOT NULL DEFAULT 0, edit_error TEXT, thread_parent INTEGER,
  thread_ref TEXT, thread_replies INTEGER NOT NULL DEFAULT 0, UNIQUE (alert_row, destination));
CREATE TABLE digests (
  id INTEGER PRIMARY KEY, destination TEXT NOT NULL, message_ref TEXT NOT NULL, entries_json TEXT NOT NULL,
  opened_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE triage_events (
  id INTEGER PRIMARY KEY, alert_row INTEGER NOT NULL REFERENCES alerts(id), action TEXT NOT NULL, actor_platform TEXT NOT NULL,
  actor_id TEXT NOT NULL, actor_name TEXT NOT NULL, delivery_id INTEGER, interaction_id TEXT UNIQUE, at INTEGER NOT NULL);
CREATE INDEX triage_events_alert ON triage_events (alert_row, id);
CREATE TABLE panther_sync (
  id INTEGER PRIMARY KEY, alert_row INTEGER NOT NULL REFERENCES alerts(id), operation TEXT NOT NULL, argument_json TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'dead')), attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL, last_error TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE INDEX panther_sync_due ON panther_sync (status, next_attempt_at);
CREATE INDEX digests_open ON digests (destination, updated_at);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_queue ON deliveries (status, destination, next_attempt_at, id);
CREATE INDEX deliveries_stale ON deliveries (edit_next_at) WHERE edit_wanted > edit_done;
CREATE INDEX alerts_detection ON alerts (detection_id, received_at);
CREATE TABLE alert_episodes (
  alert_row INTEGER PRIMARY KEY, source TEXT NOT NULL, episode TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('firing', 'resolved')));
CREATE INDEX alert_episodes_key ON alert_episodes (source, episode, alert_row);
`;

/** The first release's schema: no via, edit or thread columns, no detection_id, no digests or triage tables. */
const FIRST_RELEASE_DDL = `
CREATE TABLE alerts (
  id INTEGER PRIMARY KEY, source TEXT NOT NULL, dedup_key TEXT NOT NULL, alert_id TEXT, severity TEXT NOT NULL,
  title TEXT NOT NULL, alert_json TEXT NOT NULL, received_at INTEGER NOT NULL, UNIQUE (source, dedup_key));
CREATE TABLE deliveries (
  id INTEGER PRIMARY KEY, alert_row INTEGER NOT NULL REFERENCES alerts(id), route TEXT NOT NULL, destination TEXT NOT NULL,
  template TEXT, status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')), attempts INTEGER NOT NULL DEFAULT 0,
  rate_limited INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, lease_until INTEGER NOT NULL DEFAULT 0,
  last_reason TEXT, message_ref TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, delivered_at INTEGER,
  UNIQUE (alert_row, destination));
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
`;

const LONG_TITLE = `Exfiltration ${'x'.repeat(5000)}`;
const firing = { ...parsedAlert({ alertId: 'am-1' }), source: 'alertmanager', dedupKey: 'fp1@t0|firing', episodeKey: 'fp1@t0', status: 'firing' as const };
const alerts = [
  { id: 1, alert: parsedAlert({ alertId: 'delivered-1' }) },
  { id: 2, alert: parsedAlert({ alertId: 'pending-2', title: LONG_TITLE, link: 'https://x.example/alerts/2' }) },
  { id: 3, alert: firing },
];

/** Writes the rows an unversioned store holds: delivered and pending work, a digest, triage, write-back, episodes. */
function fillUnversioned(db: Database.Database): void {
  const insertAlert = db.prepare(`INSERT INTO alerts (id, source, dedup_key, alert_id, severity, title, alert_json, received_at, detection_id) VALUES (?, ?, ?, ?, ?, ?, ?, 1000, ?)`);
  for (const { id, alert } of alerts) insertAlert.run(id, alert.source, alert.dedupKey, alert.alertId, alert.severity, alert.title, JSON.stringify(alert), alert.detectionId);
  const insertDelivery = db.prepare(
    `INSERT INTO deliveries (id, alert_row, route, destination, status, next_attempt_at, created_at, updated_at, message_ref, via, edit_wanted, edit_done) VALUES (?, ?, 'r', ?, ?, 1000, 1000, 1000, ?, ?, ?, 0)`,
  );
  insertDelivery.run(1, 1, 'slack', 'delivered', JSON.stringify({ channel: 'C1', ts: '1.1' }), 'message', 0);
  insertDelivery.run(2, 1, 'discord', 'delivered', JSON.stringify({ channelId: 'D', messageId: '9', digestId: '1' }), 'digest', 0);
  insertDelivery.run(3, 2, 'slack', 'pending', null, 'message', 0);
  insertDelivery.run(4, 3, 'slack', 'delivered', JSON.stringify({ channel: 'C1', ts: '3.3' }), 'message', 2);
  db.prepare(`INSERT INTO digests (id, destination, message_ref, entries_json, opened_at, updated_at) VALUES (1, 'discord', ?, ?, 1000, 1000)`).run(
    JSON.stringify({ channelId: 'D', messageId: '9' }),
    JSON.stringify([{ severity: 'HIGH', title: 'Title', link: '', detectionId: 'Rule.X', alertId: 'delivered-1', createdAtMs: 1 }]),
  );
  db.prepare(`INSERT INTO triage_events (alert_row, action, actor_platform, actor_id, actor_name, delivery_id, interaction_id, at) VALUES (1, 'ack', 'slack', 'U1', 'alice', 1, 'i-1', 1000)`).run();
  db.prepare(`INSERT INTO panther_sync (alert_row, operation, argument_json, status, next_attempt_at, created_at, updated_at) VALUES (1, 'status', '{}', 'done', 0, 1000, 1000)`).run();
  // The episode of alert 3 is right; the one on row 7 outlived its purged alert; the one on row 2 is a purged
  // alertmanager alert's whose id went to a Panther alert since (the damage the reused ids did).
  const episode = db.prepare(`INSERT INTO alert_episodes (alert_row, source, episode, state) VALUES (?, 'alertmanager', ?, 'firing')`);
  episode.run(3, 'fp1@t0');
  episode.run(7, 'fp-gone@t0');
  episode.run(2, 'fp-old@t0');
}

function legacyStore(ddl: string, fill: (db: Database.Database) => void): string {
  const file = tmpDb();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(ddl);
  fill(db);
  db.close();
  return file;
}

const rowsOf = (file: string, table: string) => queryStore<Record<string, unknown>>(file, `SELECT * FROM ${table} ORDER BY rowid`);

/** Tables (columns, types, defaults, keys, foreign keys) and indexes (columns, uniqueness, partial) of a store. */
function shape(file: string): Record<string, unknown> {
  const tables = queryStore<{ name: string }>(file, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`);
  return Object.fromEntries(
    tables.map(({ name }) => [
      name,
      {
        columns: queryStore(file, `SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)`, name),
        foreignKeys: queryStore(file, `SELECT "table", "from", "to" FROM pragma_foreign_key_list(?)`, name),
        autoincrement: queryStore(file, `SELECT sql LIKE '%AUTOINCREMENT%' AS yes FROM sqlite_master WHERE name = ?`, name),
        indexes: queryStore<{ name: string; unique: number; partial: number }>(file, `SELECT name, "unique", partial FROM pragma_index_list(?) ORDER BY name`, name).map((index) => ({
          ...index,
          columns: queryStore(file, `SELECT name FROM pragma_index_info(?) ORDER BY seqno`, index.name),
        })),
      },
    ]),
  );
}

/** The shape of a store this release creates from nothing. */
function freshShape(): Record<string, unknown> {
  const file = tmpDb();
  new OutboxStore(file).close();
  return shape(file);
}

describe('store migrations', () => {
  it('migrates a store of the unversioned schema in place: every row kept, work resumes, ids never reused', () => {
    const file = legacyStore(UNVERSIONED_DDL, fillUnversioned);
    const before = Object.fromEntries(['deliveries', 'triage_events', 'panther_sync'].map((t) => [t, rowsOf(file, t)]));

    const store = new OutboxStore(file);
    expect(queryStore<{ v: number }>(file, 'SELECT user_version AS v FROM pragma_user_version')[0]!.v).toBeGreaterThanOrEqual(3);
    expect(shape(file)).toEqual(freshShape());
    // Every delivery, triage event and write-back job as it was, column for column.
    expect(rowsOf(file, 'deliveries')).toEqual(before.deliveries);
    expect(rowsOf(file, 'triage_events')).toEqual(before.triage_events);
    expect(rowsOf(file, 'panther_sync')).toEqual(before.panther_sync);
    // Alerts keep their ids and content; the title column is bounded, the stored alert is whole.
    const stored = queryStore<{ id: number; title: string; alert_json: string; link: string; created_at_ms: number }>(file, 'SELECT * FROM alerts ORDER BY id');
    expect(stored.map((a) => a.id)).toEqual([1, 2, 3]);
    expect(stored.map((a) => JSON.parse(a.alert_json))).toEqual(alerts.map((a) => a.alert));
    expect(Array.from(stored[1]!.title)).toHaveLength(1000);
    expect(stored[1]!.title).toBe(`${LONG_TITLE.slice(0, 999)}…`);
    expect(stored[1]!.link).toBe('https://x.example/alerts/2');
    expect(stored[1]!.created_at_ms).toBe(alerts[1]!.alert.createdAtMs);
    // Only the episode that still belongs to its alert is kept.
    expect(rowsOf(file, 'alert_episodes')).toEqual([{ alert_row: 3, source: 'alertmanager', episode: 'fp1@t0', state: 'firing' }]);
    expect(queryStore(file, 'PRAGMA foreign_key_check')).toEqual([]);
    expect(queryStore(file, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);

    // The pending delivery resumes with its alert; the delivered ones stay delivered; duplicates are still known.
    const [claimed] = store.claim(10, new Set(), 60_000);
    expect(claimed).toMatchObject({ id: 3, alertRow: 2, alert: alerts[1]!.alert });
    expect(store.counts()).toEqual({ pending: 1, delivered: 3, dead: 0 });
    expect(store.accept(alerts[0]!.alert, [{ route: 'r', destination: 'slack' }]).status).toBe('duplicate');

    // After the newest rows are purged, new rows still get new ids. (Alert 3 fires until it is resolved: purge
    // keeps a firing alert.)
    store.markDelivered(3, { channel: 'C1', ts: '2.2' });
    expect(store.accept({ ...firing, dedupKey: 'fp1@t0|resolved', status: 'resolved' }, [{ route: 'r', destination: 'slack' }]).deliveries).toEqual([
      { route: 'r', destination: 'slack', status: 'updated' },
    ]);
    // (…and keeps one whose message waits for that resolve's edit: the editor makes it first.)
    for (const message of store.triage().staleMessages(Date.now() + 1, 10)) store.triage().markEdited(message.id, message.revision);
    expect(store.ledger().purge(0, Date.now() + 1)).toMatchObject({ alerts: 4, deliveries: 4, digests: 1 });
    store.accept(parsedAlert({ alertId: 'new' }), [{ route: 'r', destination: 'slack' }]);
    const [fresh] = store.claim(10, new Set(), 60_000);
    expect(fresh!.alertRow).toBeGreaterThan(3);
    expect(fresh!.id).toBeGreaterThan(4);
    store.close();
  });

  it('migrates a store of the first release (columns and tables it never had) to the shape of a new store', () => {
    const alert = parsedAlert({ alertId: 'old-1' });
    const file = legacyStore(FIRST_RELEASE_DDL, (db) => {
      db.prepare(`INSERT INTO alerts (id, source, dedup_key, alert_id, severity, title, alert_json, received_at) VALUES (1, ?, ?, ?, ?, ?, ?, 1000)`).run(
        alert.source, alert.dedupKey, alert.alertId, alert.severity, alert.title, JSON.stringify(alert),
      );
      db.prepare(`INSERT INTO deliveries (alert_row, route, destination, status, next_attempt_at, created_at, updated_at, message_ref) VALUES (1, 'r', 'slack', 'delivered', 0, 1000, 1000, '{"channel":"C1","ts":"1.1"}')`).run();
      db.prepare(`INSERT INTO deliveries (alert_row, route, destination, status, next_attempt_at, created_at, updated_at) VALUES (1, 'r', 'discord', 'pending', 0, 1000, 1000)`).run();
    });
    const store = new OutboxStore(file);
    expect(shape(file)).toEqual(freshShape());
    expect(store.counts()).toEqual({ pending: 1, delivered: 1, dead: 0 });
    expect(store.claim(10, new Set(), 60_000)).toMatchObject([{ id: 2, destination: 'discord', alert }]);
    expect(queryStore(file, `SELECT via, edit_wanted, thread_replies FROM deliveries WHERE id = 1`)).toEqual([{ via: 'message', edit_wanted: 0, thread_replies: 0 }]);
    expect(store.ledger().list({ alertId: 'old-1' })).toHaveLength(2);
    store.markDelivered(2, { channelId: 'D', messageId: '1' });
    expect(store.ledger().purge(0, Date.now() + 1)).toMatchObject({ alerts: 1, deliveries: 2 });
    store.accept(parsedAlert({ alertId: 'new' }), [{ route: 'r', destination: 'slack' }]);
    expect(store.claim(10, new Set(), 60_000)).toMatchObject([{ alertRow: 2, id: 3 }]);
    store.close();
  });

  it('runs each step once, and refuses a store made by a newer release', () => {
    const file = tmpDb();
    new OutboxStore(file).close();
    const version = queryStore<{ v: number }>(file, 'SELECT user_version AS v FROM pragma_user_version')[0]!.v;
    const reopened = new OutboxStore(file);
    reopened.accept(parsedAlert(), [{ route: 'r', destination: 'slack' }]);
    reopened.close();
    expect(queryStore<{ v: number }>(file, 'SELECT user_version AS v FROM pragma_user_version')[0]!.v).toBe(version);

    const db = new Database(file);
    db.pragma(`user_version = ${version + 1}`);
    db.close();
    expect(() => new OutboxStore(file)).toThrow(new RegExp(`schema is version ${version + 1}, newer than this chatops-bridge knows`));
  });
});
