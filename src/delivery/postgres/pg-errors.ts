/**
 * Which errors of the PostgreSQL store mean "try again later" (the receiver answers 503, loops back off) rather
 * than a defect or a full disk (notes/issue-16-store-contract.md, D).
 */

/** SQLSTATEs after which the same work, tried again, can succeed; the transaction that got them was rolled back. */
const TRANSIENT_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available: lock_timeout passed while another transaction held a lock
  '57014', // query_canceled: statement_timeout
  '57P01', // admin_shutdown: the server is stopping or restarting
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: the server is starting
  '53300', // too_many_connections
  '25006', // read_only_sql_transaction: connected to a standby during a failover
]);

/** Socket errors of a server that is down, restarting or unreachable for now. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/** node-postgres's own messages for a connection that failed or could not be made in time (they carry no code). */
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Query read timeout',
];

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True when `error` says the connection to the server failed, or could not be made (class 08, sockets, timeouts). */
export function isConnectionError(error: unknown): boolean {
  // Read by shape, not `instanceof`: socket errors come from Node's own realm, which differs from a vm's (jest's).
  if (typeof error !== 'object' || error === null) return false;
  const code = codeOf(error);
  if (code !== undefined && (code.startsWith('08') || SOCKET_CODES.has(code))) return true;
  // Node's connect to a host with several addresses fails with an AggregateError of each address's error.
  const { errors, message } = error as { errors?: unknown; message?: unknown };
  if (Array.isArray(errors) && errors.some((e) => isConnectionError(e))) return true;
  return typeof message === 'string' && CONNECTION_MESSAGES.some((m) => message.startsWith(m));
}

/** Whether `error`, thrown by the PostgreSQL store, means "try again later". */
export function isTransientPgError(error: unknown): boolean {
  const code = codeOf(error);
  return (code !== undefined && TRANSIENT_SQLSTATES.has(code)) || isConnectionError(error);
}
