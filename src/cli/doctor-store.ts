import type { Pool } from 'pg';
import { openPgPool, redactPgUrl } from '../delivery/postgres/pool';
import { pgMigrationStatus } from '../delivery/postgres/pg-migrate';
import { PG_MIGRATIONS } from '../delivery/postgres/pg-migrations';
import { liveReplicas, REPLICA_LIVE_MS, type ReplicaRow } from '../delivery/postgres/pg-replicas';
import { redactSecrets } from '../observability/redact';
import type { DoctorCheck } from './doctor-check';

/** Clock skew against the database server above which `doctor` warns (replicas compare leases by their own clocks). */
export const CLOCK_WARN_MS = 2000;

/** How long `doctor` waits for the database to answer, connection included. */
const CONNECT_TIMEOUT_MS = 5000;

/** The password of a PostgreSQL URL, if it has one (scrubbed from any driver message, which could echo it). */
function urlPassword(url: string): string[] {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password ? [url, password] : [url];
  } catch {
    return [url];
  }
}

/**
 * The PostgreSQL store's checks for `doctor`: `database` (the server answers, and takes writes: not a standby),
 * `database schema` (every migration of this release applied; none newer than it knows) and `database clock` (this
 * machine's clock against the server's). Leases in the store are stamped and compared with each replica's own
 * clock, so replicas whose clocks disagree by half a lease can take over each other's sends still running (and post
 * twice): a skew above {@link CLOCK_WARN_MS} is a warning, half of `leaseMs` a failure. The URL shown has its
 * password masked; no driver message reaches the output with the password in it.
 */
export async function storeChecks(url: string, leaseMs: number): Promise<DoctorCheck[]> {
  const label = redactPgUrl(url);
  const pool = openPgPool(url, { max: 1, applicationName: 'chatops-bridge doctor', connectionTimeoutMs: CONNECT_TIMEOUT_MS });
  try {
    let server: { version: string; writable: boolean };
    try {
      server = await serverFacts(pool);
    } catch (error) {
      const detail = redactSecrets(driverMessage(error), urlPassword(url));
      // Nothing else can be checked without the server.
      return [{ check: 'database', ok: false, detail: `${label}: ${detail}`, fix: 'PostgreSQL not reachable: check store.url (host, port, database, user, password), the network, and that the server runs' }];
    }
    const checks: DoctorCheck[] = [
      server.writable
        ? { check: 'database', ok: true, detail: `${label} (PostgreSQL ${server.version})` }
        : { check: 'database', ok: false, detail: `${label} is read-only (a standby, or default_transaction_read_only)`, fix: 'point store.url at the primary' },
    ];
    // The server went away between the checks: say so for the check that met it.
    const lost = (check: string) => (error: unknown): DoctorCheck => ({ check, ok: false, detail: redactSecrets(driverMessage(error), urlPassword(url)), fix: 'PostgreSQL stopped answering during the check: run doctor again' });
    const schema = await schemaCheck(pool).catch(lost('database schema'));
    checks.push(schema);
    checks.push(await clockCheck(pool, leaseMs).catch(lost('database clock')));
    // The registry's columns come with the migrations: on an older schema there is nothing to read yet.
    if (schema.ok) checks.push(await replicasCheck(pool, leaseMs).catch(lost('database replicas')));
    return checks;
  } finally {
    await pool.end().catch(() => undefined);
  }
}

async function serverFacts(pool: Pool): Promise<{ version: string; writable: boolean }> {
  const row = (
    await pool.query<{ version: string; writable: boolean }>(
      `SELECT current_setting('server_version') AS version, NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off' AS writable`,
    )
  ).rows[0]!;
  return { version: row.version.split(' ')[0]!, writable: row.writable };
}

async function schemaCheck(pool: Pool): Promise<DoctorCheck> {
  const check = 'database schema';
  const latest = PG_MIGRATIONS.length;
  const status = await pgMigrationStatus(pool, PG_MIGRATIONS);
  if (status.unknown.length > 0) {
    return { check, ok: false, detail: `has versions ${status.unknown.join(', ')}, newer than this release knows (${latest})`, fix: 'a newer chatops-bridge migrated this database: run that release (or newer)' };
  }
  if (status.pending.length > 0) {
    const steps = status.pending.map((m) => `${m.version} (${m.name})`).join(', ');
    return { check, ok: false, detail: `version ${status.applied.length} of ${latest}; pending: ${steps}`, fix: 'run `chatops-bridge migrate` (serve also applies them when it starts)' };
  }
  return { check, ok: true, detail: `version ${latest}, no pending migrations` };
}

/**
 * This machine's clock minus the server's, from one query: the server's clock is read half a round trip after
 * the query leaves (on average), so the skew is known to within half the round trip, which is subtracted before
 * comparing with the thresholds (a slow link alone never warns).
 */
async function clockCheck(pool: Pool, leaseMs: number): Promise<DoctorCheck> {
  const check = 'database clock';
  const sent = Date.now();
  const serverMs = Number((await pool.query<{ ms: number }>(`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms`)).rows[0]!.ms);
  const received = Date.now();
  const skewMs = Math.round((sent + received) / 2 - serverMs);
  const rttMs = received - sent;
  const sure = Math.max(0, Math.abs(skewMs) - rttMs / 2);
  const detail = `this machine's clock is ${Math.abs(skewMs)} ms ${skewMs >= 0 ? 'ahead of' : 'behind'} the server's (±${Math.ceil(rttMs / 2)} ms)`;
  const fix = 'synchronise the clocks of every replica and of the database server (NTP, chrony)';
  if (sure >= leaseMs / 2) return { check, ok: false, detail: `${detail}: half the lease (delivery.leaseMs ${leaseMs}) or more, replicas could send a delivery twice`, fix };
  if (sure > CLOCK_WARN_MS) return { check, ok: true, warn: true, detail: `${detail}: more than ${CLOCK_WARN_MS} ms`, fix };
  return { check, ok: true, detail };
}

/**
 * The replicas serving the database now (heartbeat within {@link REPLICA_LIVE_MS}), each with the clock skew its
 * own heartbeat measured: the same thresholds as {@link clockCheck}, for every replica rather than this machine
 * only. None serving is not a failure (doctor may run before the first start); different versions are a warning
 * (normal during a rolling deploy, a mistake if it lasts).
 */
async function replicasCheck(pool: Pool, leaseMs: number): Promise<DoctorCheck> {
  const check = 'database replicas';
  const replicas = await liveReplicas(pool);
  if (replicas.length === 0) return { check, ok: true, detail: 'no replica serving the database now' };
  const clock = (ms: number | null) => (ms === null ? 'clock not measured yet' : `clock ${ms >= 0 ? '+' : ''}${ms} ms`);
  const named = (r: ReplicaRow) => `${r.hostname} pid ${r.pid} (v${r.version}, ${clock(r.clockSkewMs)})`;
  const detail = `${replicas.length} serving: ${replicas.map(named).join(', ')}`;
  const fix = 'synchronise the clocks of every replica and of the database server (NTP, chrony)';
  const skewed = replicas.filter((r) => Math.abs(r.clockSkewMs ?? 0) >= leaseMs / 2);
  if (skewed.length > 0) return { check, ok: false, detail: `${detail}: ${skewed.map(named).join(', ')} off by half the lease (delivery.leaseMs ${leaseMs}) or more, replicas could send a delivery twice`, fix };
  const off = replicas.filter((r) => Math.abs(r.clockSkewMs ?? 0) > CLOCK_WARN_MS);
  if (off.length > 0) return { check, ok: true, warn: true, detail: `${detail}: ${off.length} more than ${CLOCK_WARN_MS} ms off the server's clock`, fix };
  const versions = new Set(replicas.map((r) => r.version));
  if (versions.size > 1) return { check, ok: true, warn: true, detail: `${detail}: versions differ (${[...versions].join(', ')})`, fix: 'finish the rolling deploy: every replica should run one release' };
  return { check, ok: true, detail };
}

/** The driver's words: node-postgres errors for refused connections carry the cause in `code` (ECONNREFUSED). */
function driverMessage(error: unknown): string {
  const e = error as { message?: string; code?: string; errors?: { message?: string }[] };
  // A host that resolves to several addresses fails with an AggregateError whose message is empty.
  const message = e.message || e.errors?.map((x) => x.message).filter(Boolean).join('; ') || '';
  return message || e.code || 'connection failed';
}
