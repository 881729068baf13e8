import { toPgRecord, toPgText } from './postgres/pg-text';

/**
 * How one column of the SQLite store becomes the PostgreSQL store's, as the PostgreSQL engine itself writes it
 * (src/delivery/postgres/pg-accept.ts, pg-claims.ts, pg-digests.ts, pg-triage.ts), so the engine reads copied rows
 * exactly as rows it wrote:
 * - `int`: a number (ids, counts, epoch ms), `bigint` or `integer` there;
 * - `name`: text the config or the bridge chooses (source, route, destination, status …), stored as it is. The
 *   engine does not encode these, so a NUL in one cannot be stored: the copy refuses it, naming the row;
 * - `text`: text of an alert or of a platform's answer, through {@link toPgText} (U+0000 ↔ `␀0`, `␀` ↔ `␀␀`), the
 *   engine's reversible encoding: a dedup key keeps its identity, so a sender's retry is still a duplicate;
 * - `json`: JSON text kept as the bridge wrote it, into a `json` column (the alert, a digest's summary: `json`
 *   accepts the escape `\u0000` that jsonb refuses);
 * - `record`: a JSON object of strings (message and thread refs, write-back arguments) into `jsonb`, every key and
 *   value through {@link toPgRecord} as the engine stores them;
 * - `lease`: a lease's expiry, cleared (0): nothing holds the copied work, the first replica to claim it sends it.
 */
export type ColumnKind = 'int' | 'name' | 'text' | 'json' | 'record' | 'lease';

/** A table copied from SQLite to PostgreSQL: its key (copied in its order), columns and their kinds. */
export interface CopiedTable {
  readonly name: string;
  /** Rows are read and written in this column's order; for tables with an identity, the identity. */
  readonly key: string;
  /** The `id` is a PostgreSQL identity whose sequence must go past the copied ids (and past purged ones). */
  readonly identity: boolean;
  /** Every column of the table in SQLite's current schema (sqlite-migrations.ts), with the same name in PostgreSQL. */
  readonly columns: readonly (readonly [column: string, kind: ColumnKind])[];
}

/**
 * Every table of the SQLite store's data, parents before children (foreign keys point at alerts). PostgreSQL
 * columns the list does not name keep their defaults: `claimed_by`, `edit_claimed_by`, `edit_lease_until`
 * (deliveries), `claimed_by`, `lease_until` (panther_sync, silences) and `claimed_by` (escalations): no replica
 * holds anything yet.
 */
export const COPIED_TABLES: readonly CopiedTable[] = [
  {
    name: 'alerts',
    key: 'id',
    identity: true,
    columns: [
      ['id', 'int'], ['source', 'name'], ['dedup_key', 'text'], ['alert_id', 'text'], ['severity', 'name'],
      ['received_at', 'int'], ['created_at_ms', 'int'], ['detection_id', 'text'], ['title', 'text'], ['link', 'text'],
      ['alert_json', 'json'],
    ],
  },
  {
    name: 'deliveries',
    key: 'id',
    identity: true,
    columns: [
      ['id', 'int'], ['alert_row', 'int'], ['route', 'name'], ['destination', 'name'], ['template', 'name'], ['status', 'name'],
      ['attempts', 'int'], ['rate_limited', 'int'], ['next_attempt_at', 'int'], ['lease_until', 'lease'], ['last_reason', 'text'],
      ['message_ref', 'record'], ['created_at', 'int'], ['updated_at', 'int'], ['delivered_at', 'int'], ['via', 'name'],
      ['edit_wanted', 'int'], ['edit_done', 'int'], ['edit_next_at', 'int'], ['edit_attempts', 'int'], ['edit_error', 'text'],
      ['thread_parent', 'int'], ['thread_ref', 'record'], ['thread_replies', 'int'],
    ],
  },
  {
    name: 'digests',
    key: 'id',
    identity: true,
    columns: [['id', 'int'], ['destination', 'name'], ['message_ref', 'record'], ['summary_json', 'json'], ['opened_at', 'int'], ['updated_at', 'int']],
  },
  {
    name: 'triage_events',
    key: 'id',
    identity: true,
    columns: [
      ['id', 'int'], ['alert_row', 'int'], ['action', 'name'], ['actor_platform', 'name'], ['actor_id', 'text'], ['actor_name', 'text'],
      ['delivery_id', 'int'], ['interaction_id', 'text'], ['at', 'int'],
    ],
  },
  {
    name: 'panther_sync',
    key: 'id',
    identity: true,
    columns: [
      ['id', 'int'], ['alert_row', 'int'], ['operation', 'name'], ['argument_json', 'record'], ['status', 'name'], ['attempts', 'int'],
      ['next_attempt_at', 'int'], ['last_error', 'text'], ['created_at', 'int'], ['updated_at', 'int'],
    ],
  },
  {
    name: 'silences',
    key: 'id',
    identity: true,
    columns: [
      ['id', 'int'], ['alert_row', 'int'], ['delivery_id', 'int'], ['source', 'name'], ['state', 'name'], ['matchers_json', 'json'], ['comment', 'text'],
      ['duration_ms', 'int'], ['starts_at', 'int'], ['ends_at', 'int'], ['silence_id', 'text'], ['by_platform', 'name'], ['by_id', 'text'], ['by_name', 'text'],
      ['interaction_id', 'text'], ['unsilenced_by_platform', 'name'], ['unsilenced_by_id', 'text'], ['unsilenced_by_name', 'text'], ['unsilenced_at', 'int'],
      ['unsilence_interaction', 'text'], ['attempts', 'int'], ['next_attempt_at', 'int'], ['last_error', 'text'], ['created_at', 'int'], ['updated_at', 'int'],
    ],
  },
  {
    name: 'alert_episodes',
    key: 'alert_row',
    identity: false,
    columns: [['alert_row', 'int'], ['source', 'name'], ['episode', 'text'], ['state', 'name']],
  },
  {
    name: 'escalations',
    key: 'id',
    identity: true,
    columns: [
      ['id', 'int'], ['delivery_id', 'int'], ['alert_row', 'int'], ['status', 'name'], ['sent', 'int'], ['due_at', 'int'], ['next_at', 'int'],
      ['attempts', 'int'], ['last_error', 'text'], ['stop_reason', 'name'], ['lease_until', 'lease'], ['created_at', 'int'], ['updated_at', 'int'],
    ],
  },
];

/**
 * Tables of the SQLite store that are deliberately not copied, and why. Any other table found in the file stops
 * the copy: a newer schema holds something this release would leave behind.
 */
export const NOT_COPIED: Readonly<Record<string, string>> = {
  store_owner: 'names the one serve process of a SQLite store; PostgreSQL replicas register themselves',
  sqlite_sequence: "SQLite's own record of the highest ids ever used: the PostgreSQL sequences are set past them",
};

/** The PostgreSQL type a parameter of `kind` is cast to (multi-row VALUES need the types said). */
export const PG_CAST: Readonly<Record<ColumnKind, string>> = { int: 'bigint', name: 'text', text: 'text', json: 'json', record: 'jsonb', lease: 'bigint' };

/** A value the copy cannot store, with where it is. */
export class UncopyableValueError extends Error {
  constructor(table: string, key: unknown, column: string, why: string) {
    super(`${table} row ${String(key)}, column ${column}: ${why}`);
    this.name = 'UncopyableValueError';
  }
}

/**
 * `value`, read from SQLite's `table.column`, as the PostgreSQL engine would have written it (see
 * {@link ColumnKind}). Throws {@link UncopyableValueError} for a value no engine write could have produced.
 */
export function toPgValue(table: string, key: unknown, column: string, kind: ColumnKind, value: unknown): unknown {
  if (value === null || value === undefined) return kind === 'lease' ? 0 : null;
  switch (kind) {
    case 'int':
      if (typeof value !== 'number' && typeof value !== 'bigint') throw new UncopyableValueError(table, key, column, `expected an integer, found ${typeof value}`);
      return value;
    case 'lease':
      return 0;
    case 'name':
      if (String(value).includes('\u0000')) throw new UncopyableValueError(table, key, column, 'holds a NUL character, which PostgreSQL text cannot store');
      return String(value);
    case 'text':
      return toPgText(String(value));
    case 'json':
      // PostgreSQL checks it too, but its error would not say which row.
      try {
        JSON.parse(String(value));
      } catch {
        throw new UncopyableValueError(table, key, column, 'is not JSON');
      }
      return String(value);
    case 'record': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(String(value));
      } catch {
        throw new UncopyableValueError(table, key, column, 'is not JSON');
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UncopyableValueError(table, key, column, 'is not a JSON object');
      return toPgRecord(parsed as Record<string, string>);
    }
  }
}
