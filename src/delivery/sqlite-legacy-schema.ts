/**
 * The outbox schema as releases before versioned migrations created it (frozen: only migration 1 uses it, to
 * bring any store of those releases, or a new file, to one known shape). One row per accepted alert (unique per
 * source event) and one per (alert, destination), so a redelivery from the source inserts nothing and a crash
 * leaves every undelivered row claimable.
 */
export const LEGACY_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS alerts (
  id           INTEGER PRIMARY KEY,
  source       TEXT NOT NULL,
  dedup_key    TEXT NOT NULL,
  alert_id     TEXT,
  severity     TEXT NOT NULL,
  title        TEXT NOT NULL,
  alert_json   TEXT NOT NULL,
  received_at  INTEGER NOT NULL,
  UNIQUE (source, dedup_key)
);
CREATE TABLE IF NOT EXISTS deliveries (
  id               INTEGER PRIMARY KEY,
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
  UNIQUE (alert_row, destination)
);
CREATE TABLE IF NOT EXISTS digests (
  id           INTEGER PRIMARY KEY,
  destination  TEXT NOT NULL,
  message_ref  TEXT NOT NULL,
  entries_json TEXT NOT NULL,
  opened_at    INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS triage_events (
  id             INTEGER PRIMARY KEY,
  alert_row      INTEGER NOT NULL REFERENCES alerts(id),
  action         TEXT NOT NULL,
  actor_platform TEXT NOT NULL,
  actor_id       TEXT NOT NULL,
  actor_name     TEXT NOT NULL,
  delivery_id    INTEGER,
  interaction_id TEXT UNIQUE,
  at             INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS triage_events_alert ON triage_events (alert_row, id);
CREATE TABLE IF NOT EXISTS panther_sync (
  id              INTEGER PRIMARY KEY,
  alert_row       INTEGER NOT NULL REFERENCES alerts(id),
  operation       TEXT NOT NULL,
  argument_json   TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('pending', 'done', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS panther_sync_due ON panther_sync (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS digests_open ON digests (destination, updated_at);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS deliveries_queue ON deliveries (status, destination, next_attempt_at, id);
`;

/** Columns those releases added after the first one: a store of an older release may lack any of them. */
export const LEGACY_ADDED_COLUMNS: { table: string; column: string; ddl: string }[] = [
  { table: 'deliveries', column: 'via', ddl: `ALTER TABLE deliveries ADD COLUMN via TEXT NOT NULL DEFAULT 'message'` },
  // Edits in place (triage, thread counters): wanted > done means the posted message is behind its state.
  { table: 'deliveries', column: 'edit_wanted', ddl: `ALTER TABLE deliveries ADD COLUMN edit_wanted INTEGER NOT NULL DEFAULT 0` },
  { table: 'deliveries', column: 'edit_done', ddl: `ALTER TABLE deliveries ADD COLUMN edit_done INTEGER NOT NULL DEFAULT 0` },
  { table: 'deliveries', column: 'edit_next_at', ddl: `ALTER TABLE deliveries ADD COLUMN edit_next_at INTEGER NOT NULL DEFAULT 0` },
  { table: 'deliveries', column: 'edit_attempts', ddl: `ALTER TABLE deliveries ADD COLUMN edit_attempts INTEGER NOT NULL DEFAULT 0` },
  { table: 'deliveries', column: 'edit_error', ddl: `ALTER TABLE deliveries ADD COLUMN edit_error TEXT` },
  // Threads for repeats: a reply points at its parent delivery; the parent keeps the thread's ref and count.
  { table: 'deliveries', column: 'thread_parent', ddl: `ALTER TABLE deliveries ADD COLUMN thread_parent INTEGER` },
  { table: 'deliveries', column: 'thread_ref', ddl: `ALTER TABLE deliveries ADD COLUMN thread_ref TEXT` },
  { table: 'deliveries', column: 'thread_replies', ddl: `ALTER TABLE deliveries ADD COLUMN thread_replies INTEGER NOT NULL DEFAULT 0` },
  { table: 'alerts', column: 'detection_id', ddl: `ALTER TABLE alerts ADD COLUMN detection_id TEXT` },
];

/**
 * Firing → resolved episodes (created lazily by those releases, hence apart) and the indexes on columns an older
 * store gains only through {@link LEGACY_ADDED_COLUMNS}.
 */
export const LEGACY_EPISODES_SQL = `
CREATE TABLE IF NOT EXISTS alert_episodes (
  alert_row INTEGER PRIMARY KEY,
  source    TEXT NOT NULL,
  episode   TEXT NOT NULL,
  state     TEXT NOT NULL CHECK (state IN ('firing', 'resolved')));
CREATE INDEX IF NOT EXISTS alert_episodes_key ON alert_episodes (source, episode, alert_row);
CREATE INDEX IF NOT EXISTS deliveries_stale ON deliveries (edit_next_at) WHERE edit_wanted > edit_done;
CREATE INDEX IF NOT EXISTS alerts_detection ON alerts (detection_id, received_at);
`;
