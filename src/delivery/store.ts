import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Alert } from '../domain/alert';
import { storedId } from '../domain/stored-id';
import { MAX_DIGEST_LINK } from '../destinations/digest-format';
import type { RouteTarget } from '../routing/router';
import type { MessageRef } from '../domain/delivery';
import { DigestStore } from './digest-store';
import { Ledger } from './ledger';
import { TriageStore } from '../triage/triage-store';
import { EscalationStore } from '../escalation/escalation-store';
import { SilenceStore } from '../triage/silence-store';
import { migrate } from './migrate';
import { SQLITE_MIGRATIONS, STORED_TITLE_MAX } from './sqlite-migrations';
import { LifecycleStore } from './lifecycle-store';
import type { AcceptResult, DeliveryStatus, DeliverySummary } from './status';
import { OwnerRecords } from './owner-records';
import { truncateText } from '../templates/truncate';
import { ParsedAlerts } from './parsed-alerts';
import { claimedDelivery, type ClaimedDelivery } from './claimed-delivery';
import { isStoreBusy } from './store-errors';

/**
 * How long background bookkeeping waits for another connection's write lock (see {@link OutboxStore.briefly}), by
 * default: the event loop that answers webhooks is blocked while it waits.
 */
const BACKGROUND_BUSY_MS = 100;

export interface OutboxStoreOptions {
  /**
   * Background bookkeeping, when another connection holds the write lock, tries again every fraction of a
   * millisecond, blocking the calling thread, for up to this long (then fails with SQLITE_BUSY), instead of waiting
   * in SQLite's busy handler for {@link BACKGROUND_BUSY_MS}. SQLite's handler sleeps 1, 2, 5, 10… ms between tries:
   * beside a stream of accepts on another connection of the same process, each holding the lock for well under a
   * millisecond, those sleeps were most of a delivery's time (the delivery thread's connection).
   */
  spinLockWaitMs?: number;
}

/** The calling thread's sleeps between tries of {@link OutboxStoreOptions.spinLockWaitMs}: 50 µs, doubling to 2 ms. */
const SPIN_FIRST_MS = 0.05;
const SPIN_MAX_MS = 2;

/** One alert to accept and where it goes. */
export interface AcceptItem {
  alert: Alert;
  targets: readonly RouteTarget[];
}

/** An outcome as a value: what one item of a batch came to. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: Error };

export type { ClaimedDelivery } from './claimed-delivery';

interface DeliveryRow {
  id: number;
  alert_row: number;
  edit_wanted: number;
  route: string;
  destination: string;
  template: string | null;
  attempts: number;
  created_at: number;
  next_attempt_at: number;
}

/**
 * The durable outbox (SQLite, WAL). `accept` commits the alert and its deliveries in one transaction before the
 * webhook is answered; `claim` leases due rows; the finalise methods record each outcome. All methods are
 * synchronous (better-sqlite3), so a row's state change is on disk before the next await.
 */
export class OutboxStore {
  private readonly db: Database.Database;
  private readonly statements;
  /**
   * Transaction functions made once: better-sqlite3's transaction() builds four wrappers (and defines their
   * properties) on every call, about 6 µs each — a tenth of a claim's CPU when a claim made two of them.
   */
  private readonly transactions;
  private digestStore: DigestStore | undefined;
  private triageStore: TriageStore | undefined;
  private escalationStore: EscalationStore | undefined;
  private silenceStore: SilenceStore | undefined;
  private lifecycleStore: LifecycleStore | undefined;
  /**
   * The connection's busy timeout and synchronous level as last set (only this class sets them): each background
   * call used to read the timeout back and set it twice, three PRAGMA statements compiled on every claim and record.
   */
  private busyMs = 5000;
  private syncLevel: 'NORMAL' | 'FULL' = 'NORMAL';
  /** Compiled PRAGMA statements by text (a handful: the busy timeouts and the two synchronous levels used). */
  private readonly pragmas = new Map<string, Database.Statement>();
  /** Recent claims' alerts, parsed once for all their deliveries and attempts. */
  private readonly parsed = new ParsedAlerts();

  private readonly spinLockWaitMs: number | undefined;
  /** What Atomics.wait sleeps on between tries (nothing ever notifies it). */
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));

  constructor(file: string, options: OutboxStoreOptions = {}) {
    this.spinLockWaitMs = options.spinLockWaitMs;
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL by default: in WAL mode every commit survives a process crash; only an OS crash or power loss can
    // lose the newest ones. Bookkeeping (leases, outcomes, retries) may take that risk — the worst case is one
    // resend after a power cut, the same window a crash between posting and recording has. What the bridge has
    // promised (an accepted alert, a recorded click) is committed FULL through `durably`, which also syncs
    // every NORMAL commit before it.
    this.db.pragma('synchronous = NORMAL');
    // A connection that spins on a held lock itself never uses SQLite's busy wait: 0 from the start, so that each
    // background call does not set it and set it back (two PRAGMA statements per call, 5 % of the delivery thread).
    this.busyMs = this.spinLockWaitMs === undefined ? 5000 : 0;
    this.db.pragma(`busy_timeout = ${this.busyMs}`);
    this.db.pragma('foreign_keys = ON');
    migrate(this.db, SQLITE_MIGRATIONS);
    this.statements = {
      insertAlert: this.db.prepare(
        `INSERT INTO alerts (source, dedup_key, alert_id, severity, title, alert_json, received_at, detection_id, link, created_at_ms)
         VALUES (@source, @dedupKey, @alertId, @severity, @title, @json, @now, @detectionId, @link, @createdAtMs)
         ON CONFLICT (source, dedup_key) DO NOTHING`,
      ),
      findAlert: this.db.prepare(`SELECT id, received_at AS receivedAt FROM alerts WHERE source = ? AND dedup_key = ?`),
      insertDelivery: this.db.prepare(
        `INSERT INTO deliveries (alert_row, route, destination, template, status, next_attempt_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)`,
      ),
      deliveriesOf: this.db.prepare(`SELECT route, destination, status FROM deliveries WHERE alert_row = ? ORDER BY id`),
      // data_version changes with another connection's commits, total_changes() with this one's writes.
      writeMark: this.db.prepare('SELECT data_version AS other, total_changes() AS own FROM pragma_data_version'),
      // A skip-scan over the (status, destination, …) index, one seek per destination (see pendingDestinations).
      firstPending: this.db.prepare(`SELECT MIN(destination) FROM deliveries WHERE status = 'pending'`).pluck(),
      pendingAfter: this.db.prepare(`SELECT MIN(destination) FROM deliveries WHERE status = 'pending' AND destination > ?`).pluck(),
      headOf: this.db.prepare(
        `SELECT d.id, d.alert_row, d.route, d.destination, d.template, d.attempts, d.created_at, d.next_attempt_at, d.edit_wanted
           FROM deliveries d
          WHERE d.status = 'pending' AND d.destination = ? AND d.next_attempt_at <= ? AND d.lease_until <= ?
          ORDER BY d.next_attempt_at, d.id LIMIT 1`,
      ),
      // Read only for a row just leased: a head is read on every claim, and most heads are not taken (over the
      // limit, or the claim raced); reading each head's alert (up to ~1 MB) there made one large string per head per
      // claim, garbage that piled up until the next full GC (tens of MB in the 900 KB burst of test:alone).
      alertJson: this.db.prepare(`SELECT alert_json FROM alerts WHERE id = ?`).pluck(),
      lease: this.db.prepare(`UPDATE deliveries SET lease_until = ?, updated_at = ? WHERE id = ? AND status = 'pending' AND lease_until <= ?`),
      delivered: this.db.prepare(
        `UPDATE deliveries SET status = 'delivered', message_ref = ?, delivered_at = ?, updated_at = ?, lease_until = 0,
                attempts = attempts + 1, last_reason = NULL, edit_done = MAX(edit_done, ?) WHERE id = ?`,
      ),
      reschedule: this.db.prepare(
        `UPDATE deliveries SET next_attempt_at = ?, last_reason = ?, updated_at = ?, lease_until = 0,
                attempts = attempts + ?, rate_limited = rate_limited + ? WHERE id = ?`,
      ),
      dead: this.db.prepare(
        `UPDATE deliveries SET status = 'dead', last_reason = ?, updated_at = ?, lease_until = 0, attempts = attempts + ? WHERE id = ?`,
      ),
      // The earliest unleased row in index order (leased rows are in flight: their completion wakes the worker).
      nextDueOf: this.db.prepare(
        `SELECT next_attempt_at FROM deliveries WHERE status = 'pending' AND destination = ? AND lease_until <= ? ORDER BY next_attempt_at LIMIT 1`,
      ).pluck(),
      release: this.db.prepare(`UPDATE deliveries SET lease_until = 0 WHERE id = ? AND status = 'pending'`),
      releaseLeases: this.db.prepare(`UPDATE deliveries SET lease_until = 0 WHERE status = 'pending' AND lease_until > 0`),
      counts: this.db.prepare(`SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status`),
      begin: this.db.prepare('BEGIN IMMEDIATE'),
      commit: this.db.prepare('COMMIT'),
      rollback: this.db.prepare('ROLLBACK'),
    };
    this.transactions = {
      readHeads: this.db.transaction((busy: ReadonlySet<string>, now: number) => this.readHeads(busy, now)),
      leaseHeads: this.db.transaction((heads: readonly DeliveryRow[], leaseMs: number, now: number) => this.leaseHeads(heads, leaseMs, now)),
      nextDue: this.db.transaction((now: number) => this.nextDue(now)),
      atomic: this.db.transaction((work: () => unknown) => work()),
      // The accepts' two levels: the batch (IMMEDIATE) and each POST's savepoint. An alert has no savepoint of its
      // own: nothing between it and its POST catches, so whatever fails rolls back with the POST's savepoint.
      acceptBatch: this.db.transaction((lifecycle: LifecycleStore, groups: readonly (readonly AcceptItem[])[], now: number) =>
        groups.map((group): Settled<AcceptResult[]> => {
          try {
            // A nested transaction is a SAVEPOINT, rolled back alone when it throws.
            return { ok: true, value: this.transactions.acceptGroup(lifecycle, group, now) };
          } catch (error) {
            // Some errors end the whole transaction in SQLite itself (a full disk, an I/O error, out of memory): the
            // POSTs after this one would each commit on their own, outside it, and the batch's COMMIT then fail
            // with "no transaction is active". The whole batch fails with SQLite's error instead; nothing is stored.
            if (!this.db.inTransaction) throw error;
            return { ok: false, error: error as Error };
          }
        }),
      ),
      acceptGroup: this.db.transaction((lifecycle: LifecycleStore, items: readonly AcceptItem[], now: number) =>
        items.map(({ alert, targets }) => lifecycle.accept(alert, targets, (chosen) => this.acceptRows(alert, chosen, now), now)),
      ),
    };
  }

  /**
   * Stores the alert and one pending delivery per target in one transaction. A second accept of the same
   * (source, dedupKey) inserts nothing and returns the existing deliveries with status "duplicate" and when the
   * first was accepted.
   */
  accept(alert: Alert, targets: readonly RouteTarget[], now = Date.now()): AcceptResult {
    const lifecycle = this.lifecycle();
    return this.durably(() => this.transactions.acceptGroup.immediate(lifecycle, [{ alert, targets }], now))[0]!;
  }

  /**
   * Group commit: stores several webhook POSTs in ONE durable transaction (one disk sync for all). Each group
   * (the alerts of one POST) is all-or-none in its own savepoint, so a failing group fails alone and a 503 is
   * retried whole by its sender. Results are in order; an alert repeated within the batch is a duplicate of the
   * first. If the commit itself fails, this throws and nothing of the batch is stored. With `caller-syncs` the
   * commit is not synced here: nothing of it may be promised until the caller has synced the log (WalSync, wal-sync.ts).
   */
  acceptGroups(groups: readonly (readonly AcceptItem[])[], now = Date.now(), durability: 'synced' | 'caller-syncs' = 'synced'): Settled<AcceptResult[]>[] {
    const lifecycle = this.lifecycle();
    // IMMEDIATE: the write lock is taken before any group. Deferred, each group's first insert asked for it alone,
    // so a lock held elsewhere failed every POST of the batch one busy timeout after the other.
    const commit = durability === 'synced' ? this.durably.bind(this) : <T>(write: () => T) => write();
    return commit(() => this.transactions.acceptBatch.immediate(lifecycle, groups, now));
  }

  private lifecycle(): LifecycleStore {
    return (this.lifecycleStore ??= new LifecycleStore(this.db));
  }

  /**
   * Runs `write` with synchronous=FULL: its commit (and every earlier NORMAL one) is on disk before it returns.
   * For what must survive power loss: an alert that was answered 2xx, a triage click that was acknowledged.
   */
  durably<T>(write: () => T): T {
    this.setSynchronous('FULL');
    try {
      return write();
    } finally {
      this.setSynchronous('NORMAL');
    }
  }

  /**
   * Runs background bookkeeping (the worker's claims and outcomes, the editor's, the write-back's) with a short
   * wait for another process's write lock instead of the accepts' busy timeout: better-sqlite3 waits synchronously,
   * so a 5 s wait per attempt froze HTTP and every loop while, say, `outbox purge` held the lock. The loop that
   * gets SQLITE_BUSY backs off and tries again later instead. `atomic` runs `work` as one transaction (an outcome
   * and what goes with it are written together or not at all, so a retry never applies half of it twice).
   */
  briefly<T>(work: () => T, atomic = false): T {
    // IMMEDIATE: the write lock is taken (or waited for) at BEGIN, so a read-then-write never fails half-way.
    const run = () => (atomic ? (this.transactions.atomic.immediate(work) as T) : work());
    return this.spinLockWaitMs === undefined ? this.withBusyTimeout(BACKGROUND_BUSY_MS, run) : this.withBusyTimeout(0, () => this.spinWhileBusy(run, this.spinLockWaitMs!));
  }

  /** Runs `run`, trying again after short sleeps of this thread while it fails with SQLITE_BUSY, for up to `waitMs`. */
  private spinWhileBusy<T>(run: () => T, waitMs: number): T {
    const giveUpAt = performance.now() + waitMs;
    let pause = SPIN_FIRST_MS;
    for (;;) {
      try {
        return run();
      } catch (error) {
        if (!isStoreBusy(error) || performance.now() + pause > giveUpAt) throw error;
      }
      Atomics.wait(this.sleeper, 0, 0, pause);
      pause = Math.min(SPIN_MAX_MS, pause * 2);
    }
  }

  /** Runs `work` with the connection waiting at most `ms` for another process's write lock, then restores it. */
  private withBusyTimeout<T>(ms: number, work: () => T): T {
    const previous = this.busyMs;
    this.setBusyTimeout(ms);
    try {
      return work();
    } finally {
      this.setBusyTimeout(previous);
    }
  }

  private setBusyTimeout(ms: number): void {
    if (ms === this.busyMs) return;
    this.pragma(`busy_timeout = ${ms}`);
    this.busyMs = ms;
  }

  private setSynchronous(level: 'NORMAL' | 'FULL'): void {
    if (level === this.syncLevel) return;
    this.pragma(`synchronous = ${level}`);
    this.syncLevel = level;
  }

  /** Runs a setting PRAGMA through a statement compiled once. */
  private pragma(source: string): void {
    let statement = this.pragmas.get(source);
    if (!statement) this.pragmas.set(source, (statement = this.db.prepare(`PRAGMA ${source}`)));
    // Setting PRAGMAs answer with the new value (a row) or nothing; either way the statement is only run.
    if (statement.reader) statement.get();
    else statement.run();
  }

  /** One alert's rows; run only inside `transactions.acceptGroup` (its POST's savepoint, or the accept's transaction). */
  private acceptRows(alert: Alert, targets: readonly RouteTarget[], now: number): AcceptResult {
    const inserted = this.statements.insertAlert.run({
      source: alert.source,
      dedupKey: alert.dedupKey,
      // Bounded (the full alert is in alert_json): columns before alert_json stay small, so reading a row never
      // walks a huge value's overflow pages, and nothing that lists or logs them carries a 900 KB id.
      alertId: storedId(alert.alertId),
      severity: alert.severity,
      // Bounded: the ledger and digests list it; the full alert is in alert_json.
      title: truncateText(alert.title, STORED_TITLE_MAX, { marker: '…', count: 'codepoints' }).text,
      detectionId: storedId(alert.detectionId),
      // Only the digest reads this column, and it lists a link only up to MAX_DIGEST_LINK.
      link: alert.link.length <= MAX_DIGEST_LINK ? alert.link : '',
      createdAtMs: alert.createdAtMs,
      json: JSON.stringify(alert),
      now,
    });
    if (inserted.changes === 0) {
      const existing = this.statements.findAlert.get(alert.source, alert.dedupKey) as { id: number; receivedAt: number };
      return { status: 'duplicate', deliveries: this.statements.deliveriesOf.all(existing.id) as DeliverySummary[], acceptedAt: existing.receivedAt };
    }
    const alertRow = Number(inserted.lastInsertRowid);
    for (const target of targets) {
      this.statements.insertDelivery.run(alertRow, target.route, target.destination, target.template ?? null, now, now, now);
    }
    return { status: 'accepted', deliveries: targets.map((t) => ({ route: t.route, destination: t.destination, status: 'pending' as const })) };
  }

  /**
   * Leases up to `limit` due deliveries for `leaseMs`, skipping destinations in `busy` and taking at most one
   * row per destination, so deliveries to one channel go out in order, one at a time.
   */
  claim(limit: number, busy: ReadonlySet<string>, leaseMs: number, now = Date.now()): ClaimedDelivery[] {
    if (limit <= 0) return [];
    const heads = this.transactions.readHeads(busy, now);
    if (heads.length === 0) return [];
    heads.sort((a, b) => a.next_attempt_at - b.next_attempt_at || a.id - b.id);
    return this.transactions.leaseHeads.immediate(heads.slice(0, limit), leaseMs, now);
  }

  /**
   * The heads of each destination's queue, so a long backlog for one channel never hides the others' work. Read
   * without the write lock: most claims find nothing due, and an idle poll must not queue behind other
   * connections' writes (nor fail while `outbox purge` holds the lock).
   */
  private readHeads(busy: ReadonlySet<string>, now: number): DeliveryRow[] {
    const found: DeliveryRow[] = [];
    for (const destination of this.pendingDestinations()) {
      if (busy.has(destination)) continue;
      const head = this.statements.headOf.get(destination, now, now) as DeliveryRow | undefined;
      if (head) found.push(head);
    }
    return found;
  }

  /**
   * The leases, run under the write lock taken at BEGIN (IMMEDIATE): a deferred transaction that read first failed
   * at once with SQLITE_BUSY, without waiting, when another connection (the main thread's accepts, beside the
   * delivery thread) had committed since its read. Each lease checks that its row is still pending and unleased.
   */
  private leaseHeads(heads: readonly DeliveryRow[], leaseMs: number, now: number): ClaimedDelivery[] {
    const claimed: ClaimedDelivery[] = [];
    // One parse per alert, shared by its deliveries and attempts (nothing downstream mutates an Alert): the heads
    // of several destinations are usually the same alert, and parsing a ~1 MB alert once per destination stalled
    // the event loop for up to ~100 ms in one claim (test/hostile.test.ts).
    const alerts = new Map<number, Alert>();
    for (const row of heads) {
      if (this.statements.lease.run(now + leaseMs, now, row.id, now).changes === 0) continue;
      let alert = alerts.get(row.alert_row);
      // The alert row exists: deliveries reference it (foreign key), and purge deletes both together.
      if (!alert) alerts.set(row.alert_row, (alert = this.parsed.get(row.alert_row, this.statements.alertJson.get(row.alert_row) as string)));
      claimed.push(claimedDelivery(row, alert));
    }
    return claimed;
  }

  /** Gives a leased delivery back untouched (claimed but not attempted). */
  release(id: number): void {
    this.statements.release.run(id);
  }

  /**
   * Records a posted message. `renderedRevision` is the edit revision its content showed (read before
   * formatting): a click that landed while it was in flight leaves it stale, and the editor catches it up.
   */
  markDelivered(id: number, ref: MessageRef, now = Date.now(), renderedRevision = 0): void {
    this.statements.delivered.run(JSON.stringify(ref), now, now, renderedRevision, id);
  }

  /** Puts a delivery back in the queue; a rate-limited attempt is counted apart and not as a failure. */
  reschedule(id: number, nextAttemptAt: number, reason: string, rateLimited: boolean, now = Date.now()): void {
    this.statements.reschedule.run(nextAttemptAt, reason, now, rateLimited ? 0 : 1, rateLimited ? 1 : 0, id);
  }

  markDead(id: number, reason: string, countAttempt = true, now = Date.now()): void {
    this.statements.dead.run(reason, now, countAttempt ? 1 : 0, id);
  }

  /** Per destination with pending work, the epoch ms at which its next delivery becomes claimable. */
  nextDueByDestination(now = Date.now()): Map<string, number> {
    return this.transactions.nextDue(now);
  }

  /** {@link nextDueByDestination}'s reads, in one read transaction (see {@link pendingDestinations}). */
  private nextDue(now: number): Map<string, number> {
    const due = new Map<string, number>();
    for (const destination of this.pendingDestinations()) {
      const at = this.statements.nextDueOf.get(destination, now) as number | undefined;
      if (at !== undefined) due.set(destination, at);
    }
    return due;
  }

  /**
   * The destinations with pending deliveries, in name order: one index seek each over (status, destination, …), a
   * skip-scan instead of a walk over every pending row, which the loop cannot afford on each turn when thousands are
   * queued. Seeks from here rather than a recursive CTE: the CTE's machinery cost more than its seeks (about 11 µs
   * against 7 for two destinations). Run inside a transaction: on its own each statement began and ended a read
   * transaction of its own, about 5 µs each.
   */
  private pendingDestinations(): string[] {
    const found: string[] = [];
    for (let name = this.statements.firstPending.get() as string | null; name !== null; name = this.statements.pendingAfter.get(name) as string | null) found.push(name);
    return found;
  }

  /**
   * Makes rows leased by a previous process claimable at once. Call only while holding the store's lock: the
   * kernel frees it only when its holder is gone, so every lease then belongs to a process that no longer sends.
   */
  releaseAllLeases(): number {
    return this.statements.releaseLeases.run().changes;
  }

  /** Pending deliveries per destination and the age of the oldest (for the queue gauges). */
  queueStats(now = Date.now()): { destination: string; depth: number; oldestAgeSeconds: number }[] {
    const rows = this.db
      .prepare(`SELECT destination, COUNT(*) AS depth, MIN(created_at) AS oldest FROM deliveries WHERE status = 'pending' GROUP BY destination`)
      .all() as { destination: string; depth: number; oldest: number }[];
    return rows.map((r) => ({ destination: r.destination, depth: r.depth, oldestAgeSeconds: Math.max(0, (now - r.oldest) / 1000) }));
  }

  counts(): Record<DeliveryStatus, number> {
    const out: Record<DeliveryStatus, number> = { pending: 0, delivered: 0, dead: 0 };
    for (const row of this.statements.counts.all() as { status: DeliveryStatus; n: number }[]) out[row.status] = row.n;
    return out;
  }

  /** The row that names the process serving this store (store-owner.ts decides who that may be). */
  owner(): OwnerRecords {
    return new OwnerRecords(this.db);
  }

  /** Cheap write probe for readiness: true when the database accepts a write transaction. */
  isWritable(): boolean {
    try {
      // No wait at all: a probe anyone may call must never hold the event loop (each synchronous wait, even a
      // brief one, stopped HTTP and deliveries, and pollers could stack them while another process held the lock).
      this.withBusyTimeout(0, () => this.db.exec('BEGIN IMMEDIATE; ROLLBACK;'));
      return true;
    } catch {
      return false;
    }
  }


  /** Burst-digest operations on the same database. */
  digests(): DigestStore {
    this.digestStore ??= new DigestStore(this.db);
    return this.digestStore;
  }

  /** Triage state, edits in place and thread bookkeeping on the same database. */
  triage(): TriageStore {
    this.triageStore ??= new TriageStore(this.db);
    return this.triageStore;
  }

  /** Escalation reminders on the same database. */
  escalations(): EscalationStore {
    this.escalationStore ??= new EscalationStore(this.db);
    return this.escalationStore;
  }

  /** Silences from chat; each change a message shows schedules an edit of every copy of the alert. */
  silences(): SilenceStore {
    this.silenceStore ??= new SilenceStore(this.db, (alertRow) => this.triage().touchAlert(alertRow));
    return this.silenceStore;
  }

  /** Operator view of the same database: list, requeue, purge. */
  ledger(): Ledger {
    return new Ledger(this.db);
  }

  /**
   * Opens a write transaction for work that spans several awaits (sqlite-engine.ts), waiting only briefly for a lock
   * held elsewhere; end it with {@link commit} or {@link rollback}. The methods above nest inside it as savepoints.
   * `durable`: its commit is synced (synchronous=FULL), as {@link durably} does.
   */
  begin(durable = false): void {
    // The safety level cannot change inside a transaction: FULL is set before it and NORMAL restored at its end.
    if (durable) this.setSynchronous('FULL');
    try {
      this.briefly(() => this.statements.begin.run());
    } catch (error) {
      this.setSynchronous('NORMAL');
      throw error;
    }
  }

  commit(): void {
    this.briefly(() => this.statements.commit.run());
    this.setSynchronous('NORMAL');
  }

  rollback(): void {
    if (this.db.inTransaction) this.statements.rollback.run();
    this.setSynchronous('NORMAL');
  }

  /** Whether a transaction is open on the connection (a group commit then waits for the next turn). */
  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  /** The store's file (`:memory:` for none). */
  get file(): string {
    return this.db.name;
  }

  /**
   * The write-ahead log's file, or undefined when the store keeps none (in memory). SQLite puts it beside the
   * database file as SQLite itself resolved its path, which `database_list` reports: SQLite follows a symbolic link
   * before a `..` after it, as the kernel does, where Node's realpathSync removes `link/..` as text first and named
   * another file (or none, and serve did not start).
   */
  walFile(): string | undefined {
    if (this.db.memory || (this.db.pragma('journal_mode', { simple: true }) as string) !== 'wal') return undefined;
    const main = (this.db.pragma('database_list') as { name: string; file: string }[]).find((d) => d.name === 'main');
    return main?.file ? `${main.file}-wal` : undefined;
  }

  /**
   * A value that differs from the one read before whenever rows were written to the store in between: committed by
   * another connection (another thread's, another process's: any write, `data_version`), or changed by this one
   * (inserts, updates, deletes: `total_changes()`; not its schema changes, PRAGMAs or VACUUM, which `serve` runs
   * only before the checkpoints start, nor a commit of rows it changed before the mark was read). For a poll that
   * can be skipped when nothing was written. About 3 µs, no I/O but the log's shared-memory lock.
   */
  writeMark(): string {
    const { other, own } = this.statements.writeMark.get() as { other: number; own: number };
    return `${other}:${own}`;
  }

  /** How many log pages make a commit checkpoint on this connection (0: never; checkpointer.ts hands it over). */
  setAutoCheckpoint(pages: number): void {
    this.db.pragma(`wal_autocheckpoint = ${Math.floor(pages)}`);
  }

  /**
   * One checkpoint on this connection, as CheckpointRunner.checkpoint describes it: the log's size (NOOP), then,
   * from `fromFrames` frames not all copied, a PASSIVE checkpoint (no wait for, nor hold of, the write lock). It
   * blocks the calling thread while it copies and syncs (tens of ms for a log of thousands of pages). Not inside a
   * transaction (SQLite refuses it there). Throws what SQLite throws (SQLITE_BUSY while another connection
   * checkpoints).
   */
  checkpointStep(fromFrames: number): { log: number; checkpointed: number } {
    type Result = { busy: number; log: number; checkpointed: number };
    let [result] = this.db.pragma('wal_checkpoint(NOOP)') as Result[];
    if (result!.log >= fromFrames && result!.checkpointed < result!.log) [result] = this.db.pragma('wal_checkpoint(PASSIVE)') as Result[];
    return { log: result!.log, checkpointed: result!.checkpointed };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
