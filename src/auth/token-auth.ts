/**
 * Credential checks shared by every HTTP-facing front (webhooks, /admin, /metrics, the console): below them all,
 * so no front imports another for them.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * True when `presented` equals one of `tokens`. Both sides are hashed to equal-length digests and every token is
 * compared (no early exit), so neither the length nor the position of a match leaks through timing.
 */
export function tokenMatches(presented: string | undefined, tokens: readonly string[]): boolean {
  if (presented === undefined || presented === '') return false;
  const candidate = digest(presented);
  let matched = false;
  for (const token of tokens) {
    if (timingSafeEqual(candidate, digest(token))) matched = true;
  }
  return matched;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined for any other or no header. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : undefined;
}
