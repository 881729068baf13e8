/**
 * Purge and the triage view find their rows through indexes (issue 14, point 4): the query plans SQLite makes for
 * the very statements they run, on a migrated store, never read a whole table of alerts, deliveries, write-back
 * jobs, triage events or silences (before, deleting an alert scanned panther_sync once per alert for its foreign key, and
 * the purge's pending check walked every pending delivery once per alert).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { OutboxStore } from '../src/delivery/store';
import { PURGE_SQL } from '../src/delivery/ledger';
import { TRIAGE_VIEW_SQL } from '../src/triage/triage-store';

const TABLES = ['alerts', 'deliveries', 'panther_sync', 'triage_events', 'alert_episodes', 'silences', 'escalations'];
/** The aliases the statements give those tables. */
const ALIASES: Record<string, string> = { a: 'alerts', d: 'deliveries', p: 'panther_sync', e: 'triage_events', ep: 'alert_episodes', s: 'silences', x: 'escalations' };

let db: Database.Database;
beforeAll(() => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'cb-plan-')), 'outbox.db');
  new OutboxStore(file).close();
  db = new Database(file);
  db.exec(PURGE_SQL.prepare);
});
afterAll(() => db.close());

/** EXPLAIN QUERY PLAN lines of `sql` (every parameter bound to null: the plan does not depend on values). */
function plan(sql: string): string[] {
  const count = (sql.match(/\?/g) ?? []).length;
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...Array<null>(count).fill(null)) as { detail: string }[]).map((r) => r.detail);
}

/**
 * Plan lines that read one of TABLES in full, or look its rows up by anything but the alert (or, for an
 * escalation, the message) they belong to.
 */
function badLookups(lines: string[]): string[] {
  return lines.filter((line) => {
    const m = /^(SCAN|SEARCH) (\w+)/.exec(line);
    if (!m) return false;
    const table = ALIASES[m[2]!] ?? m[2]!;
    if (!TABLES.includes(table)) return false;
    if (m[1] === 'SCAN') return true;
    const byAlert = /\((alert_row=\?|rowid=\?|received_at<\?|delivery_id=\?)/.test(line);
    return !byAlert;
  });
}

describe('query plans', () => {
  const purge = [PURGE_SQL.choose, ...PURGE_SQL.belongings, PURGE_SQL.deliveries, PURGE_SQL.alerts];
  it.each(purge.map((sql) => [sql.replace(/\s+/g, ' ').slice(0, 60), sql]))('purge: %s', (_label, sql) => {
    const lines = plan(sql);
    expect(lines.some((line) => /^SEARCH/.test(line))).toBe(true);
    expect(badLookups(lines)).toEqual([]);
  });

  it('purge of old digests reads only the old ones', () => {
    expect(plan(PURGE_SQL.digests)).toEqual([expect.stringMatching(/^SEARCH digests USING (COVERING )?INDEX \w+ \(updated_at<\?\)/)]);
  });

  it.each(Object.entries(TRIAGE_VIEW_SQL))('triage view: %s', (_name, sql) => {
    const lines = plan(sql);
    expect(lines).not.toEqual([]);
    expect(badLookups(lines)).toEqual([]);
  });

  it('the ledger finds an alert by its source id through an index', () => {
    const lines = plan(`SELECT d.id FROM deliveries d JOIN alerts a ON a.id = d.alert_row WHERE a.alert_id = ? ORDER BY d.id DESC LIMIT ?`);
    expect(lines[0]).toMatch(/^SEARCH a USING (COVERING )?INDEX \w+ \(alert_id=\?\)/);
  });
});
