import type { Destination } from '../destinations/types';
import type { DigestCandidate, OpenDigest } from './digest-store';
import type { DigestOps } from './store-contract';

/** A destination's digest thresholds and the routes whose deliveries may be collapsed into its digests. */
export interface DigestPolicy {
  routes: string[];
  backlog: number;
  maxWaitMs: number;
}

/** Work the worker runs as one send: post a digest, or edit the open one, covering `rows`. */
export interface DigestJob {
  rows: DigestCandidate[];
  open: OpenDigest | null;
}

/** At most this many deliveries go into one digest revision (the rest follow in the next one). */
const MAX_ROWS_PER_REVISION = 5000;
/** Edits of one digest at most this often: Slack's chat.update is about 50 per minute. */
export const DIGEST_EDIT_INTERVAL_MS = 2000;

/**
 * Decides when a channel's backlog becomes a digest: more than `backlog` deliveries waiting, or at least two
 * waiting with the oldest older than `maxWaitMs`, or any waiting while a digest of the same burst is still open
 * (updated within `maxWaitMs`), which is then edited in place instead of posting anew.
 */
export async function planDigest(
  destination: Destination,
  policy: DigestPolicy | undefined,
  digests: DigestOps,
  leaseMs: number,
  now: number,
): Promise<DigestJob | null> {
  if (!policy || policy.routes.length === 0 || !destination.formatDigest || !destination.sendDigest) return null;
  const { count, oldestCreatedAt } = await digests.backlog(destination.name, policy.routes, now);
  if (count === 0) return null;
  const open = await digests.open(destination.name, now - policy.maxWaitMs);
  if (open && now - open.updatedAt < DIGEST_EDIT_INTERVAL_MS) return null;
  const overgrown = count > policy.backlog || (count >= 2 && oldestCreatedAt !== null && now - oldestCreatedAt > policy.maxWaitMs);
  if (!overgrown && !open) return null;
  const rows = await digests.leaseWaiting(destination.name, policy.routes, MAX_ROWS_PER_REVISION, leaseMs, now);
  return rows.length > 0 ? { rows, open } : null;
}

/** Per destination, the digest policy implied by the routes that target it (the strictest thresholds win). */
export function digestPolicies(routes: readonly { name: string; to: string[]; digest: 'off' | { backlog: number; maxWaitMs: number } }[]): Map<string, DigestPolicy> {
  const policies = new Map<string, DigestPolicy>();
  for (const route of routes) {
    if (route.digest === 'off') continue;
    for (const destination of route.to) {
      const current = policies.get(destination);
      if (!current) policies.set(destination, { routes: [route.name], backlog: route.digest.backlog, maxWaitMs: route.digest.maxWaitMs });
      else {
        current.routes.push(route.name);
        current.backlog = Math.min(current.backlog, route.digest.backlog);
        current.maxWaitMs = Math.min(current.maxWaitMs, route.digest.maxWaitMs);
      }
    }
  }
  return policies;
}
