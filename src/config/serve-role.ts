/**
 * What one `serve` process does (`serve --role`, or `server.role` in the config; the command line wins).
 *
 * - `all` (the default): receives (webhooks, clicks, console, admin) and delivers (delivery worker, burst digests,
 *   message editor, Panther write-back, token checks).
 * - `receiver`: receives only. It stores what arrives and tells the workers (PostgreSQL NOTIFY); it posts nothing.
 * - `worker`: delivers only. Its HTTP port serves /healthz, /readyz and /metrics, nothing else.
 *
 * Receivers and workers only make sense with a store several processes share: PostgreSQL.
 */
export const SERVE_ROLES = ['all', 'receiver', 'worker'] as const;

export type ServeRole = (typeof SERVE_ROLES)[number];

/** Whether a role receives (HTTP intake) and whether it delivers (the background loops that send). */
export function roleParts(role: ServeRole): { receives: boolean; delivers: boolean } {
  return { receives: role !== 'worker', delivers: role !== 'receiver' };
}

/**
 * Why `role` cannot run on a store of this engine, or undefined when it can. On SQLite one `serve` process owns
 * the store file (the lock refuses a second one), so that one process must both receive and deliver.
 */
export function roleRefusal(role: ServeRole, engine: 'sqlite' | 'postgres'): string | undefined {
  if (role === 'all' || engine === 'postgres') return undefined;
  return `role "${role}" needs a PostgreSQL store (store.url): a SQLite store is served by one process, which must both receive and deliver (role "all", the default)`;
}
