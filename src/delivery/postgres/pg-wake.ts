import type { Client, Notification, Pool } from 'pg';
import { pg } from './pool';
import type { Logger } from 'pino';
import { createHash } from 'node:crypto';
import { FailureBackoff } from '../backoff';
import { redactSecrets } from '../../observability/redact';

/**
 * Cross-process wake-ups on PostgreSQL (`serve --role receiver|worker`, and replicas of `all`): a process that
 * recorded work announces it with NOTIFY, and every process that delivers LISTENs and wakes its loops at once
 * instead of at their next poll. The polls stay (at least once a second): nothing depends on a notification
 * arriving, they only make it sooner.
 */

/** What work was recorded: due deliveries, or messages to edit and Panther write-backs to send. */
export type WakeKind = 'deliveries' | 'messages';

/** Whom to wake for each kind of work. */
export interface WakeTargets {
  deliveries(): void;
  messages(): void;
}

const KINDS: readonly WakeKind[] = ['deliveries', 'messages'];

/**
 * The channel of the store in this database: notifications belong to one database already, and the schema the
 * store's tables are in (`current_schema()`: `options=-c search_path=…` in store.url) tells two bridges in two
 * schemas of one database apart. A schema name that is not a plain short identifier is hashed, because a channel
 * name is an identifier of at most 63 bytes.
 */
export async function wakeChannel(pool: Pool): Promise<string> {
  const schema = (await pool.query<{ schema: string | null }>('SELECT current_schema() AS schema')).rows[0]?.schema ?? 'public';
  const tag = /^[a-z0-9_]{1,40}$/.test(schema) ? schema : createHash('sha256').update(schema).digest('hex').slice(0, 32);
  return `chatops_bridge_${tag}`;
}

/** A notification's payload: the kind, then the announcing process's instance id (far below NOTIFY's 8000 bytes). */
const payloadOf = (kind: WakeKind, instanceId: string) => `${kind} ${instanceId}`;

/**
 * Sends the announcements of one process, right after the commits that recorded the work (a NOTIFY is delivered
 * only when its transaction commits; sent inside the accept's own transaction it would also take PostgreSQL's
 * database-wide notify lock through the accept's commit and disk flush, serialising every replica's accepts).
 * Each is its own transaction with synchronous_commit off: a notification needs no durability, so it does not wait
 * for a flush. Coalesced per kind: while one is on its way, further requests make one more after it, so a burst of
 * accepts costs a NOTIFY per round trip, not one per alert. Failures are only logged (debug): the polls find the
 * work anyway.
 */
export class PgWakeAnnouncer implements WakeTargets {
  private readonly sending = new Map<WakeKind, 'sending' | 'again'>();
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly channel: string,
    private readonly instanceId: string,
    private readonly logger: Logger,
  ) {}

  deliveries(): void {
    this.announce('deliveries');
  }

  messages(): void {
    this.announce('messages');
  }

  /** No more announcements (the pool is about to close). */
  close(): void {
    this.closed = true;
  }

  private announce(kind: WakeKind): void {
    if (this.closed) return;
    if (this.sending.has(kind)) {
      this.sending.set(kind, 'again');
      return;
    }
    this.sending.set(kind, 'sending');
    this.pool
      .query(`SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)`, [this.channel, payloadOf(kind, this.instanceId)])
      .catch((error: Error) => this.logger.debug({ err: { message: error.message }, kind }, 'store wake-up not sent; workers find the work at their next poll'))
      .finally(() => {
        const again = this.sending.get(kind) === 'again';
        this.sending.delete(kind);
        if (again) this.announce(kind);
      });
  }
}

export interface ListenerOptions {
  url: string;
  channel: string;
  instanceId: string;
  logger: Logger;
  /** Words that must never reach a log line (the URL's password). */
  secrets: readonly string[];
  /** How often the idle connection is checked (a dead TCP path may not close it for hours). */
  pingEveryMs?: number;
}

/** How long a connect or a ping may take before the connection counts as lost. */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * LISTENs for the store's announcements on a connection of its own (a LISTEN belongs to its session, so it cannot
 * be on a pooled connection that others use) and wakes `targets`. Announcements of this process itself are
 * skipped (it woke its own loops already). When the connection is lost (the server restarted, the backend was
 * terminated, a ping went unanswered) it reconnects with a backoff of 250 ms doubling to 10 s, and after each
 * (re)connect wakes every target once, for whatever was announced while nobody listened.
 */
export class PgWakeListener {
  private client: Client | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private ping: NodeJS.Timeout | undefined;
  private readonly backoff = new FailureBackoff();
  /** Whether the loss being retried was logged already (one warning per outage, not one per try). */
  private lossLogged = false;

  constructor(
    private readonly targets: WakeTargets,
    private readonly options: ListenerOptions,
  ) {}

  start(): void {
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.ping);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    client.on('error', () => undefined);
    // A server that no longer answers (a partition) must not hold serve's stop: the close gets a second at most.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([client.end().catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))]);
    clearTimeout(timer);
  }

  private async connect(): Promise<void> {
    const { url, channel, instanceId, logger } = this.options;
    const client = new (pg().Client)({ connectionString: url, application_name: `chatops-bridge listen ${instanceId}`, keepAlive: true, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    this.client = client;
    // Without an 'error' listener a lost connection would end the process.
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection closed')));
    client.on('notification', (message) => this.received(message));
    try {
      await client.connect();
      await client.query(`LISTEN ${pg().escapeIdentifier(channel)}`);
    } catch (error) {
      this.lost(client, error as Error);
      return;
    }
    if (this.client !== client) return;
    this.backoff.succeeded();
    logger.info({ channel, ...(this.lossLogged ? { reconnected: true } : {}) }, 'store wake-ups: listening for work other processes record');
    this.lossLogged = false;
    this.startPing(client);
    // Whatever was announced while this process was not listening.
    this.targets.deliveries();
    this.targets.messages();
  }

  private received(message: Notification): void {
    if (message.channel !== this.options.channel) return;
    const [kind, from] = (message.payload ?? '').split(' ');
    if (from === this.options.instanceId) return;
    // A kind this release does not know (a newer replica's): waking everything is always safe.
    if (kind === 'deliveries' || !KINDS.includes(kind as WakeKind)) this.targets.deliveries();
    if (kind === 'messages' || !KINDS.includes(kind as WakeKind)) this.targets.messages();
  }

  private startPing(client: Client): void {
    clearInterval(this.ping);
    this.ping = setInterval(() => {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer to a ping within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      });
      Promise.race([client.query('SELECT 1'), timedOut])
        .catch((error: Error) => this.lost(client, error))
        .finally(() => clearTimeout(timer));
    }, this.options.pingEveryMs ?? 30_000);
    this.ping.unref();
  }

  /** `client` failed: drop it (once, whichever of its events comes first) and connect a new one after the backoff. */
  private lost(client: Client, error: Error): void {
    if (this.client !== client || this.stopped) return;
    this.client = undefined;
    clearInterval(this.ping);
    client.removeAllListeners('notification');
    // Its events keep coming while it closes; they must not end the process or start a second reconnect.
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    const waitMs = this.backoff.failed();
    const detail = { err: { message: redactSecrets(error.message, this.options.secrets) }, retryInMs: waitMs };
    if (this.lossLogged) this.options.logger.debug(detail, 'store wake-ups: still not listening; the loops poll meanwhile');
    else this.options.logger.warn(detail, 'store wake-ups: the LISTEN connection was lost; reconnecting (the loops poll at least once a second meanwhile)');
    this.lossLogged = true;
    this.retry = setTimeout(() => void this.connect(), waitMs);
    this.retry.unref();
  }
}
