/**
 * Who is asking: the console's users are configured (`console.users`), each with a token or a username and
 * password, and a role. Credentials travel in the Authorization header only (Bearer, or Basic as the browser's
 * own sign-in dialog sends it); nothing is kept in a cookie or on the server.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { tokenMatches } from '../auth/token-auth';

export type ConsoleRole = 'admin' | 'viewer';

/** One configured console user (exactly one of `token` or `username` + `password`). */
export interface ConsoleUser {
  token?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  role: ConsoleRole;
}

/** The signed-in user as pages and logs may show it: never the credential itself. */
export interface ConsoleIdentity {
  name: string;
  role: ConsoleRole;
}

/** The realm of the browser's sign-in dialog. */
export const CONSOLE_REALM = 'chatops-bridge console';

function basicCredentials(header: string): { username: string; password: string } | undefined {
  if (!/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const digest = (value: string | undefined) => createHash('sha256').update(value ?? '', 'utf8').digest();

/**
 * 1 when `presented` equals `expected`, else 0; both present and non-empty. The comparison runs on fixed-length
 * digests whatever the inputs (absent ones included), so its time says nothing about length, content or presence;
 * the result is a number so callers combine results with `&`, which, unlike `&&`, evaluates both sides.
 */
function same(presented: string | undefined, expected: string | undefined): number {
  const equal = timingSafeEqual(digest(presented), digest(expected)) ? 1 : 0;
  return equal & (presented ? 1 : 0) & (expected ? 1 : 0);
}

/**
 * The user an Authorization header proves, or null. Accepts `Bearer <token>`, Basic with a configured username
 * and password, and Basic with any username and a token as the password (so a token user can use the browser's
 * dialog). Constant work whatever is presented: every configured user is checked, each with the same three
 * constant-time comparisons (token, username, password) whichever kind of user it is, combined without an early
 * exit, so the timing reveals neither which user nor which field failed.
 */
export function identify(authorization: string | undefined, users: readonly ConsoleUser[]): ConsoleIdentity | null {
  if (!authorization) return null;
  const basic = basicCredentials(authorization);
  const bearer = /^bearer /i.test(authorization) ? authorization.slice(7).trim() : undefined;
  const presentedToken = bearer ?? basic?.password;
  let found: ConsoleIdentity | null = null;
  users.forEach((user, index) => {
    const token = same(presentedToken, user.token);
    const credentials = same(basic?.username, user.username) & same(basic?.password, user.password);
    const ok = user.token !== undefined ? token : credentials;
    if (ok === 1 && found === null) found = { name: user.username ?? `token user ${index + 1}`, role: user.role };
  });
  return found;
}

/** The identity `requireUser` attached to the response. */
export function consoleUserOf(res: Response): ConsoleIdentity {
  return res.locals.consoleUser as ConsoleIdentity;
}

/**
 * 401 unless the request carries a configured user's credentials. The Basic challenge makes a browser show its
 * sign-in dialog; the API answers JSON, the page a short HTML note (no alert data, no hint which part was wrong).
 */
export function requireUser(users: () => readonly ConsoleUser[]) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const identity = identify(req.get('authorization'), users());
    if (!identity) {
      res.set('WWW-Authenticate', `Basic realm="${CONSOLE_REALM}", charset="UTF-8"`).status(401);
      if (req.path.startsWith('/api/')) res.json({ error: 'unauthorized' });
      else res.type('html').send('<!doctype html><title>Sign in required</title><p>Sign in to the chatops-bridge console.</p>');
      return;
    }
    res.locals.consoleUser = identity;
    next();
  };
}

/** 403 for anyone but an admin (resend, template save). */
export function requireAdmin(_req: Request, res: Response, next: NextFunction): void {
  if (consoleUserOf(res).role !== 'admin') {
    res.status(403).json({ error: 'forbidden', message: 'this needs the admin role' });
    return;
  }
  next();
}
