import { tokenMatches } from '../auth/token-auth';

/** Credentials a label-based source accepts (config `sources.<name>.auth`). */
export interface LabelSourceAuth {
  bearer?: readonly string[];
  basic?: readonly { username: string; password: string }[];
}

/**
 * True when the `Authorization` header carries one of the configured credentials: `Bearer <token>` (Alertmanager
 * `http_config.authorization` / `bearer_token`, Grafana's authorization header) or `Basic <base64 user:pass>`
 * (`basic_auth`). Every comparison is constant-time over all entries (see {@link tokenMatches}); the scheme word
 * is case-insensitive (RFC 9110).
 */
export function labelSourceAuthorized(authorization: string | undefined, auth: LabelSourceAuth): boolean {
  const match = /^([A-Za-z]+) +(\S.*)$/.exec(authorization?.trim() ?? '');
  if (!match) return false;
  const scheme = match[1]!.toLowerCase();
  const credentials = match[2]!.trim();
  if (scheme === 'bearer') return tokenMatches(credentials, auth.bearer ?? []);
  if (scheme === 'basic') {
    const decoded = Buffer.from(credentials, 'base64').toString('utf8');
    return tokenMatches(decoded, (auth.basic ?? []).map((c) => `${c.username}:${c.password}`));
  }
  return false;
}

/** The `WWW-Authenticate` challenges of a 401: one per scheme the source accepts. */
export function authChallenges(auth: LabelSourceAuth): string[] {
  return [...(auth.bearer?.length ? ['Bearer realm="chatops-bridge"'] : []), ...(auth.basic?.length ? ['Basic realm="chatops-bridge", charset="UTF-8"'] : [])];
}
