import type Database from 'better-sqlite3';
import { StatementCache } from '../delivery/statement-cache';
import type { SilenceMatcher } from './silence';
import type { SilenceState, SilenceView, TriageActor } from './state';

/** A Silence chosen in a message, as the click recorded it. */
export interface SilenceRequestInput {
  alertRow: number;
  deliveryId: number;
  source: string;
  actor: TriageActor;
  durationMs: number;
  matchers: SilenceMatcher[];
  comment: string;
  interactionId?: string;
  /** When it was chosen: the silence starts then and ends `durationMs` later. */
  at: number;
}

/** An Unsilence click. */
export interface UnsilenceInput {
  alertRow: number;
  actor: TriageActor;
  interactionId?: string;
  at: number;
}

/** What a click came to: recorded, a replay of one recorded before, or refused by the alert's silence state. */
export type SilenceRecordResult = 'recorded' | 'duplicate' | 'busy' | 'none';

/** A silence with work due: its API call (`creating`, `expiring`), or the end of an `active` one. */
export interface SilenceJob {
  id: number;
  alertRow: number;
  source: string;
  state: 'creating' | 'active' | 'expiring';
  matchers: SilenceMatcher[];
  comment: string;
  createdBy: string;
  startsAt: number;
  endsAt: number;
  silenceId: string | null;
  attempts: number;
  lastError: string | null;
}

/**
 * What a job came to: the silence created (its id), expired (Unsilence done, or nothing was created to expire),
 * ended on its own, a failure to retry at `at`, or a failure given up (a create is `failed`; an expire leaves the
 * silence active, with the reason shown).
 */
export type SilenceOutcome =
  | { kind: 'created'; silenceId: string }
  | { kind: 'expired' }
  | { kind: 'ended' }
  | { kind: 'retry'; at: number; reason: string }
  | { kind: 'gaveUp'; reason: string };

/** The columns both engines read a silence row with. */
export const SILENCE_COLUMNS = `id, alert_row, source, state, matchers_json, comment, duration_ms, starts_at, ends_at, silence_id, by_platform, by_id, by_name,
  unsilenced_by_platform, unsilenced_by_id, unsilenced_by_name, unsilenced_at, attempts, last_error`;

/** The alert's latest silence (`?`: its row), the one its messages show. */
export const SILENCE_VIEW_SQL = `SELECT ${SILENCE_COLUMNS} FROM silences WHERE alert_row = ? ORDER BY id DESC LIMIT 1`;

/** A silence row as both engines read it (text columns already decoded). */
export interface SilenceRow {
  id: number;
  alert_row: number;
  source: string;
  state: SilenceState;
  matchers_json: string;
  comment: string;
  duration_ms: number;
  starts_at: number;
  ends_at: number;
  silence_id: string | null;
  by_platform: 'slack' | 'discord';
  by_id: string;
  by_name: string;
  unsilenced_by_platform: 'slack' | 'discord' | null;
  unsilenced_by_id: string | null;
  unsilenced_by_name: string | null;
  unsilenced_at: number | null;
  attempts: number;
  last_error: string | null;
}

/** What a message shows of the row. */
export function silenceViewOf(row: SilenceRow): SilenceView {
  return {
    state: row.state,
    source: row.source,
    by: { platform: row.by_platform, id: row.by_id, name: row.by_name },
    durationMs: Number(row.duration_ms),
    endsAt: Number(row.ends_at),
    ...(row.silence_id ? { silenceId: row.silence_id } : {}),
    ...(row.unsilenced_by_platform ? { unsilencedBy: { platform: row.unsilenced_by_platform, id: row.unsilenced_by_id ?? '', name: row.unsilenced_by_name ?? '' } } : {}),
    ...(row.unsilenced_at !== null ? { unsilencedAt: Number(row.unsilenced_at) } : {}),
    ...(row.last_error !== null ? { error: row.last_error } : {}),
  };
}

/** The job of a row with work due. */
export function silenceJobOf(row: SilenceRow): SilenceJob {
  return {
    id: Number(row.id),
    alertRow: Number(row.alert_row),
    source: row.source,
    state: row.state as SilenceJob['state'],
    matchers: JSON.parse(row.matchers_json) as SilenceMatcher[],
    comment: row.comment,
    createdBy: row.by_name,
    startsAt: Number(row.starts_at),
    endsAt: Number(row.ends_at),
    silenceId: row.silence_id,
    attempts: row.attempts,
    lastError: row.last_error,
  };
}

/**
 * The state change an outcome makes: one UPDATE's SET list and the condition on the row's current state, each with
 * its `?` parameters in order. A click may have moved the row while the call was under way: Unsilence during a
 * create leaves it `expiring`, and the created id is kept so that the next pass expires it.
 */
export function outcomeUpdate(job: SilenceJob, outcome: SilenceOutcome, now: number): { set: string; setParams: unknown[]; where: string; whereParams: unknown[] } {
  switch (outcome.kind) {
    case 'created':
      return {
        set: `silence_id = ?, attempts = 0, last_error = NULL, state = CASE WHEN state = 'creating' THEN 'active' ELSE state END,
              next_attempt_at = CASE WHEN state = 'creating' THEN ends_at ELSE ? END`,
        setParams: [outcome.silenceId, now],
        where: `state IN ('creating', 'expiring')`,
        whereParams: [],
      };
    case 'expired':
      return { set: `state = 'expired', attempts = 0, last_error = NULL`, setParams: [], where: `state = 'expiring'`, whereParams: [] };
    case 'ended':
      return { set: `state = 'ended', last_error = NULL`, setParams: [], where: `state IN ('active', 'expiring') AND ends_at <= ?`, whereParams: [now] };
    case 'retry':
      return { set: `attempts = attempts + 1, next_attempt_at = ?, last_error = ?`, setParams: [outcome.at, outcome.reason], where: `state = ?`, whereParams: [job.state] };
    case 'gaveUp':
      return {
        set: `attempts = attempts + 1, last_error = ?, state = CASE WHEN state = 'creating' THEN 'failed' ELSE 'active' END, next_attempt_at = ends_at`,
        setParams: [outcome.reason],
        where: `state = ?`,
        whereParams: [job.state],
      };
  }
}

/** Whether an outcome changes what the messages show (a retry only when its reason is new). */
export const outcomeShown = (job: SilenceJob, outcome: SilenceOutcome): boolean => outcome.kind !== 'retry' || outcome.reason !== job.lastError;

const CURRENT = `state IN ('creating', 'active', 'expiring')`;

/**
 * Silences on SQLite (the semantics of the store contract's SilenceOps): one current silence per alert, clicks
 * recorded once per interaction id, the due API calls, and their outcomes. Every change a message shows schedules
 * an edit of every copy of the alert (`touch`) in the same transaction.
 */
export class SilenceStore extends StatementCache {
  constructor(
    db: Database.Database,
    private readonly touch: (alertRow: number) => void,
  ) {
    super(db);
  }

  request(input: SilenceRequestInput): 'recorded' | 'duplicate' | 'busy' {
    return this.db.transaction((): 'recorded' | 'duplicate' | 'busy' => {
      if (input.interactionId && this.sql(`SELECT 1 FROM silences WHERE interaction_id = ?`).get(input.interactionId)) return 'duplicate';
      const inserted = this.sql(
        `INSERT INTO silences (alert_row, delivery_id, source, state, matchers_json, comment, duration_ms, starts_at, ends_at, by_platform, by_id, by_name,
                               interaction_id, next_attempt_at, created_at, updated_at)
         VALUES (?, ?, ?, 'creating', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      ).run(
        input.alertRow, input.deliveryId, input.source, JSON.stringify(input.matchers), input.comment, input.durationMs, input.at, input.at + input.durationMs,
        input.actor.platform, input.actor.id, input.actor.name, input.interactionId ?? null, input.at, input.at, input.at,
      );
      if (inserted.changes === 0) return 'busy';
      this.touch(input.alertRow);
      return 'recorded';
    }).immediate();
  }

  unsilence(input: UnsilenceInput): 'recorded' | 'duplicate' | 'none' {
    return this.db.transaction((): 'recorded' | 'duplicate' | 'none' => {
      if (input.interactionId && this.sql(`SELECT 1 FROM silences WHERE unsilence_interaction = ?`).get(input.interactionId)) return 'duplicate';
      const updated = this.sql(
        `UPDATE silences SET state = 'expiring', unsilenced_by_platform = ?, unsilenced_by_id = ?, unsilenced_by_name = ?, unsilenced_at = ?,
                unsilence_interaction = ?, next_attempt_at = ?, attempts = 0, last_error = NULL, updated_at = ?
          WHERE alert_row = ? AND state IN ('creating', 'active')`,
      ).run(input.actor.platform, input.actor.id, input.actor.name, input.at, input.interactionId ?? null, input.at, input.at, input.alertRow);
      if (updated.changes === 0) return 'none';
      this.touch(input.alertRow);
      return 'recorded';
    }).immediate();
  }

  /** Silences with work due at `now`, soonest first. One process: nothing to lease against. */
  due(now: number, limit: number): SilenceJob[] {
    const rows = this.sql(`SELECT ${SILENCE_COLUMNS} FROM silences WHERE ${CURRENT} AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`).all(now, limit) as SilenceRow[];
    return rows.map(silenceJobOf);
  }

  nextDueAt(): number | undefined {
    return ((this.sql(`SELECT MIN(next_attempt_at) AS at FROM silences WHERE ${CURRENT}`).get() as { at: number | null }).at) ?? undefined;
  }

  finish(job: SilenceJob, outcome: SilenceOutcome, now: number): void {
    this.db.transaction(() => {
      const update = outcomeUpdate(job, outcome, now);
      const updated = this.sql(`UPDATE silences SET ${update.set}, updated_at = ? WHERE id = ? AND ${update.where}`).run(...update.setParams, now, job.id, ...update.whereParams);
      if (updated.changes > 0 && outcomeShown(job, outcome)) this.touch(job.alertRow);
    }).immediate();
  }
}
