import { createHash } from 'node:crypto';

/** Longest source id (alert id, detection id) a store column keeps as it is, in UTF-16 code units. */
export const STORED_ID_MAX = 256;

/**
 * The form in which a source id is stored in its column and looked up: the id itself when it is at most
 * {@link STORED_ID_MAX} long, else its first 200 code units, `…#` and 16 hex digits of its SHA-256. Real ids are
 * short (a Panther alertId is 32 hex digits); a hostile 900 KB one stored whole made every read of the row walk its
 * overflow pages and every log line naming it carry it (issue 14 review). The hash keeps distinct ids distinct, so
 * equality (the ledger's `--alert`, threads by detection) still holds when both sides go through this function.
 */
export function storedId<T extends string | null | undefined>(id: T): T {
  if (typeof id !== 'string' || id.length <= STORED_ID_MAX) return id;
  return `${id.slice(0, 200)}…#${createHash('sha256').update(id).digest('hex').slice(0, 16)}` as T;
}
