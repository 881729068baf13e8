import type Database from 'better-sqlite3';
import { LEGACY_ADDED_COLUMNS, LEGACY_EPISODES_SQL, LEGACY_SCHEMA_SQL } from './sqlite-legacy-schema';

/**
 * One step of the SQLite outbox schema. Steps run in order, each once, each in its own transaction, and leave
 * `PRAGMA user_version` at their `version`. A released step is never edited: a change is a new step at the end.
 */
export interface Migration {
  /** `PRAGMA user_version` once this step has run: 1, 2, 3 … without gaps. */
  readonly version: number;
  /** What the step does, for the reader and for the error message when it fails. */
  readonly name: string;
  /**
   * The step rebuilds tables (the only way SQLite changes a column's definition): foreign keys are switched off
   * around it, since dropping the old table would otherwise cascade or fail, and `PRAGMA foreign_key_check` must
   * find nothing before it commits.
   */
  readonly rebuildsTables?: boolean;
  /** SQL, or a function for what SQL alone cannot say (the baseline inspects which legacy columns exist). */
  readonly up: string | ((db: Database.Database) => void);
}

/**
 * Version 1: every store made before versioned migrations, whatever release made it, brought to the last
 * unversioned schema; a new file gets that schema here too, so every store runs the same steps after it.
 */
function baseline(db: Database.Database): void {
  db.exec(LEGACY_SCHEMA_SQL);
  for (const { table, column, ddl } of LEGACY_ADDED_COLUMNS) {
    const columns = db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
    if (!columns.some((c) => c.name === column)) db.exec(ddl);
  }
  db.exec(LEGACY_EPISODES_SQL);
}

/** Longest `alerts.title` kept, in characters (code points); the full alert stays in `alert_json`. */
export const STORED_TITLE_MAX = 1000;

/** A JSON field of `alert_json`, NULL when the text is not JSON (a migration must not stop on one odd row). */
const field = (path: string, column = 'alert_json') => `CASE WHEN json_valid(${column}) THEN json_extract(${column}, '${path}') END`;

/**
 * Version 2: row ids are never reused. Without AUTOINCREMENT SQLite hands the id of the newest row to the next
 * insert once that row is deleted, and purge deletes the newest rows when everything is old: a new alert then
 * inherited the purged one's episode row (its resolve edited nothing, the purged episode's resolve edited the
 * new message). Digest and delivery ids live on inside message refs and triage events, so all three tables get
 * it. SQLite cannot add AUTOINCREMENT to a table, hence the rebuild, which also:
 * - gives alerts the columns a digest lists (`link`, `created_at_ms`) and bounds `title` to
 *   {@link STORED_TITLE_MAX} characters, so neither the digest nor the ledger reads the full alert (a title may
 *   be 1 MiB; `alert_json` keeps it whole for rendering);
 * - keeps a digest's bounded summary (counts and the listed alerts) instead of every entry it ever covered.
 *   A digest of an older version has none and is not edited again: the next burst posts a new one;
 * - makes an episode belong to its alert (a foreign key: purge must delete it with the alert), drops episode rows
 *   whose alert is gone or is another alert by now, and restores the row of a firing alert that lost it.
 */
const IDS_NEVER_REUSED = `
-- alert_json last: a column stored after it can only be read by walking its overflow pages (a 1 MiB alert is
-- ~250 of them), which made every read of received_at, detection_id or a digest's fields read the whole alert.
CREATE TABLE alerts_v2 (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  source        TEXT NOT NULL,
  dedup_key     TEXT NOT NULL,
  alert_id      TEXT,
  severity      TEXT NOT NULL,
  received_at   INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL DEFAULT 0,
  detection_id  TEXT,
  title         TEXT NOT NULL,
  link          TEXT NOT NULL DEFAULT '',
  alert_json    TEXT NOT NULL,
  UNIQUE (source, dedup_key)
);
INSERT INTO alerts_v2 (id, source, dedup_key, alert_id, severity, received_at, created_at_ms, detection_id, title, link, alert_json)
  SELECT id, source, dedup_key, alert_id, severity, received_at, COALESCE(${field('$.createdAtMs')}, received_at), detection_id,
         CASE WHEN length(title) > ${STORED_TITLE_MAX} THEN substr(title, 1, ${STORED_TITLE_MAX - 1}) || '…' ELSE title END,
         COALESCE(${field('$.link')}, ''), alert_json
    FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_v2 RENAME TO alerts;
CREATE INDEX alerts_detection ON alerts (detection_id, received_at);

CREATE TABLE deliveries_v2 (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_row        INTEGER NOT NULL REFERENCES alerts(id),
  route            TEXT NOT NULL,
  destination      TEXT NOT NULL,
  template         TEXT,
  status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  rate_limited     INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL,
  lease_until      INTEGER NOT NULL DEFAULT 0,
  last_reason      TEXT,
  message_ref      TEXT,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  delivered_at     INTEGER,
  via              TEXT NOT NULL DEFAULT 'message',
  edit_wanted      INTEGER NOT NULL DEFAULT 0,
  edit_done        INTEGER NOT NULL DEFAULT 0,
  edit_next_at     INTEGER NOT NULL DEFAULT 0,
  edit_attempts    INTEGER NOT NULL DEFAULT 0,
  edit_error       TEXT,
  thread_parent    INTEGER,
  thread_ref       TEXT,
  thread_replies   INTEGER NOT NULL DEFAULT 0,
  UNIQUE (alert_row, destination)
);
INSERT INTO deliveries_v2 (id, alert_row, route, destination, template, status, attempts, rate_limited, next_attempt_at, lease_until,
                           last_reason, message_ref, created_at, updated_at, delivered_at, via, edit_wanted, edit_done, edit_next_at,
                           edit_attempts, edit_error, thread_parent, thread_ref, thread_replies)
  SELECT id, alert_row, route, destination, template, status, attempts, rate_limited, next_attempt_at, lease_until,
         last_reason, message_ref, created_at, updated_at, delivered_at, via, edit_wanted, edit_done, edit_next_at,
         edit_attempts, edit_error, thread_parent, thread_ref, thread_replies
    FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_v2 RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_queue ON deliveries (status, destination, next_attempt_at, id);
CREATE INDEX deliveries_stale ON deliveries (edit_next_at) WHERE edit_wanted > edit_done;

CREATE TABLE digests_v2 (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  destination  TEXT NOT NULL,
  message_ref  TEXT NOT NULL,
  summary_json TEXT,
  opened_at    INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
INSERT INTO digests_v2 (id, destination, message_ref, summary_json, opened_at, updated_at)
  SELECT id, destination, message_ref, NULL, opened_at, updated_at FROM digests;
DROP TABLE digests;
ALTER TABLE digests_v2 RENAME TO digests;
CREATE INDEX digests_open ON digests (destination, updated_at);

CREATE TABLE alert_episodes_v2 (
  alert_row INTEGER PRIMARY KEY REFERENCES alerts(id),
  source    TEXT NOT NULL,
  episode   TEXT NOT NULL,
  state     TEXT NOT NULL CHECK (state IN ('firing', 'resolved'))
);
INSERT INTO alert_episodes_v2 (alert_row, source, episode, state)
  SELECT e.alert_row, e.source, e.episode, e.state FROM alert_episodes e JOIN alerts a ON a.id = e.alert_row
   WHERE a.source = e.source AND ${field('$.episodeKey', 'a.alert_json')} = e.episode;
-- Only label-based sources have episodes; Panther rows (most of a store) are not parsed.
INSERT OR IGNORE INTO alert_episodes_v2 (alert_row, source, episode, state)
  SELECT id, source, ${field('$.episodeKey')}, 'firing' FROM alerts
   WHERE source <> 'panther' AND ${field('$.episodeKey')} IS NOT NULL AND ${field('$.status')} = 'firing';
DROP TABLE alert_episodes;
ALTER TABLE alert_episodes_v2 RENAME TO alert_episodes;
CREATE INDEX alert_episodes_key ON alert_episodes (source, episode, alert_row);
`;

/** Version 3: what purge and the hot paths look rows up by (each was a full table scan before). */
const INDEXES = `
CREATE INDEX alerts_received ON alerts (received_at);
CREATE INDEX alerts_alert_id ON alerts (alert_id);
CREATE INDEX panther_sync_alert ON panther_sync (alert_row);
CREATE INDEX digests_updated ON digests (updated_at);
`;

/**
 * Version 4: who serves the store. The lock itself is the kernel's (see store-lock.ts); this row names its
 * holder, so a second `serve` can say whom it found, and its heartbeat (epoch ms, renewed every few seconds) is
 * the second line of defence when the lock file cannot see the holder (the store reached under another path, the
 * lock file deleted): a live heartbeat means someone serves the store.
 */
const OWNER = `
CREATE TABLE store_owner (
  id           INTEGER PRIMARY KEY CHECK (id = 1),
  instance_id  TEXT NOT NULL,
  hostname     TEXT NOT NULL,
  pid          INTEGER NOT NULL,
  started_at   TEXT NOT NULL,
  version      TEXT NOT NULL,
  heartbeat_at INTEGER NOT NULL DEFAULT 0
);
`;

/**
 * Version 5: silences from chat (src/triage/silence-store.ts). One row per Silence chosen in a message: what was
 * asked (who, how long, the matchers), the source's silence id once created, who unsilenced it, and the API call
 * due (`creating`, `expiring`) or the end of an `active` silence, retried with backoff like a Panther write-back.
 * An alert has at most one current silence (`creating`, `active`, `expiring`): a second choice while one holds is
 * refused, whichever copy of the message it came from.
 */
const SILENCES = `
CREATE TABLE silences (
  id                     INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_row              INTEGER NOT NULL REFERENCES alerts(id),
  delivery_id            INTEGER NOT NULL,
  source                 TEXT NOT NULL,
  state                  TEXT NOT NULL CHECK (state IN ('creating', 'active', 'expiring', 'expired', 'ended', 'failed')),
  matchers_json          TEXT NOT NULL,
  comment                TEXT NOT NULL,
  duration_ms            INTEGER NOT NULL,
  starts_at              INTEGER NOT NULL,
  ends_at                INTEGER NOT NULL,
  silence_id             TEXT,
  by_platform            TEXT NOT NULL,
  by_id                  TEXT NOT NULL,
  by_name                TEXT NOT NULL,
  interaction_id         TEXT UNIQUE,
  unsilenced_by_platform TEXT,
  unsilenced_by_id       TEXT,
  unsilenced_by_name     TEXT,
  unsilenced_at          INTEGER,
  unsilence_interaction  TEXT UNIQUE,
  attempts               INTEGER NOT NULL DEFAULT 0,
  next_attempt_at        INTEGER NOT NULL,
  last_error             TEXT,
  created_at             INTEGER NOT NULL,
  updated_at             INTEGER NOT NULL
);
CREATE INDEX silences_alert ON silences (alert_row, id);
CREATE INDEX silences_due ON silences (next_attempt_at) WHERE state IN ('creating', 'active', 'expiring');
CREATE UNIQUE INDEX silences_current ON silences (alert_row) WHERE state IN ('creating', 'active', 'expiring');
`;

/**
 * Version 6: escalations (issue 18): one row per posted message of an alert on a route with `escalate`, the
 * schedule of its reminders. `due_at` is the next reminder's place in the schedule, `next_at` when it is tried
 * (later after a failure or when the channel's pace had no room). A row belongs to its delivery and its alert
 * (purge deletes it with them, and keeps an alert whose reminders are still pending). `claimed_by` and
 * `lease_until` are there for the PostgreSQL engine's shape (a copy maps column to column); one SQLite process
 * leases nothing.
 */
const ESCALATIONS = `
CREATE TABLE escalations (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  delivery_id  INTEGER NOT NULL UNIQUE REFERENCES deliveries(id),
  alert_row    INTEGER NOT NULL REFERENCES alerts(id),
  status       TEXT NOT NULL CHECK (status IN ('pending', 'done', 'stopped', 'dead')),
  sent         INTEGER NOT NULL DEFAULT 0,
  due_at       INTEGER NOT NULL,
  next_at      INTEGER NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  last_error   TEXT,
  stop_reason  TEXT,
  claimed_by   TEXT,
  lease_until  INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE INDEX escalations_due ON escalations (next_at) WHERE status = 'pending';
CREATE INDEX escalations_alert ON escalations (alert_row);
`;

/** The SQLite outbox schema, step by step. The current shape is all of them applied in order. */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'baseline: the schema of every release before versioned migrations', up: baseline },
  { version: 2, name: 'row ids never reused; bounded titles and digest summaries; episodes belong to their alert', rebuildsTables: true, up: IDS_NEVER_REUSED },
  { version: 3, name: 'indexes for purge and the hot paths', up: INDEXES },
  { version: 4, name: 'the owner of the store', up: OWNER },
  { version: 5, name: 'silences from chat', up: SILENCES },
  { version: 6, name: 'escalations: the reminders of unacknowledged alerts', up: ESCALATIONS },
];
