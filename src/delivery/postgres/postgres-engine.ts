import type { Logger } from 'pino';
import type { Pool } from 'pg';
import type { AcceptItem } from '../store';
import type { AcceptResult } from '../status';
import type { AttemptWrite, DigestOps, EscalationOps, LedgerOps, SilenceOps, StoreEngine, StoreOps, TriageOps } from '../store-contract';
import { acceptGroup } from './pg-accept';
import { claim, counts, nextDueByDestination, queueStats, recordAttempt, release } from './pg-claims';
import { pgDigests } from './pg-digests';
import { isTransientPgError } from './pg-errors';
import { pgLedger } from './pg-ledger';
import { migratePg } from './pg-migrate';
import { PG_MIGRATIONS } from './pg-migrations';
import { ClientSession, inTransaction, PoolSession, type PgSession } from './pg-session';
import { pgTriage } from './pg-triage';
import { pgEscalations } from './pg-escalations';
import { pgSilences } from './pg-silences';
import { endChannel, holdChannel, takeChannel } from './pg-pace';
import { openPgPool } from './pool';
import { TransactionScope } from '../transaction-scope';

/**
 * How long a statement of the store waits for a lock another transaction holds before it fails transiently
 * (55P03): the contract's "waits only briefly". Locks of the store are held for milliseconds (a claim, an
 * accept, a click); one held longer (an operator's purge of a long history) makes the work wait for a later try.
 */
const LOCK_TIMEOUT_MS = 2000;
/** How long the readiness probe waits for its answer (a connection included) before it says "not writable". */
const PROBE_TIMEOUT_MS = 1000;

/**
 * The store contract on PostgreSQL, for several replicas of the bridge on one database. Each replica opens its
 * own engine with its own `instanceId`; leases name it, so a replica finishes only what it holds and any replica
 * takes over a lease that ran out. An operation outside a transaction runs on a pooled connection, as one
 * statement or, when it has several, as a transaction of its own; {@link transaction} holds one connection from
 * BEGIN to COMMIT. Commits are durable (the pool sets synchronous_commit on): an accept resolves once it is on disk.
 */
export class PostgresEngine implements StoreEngine {
  readonly engine = 'postgres' as const;
  private readonly outside: PgOps;
  private readonly scope = new TransactionScope();

  /** `pool` should come from {@link openPgPool}, whose int8 columns read as numbers; the schema must be migrated. */
  constructor(
    readonly pool: Pool,
    readonly instanceId: string,
    private readonly logger?: Logger,
  ) {
    if (instanceId === '') throw new Error('a PostgreSQL store engine needs the instance id of its replica');
    this.outside = new PgOps(new PoolSession(pool, instanceId, () => this.scope.misuse()), logger);
  }

  /**
   * Opens the store at `url` for the replica `instanceId`: migrates its schema (under the migrations' advisory
   * lock, so replicas starting together migrate once) on a connection of its own, whose DDL may wait for the locks
   * of busy tables, then opens the pool the operations use.
   */
  static async open(url: string, instanceId: string, logger?: Logger): Promise<PostgresEngine> {
    const migrator = openPgPool(url, { max: 1, applicationName: `chatops-bridge migrate ${instanceId}` });
    try {
      await migratePg(migrator, PG_MIGRATIONS);
    } finally {
      await migrator.end();
    }
    const pool = openPgPool(url, {
      applicationName: `chatops-bridge ${instanceId}`,
      lockTimeoutMs: LOCK_TIMEOUT_MS,
      onIdleError: (error) => logger?.warn({ err: error.message }, 'store: an idle PostgreSQL connection failed; the next query opens a new one'),
    });
    return new PostgresEngine(pool, instanceId, logger);
  }

  acceptGroup(items: readonly AcceptItem[], _bytes: number): Promise<AcceptResult[]> {
    const misuse = this.scope.misuse();
    if (misuse) return Promise.reject(misuse);
    // No batching of POSTs here: each is its own transaction, and concurrent ones commit side by side.
    return acceptGroup(this.pool, this.instanceId, items);
  }

  /**
   * `work` on one connection between BEGIN and COMMIT. `options.durable` needs nothing more here: every commit of
   * this engine is on disk when it resolves.
   */
  transaction<T>(work: (tx: StoreOps) => Promise<T>, _options?: { durable?: boolean }): Promise<T> {
    const misuse = this.scope.misuse();
    if (misuse) return Promise.reject(misuse);
    return inTransaction(this.pool, (client) => this.scope.run(() => work(new PgOps(new ClientSession(client, this.instanceId), this.logger))));
  }

  claim: StoreOps['claim'] = (...a) => this.outside.claim(...a);
  takeChannel: StoreOps['takeChannel'] = (...a) => this.outside.takeChannel(...a);
  endChannel: StoreOps['endChannel'] = (...a) => this.outside.endChannel(...a);
  holdChannel: StoreOps['holdChannel'] = (...a) => this.outside.holdChannel(...a);
  release: StoreOps['release'] = (id) => this.outside.release(id);
  recordAttempt: StoreOps['recordAttempt'] = (write, now) => this.outside.recordAttempt(write, now);
  nextDueByDestination: StoreOps['nextDueByDestination'] = (now) => this.outside.nextDueByDestination(now);
  queueStats: StoreOps['queueStats'] = (now) => this.outside.queueStats(now);
  counts: StoreOps['counts'] = () => this.outside.counts();
  digests = (): DigestOps => this.outside.digests();
  triage = (): TriageOps => this.outside.triage();
  escalations = (): EscalationOps => this.outside.escalations();
  silences = (): SilenceOps => this.outside.silences();
  ledger = (): LedgerOps => this.outside.ledger();

  /**
   * Whether the server answers within {@link PROBE_TIMEOUT_MS} and takes writes (not a standby, not read-only).
   * Takes no lock, so it never waits for one; false when the server is down or unreachable.
   */
  async isWritable(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
    });
    const probe = this.pool
      .query<{ writable: boolean }>(`SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off' AS writable`)
      .then(
        (r) => r.rows[0]?.writable === true,
        () => false,
      );
    try {
      return await Promise.race([probe, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  isTransient(error: unknown): boolean {
    return isTransientPgError(error);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The operations, on the pool (outside a transaction) or on the client of an open one. */
class PgOps implements StoreOps {
  private digestOps: DigestOps | undefined;
  private triageOps: TriageOps | undefined;
  private escalationOps: EscalationOps | undefined;
  private silenceOps: SilenceOps | undefined;
  private ledgerOps: LedgerOps | undefined;

  constructor(
    private readonly session: PgSession,
    private readonly logger?: Logger,
  ) {}

  claim: StoreOps['claim'] = (limit, busy, leaseMs, now, paces, pacedUntil) => claim(this.session, limit, busy, leaseMs, now, paces, pacedUntil);
  takeChannel: StoreOps['takeChannel'] = (pace, now) => takeChannel(this.session, pace, now);
  endChannel: StoreOps['endChannel'] = (key, takenAt, endedAt) => endChannel(this.session, key, takenAt, endedAt);
  holdChannel: StoreOps['holdChannel'] = (key, until, now) => holdChannel(this.session, key, until, now);
  release: StoreOps['release'] = (id) => release(this.session, id);
  recordAttempt = async (write: AttemptWrite, now: number): Promise<void> => {
    if (await recordAttempt(this.session, write, now)) return;
    // Its lease ran out and another replica claimed the row: that replica sends it again and records it.
    this.logger?.warn({ deliveryId: write.id, outcome: write.kind, instanceId: this.session.instanceId }, 'outcome not recorded: this replica no longer holds the lease of the delivery (another replica took it over)');
  };
  nextDueByDestination: StoreOps['nextDueByDestination'] = (now) => nextDueByDestination(this.session, now);
  queueStats: StoreOps['queueStats'] = (now) => queueStats(this.session, now);
  counts: StoreOps['counts'] = () => counts(this.session);
  digests = (): DigestOps => (this.digestOps ??= pgDigests(this.session));
  triage = (): TriageOps => (this.triageOps ??= pgTriage(this.session));
  escalations = (): EscalationOps => (this.escalationOps ??= pgEscalations(this.session));
  silences = (): SilenceOps => (this.silenceOps ??= pgSilences(this.session));
  ledger = (): LedgerOps => (this.ledgerOps ??= pgLedger(this.session));
}
