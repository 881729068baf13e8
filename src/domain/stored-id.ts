import { createHash } from 'node:crypto';

/** Longest source id (alert id, detection id) a store column keeps as it is, in UTF-16 code units. */
export const STORED_ID_MAX = 256;

/** The first `n` code units of `s`, one fewer when the last would be half a surrogate pair (a lone surrogate). */
export function wholeHead(s: string, n: number): string {
  const last = s.charCodeAt(n - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? n - 1 : n);
}

/**
 * The form in which a source id is stored in its column and looked up: the id itself when it is at most
 * {@link STORED_ID_MAX} long, else its first 200 code units (199 when the 200th starts a surrogate pair), `…#` and
 * 16 hex digits of its SHA-256. Real ids are short (a Panther alertId is 32 hex digits); a hostile 900 KB one
 * stored whole made every read of the row walk its overflow pages and every log line naming it carry it (issue 14
 * review). The hash keeps distinct ids distinct, so equality (the ledger's `--alert`, threads by detection) still
 * holds when both sides go through this function; the function is idempotent, so an alert that already carries
 * this form (alert-bounds.ts) is stored and found under the same one.
 */
export function storedId<T extends string | null | undefined>(id: T): T {
  if (typeof id !== 'string' || id.length <= STORED_ID_MAX) return id;
  return `${wholeHead(id, 200)}…#${createHash('sha256').update(id).digest('hex').slice(0, 16)}` as T;
}
