/**
 * Browser-facing protections for every console response: a strict Content-Security-Policy (own scripts and
 * styles only, nothing inline, no framing), no MIME sniffing, no referrer; and CSRF protection for every call
 * that changes something.
 */
import type { NextFunction, Request, Response } from 'express';

/** Header the console's own script sends on every POST/PUT; a cross-site form or fetch cannot set it without CORS. */
export const CSRF_HEADER = 'X-Console-Request';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.set({
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  });
  next();
}

/**
 * Refuses (403) a state-changing request unless it is same-origin and from the console's script: the custom
 * header must be present (a cross-site page cannot add it without a CORS preflight, which is never granted),
 * the body must be JSON, and Origin / Sec-Fetch-Site, when the browser sends them, must say same origin. Basic
 * credentials are resent by browsers automatically, so the header check is what stops a forged request.
 */
export function csrfGuard(req: Request, res: Response, next: NextFunction): void {
  if (req.method === 'GET' || req.method === 'HEAD') return next();
  const refuse = (why: string) => void res.status(403).json({ error: 'csrf', message: why });
  if (req.get(CSRF_HEADER) !== '1') return refuse(`missing ${CSRF_HEADER} header`);
  const site = req.get('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return refuse('cross-site request');
  const origin = req.get('origin');
  if (origin !== undefined) {
    let host: string | null = null;
    try {
      host = new URL(origin).host;
    } catch {
      host = null;
    }
    // Host only (not scheme): behind a TLS-terminating proxy the page is https while this server sees http.
    if (host === null || host !== req.get('host')) return refuse('cross-origin request');
  }
  if (!req.is('application/json')) {
    res.status(415).json({ error: 'unsupported_media_type', message: 'Content-Type must be application/json' });
    return;
  }
  next();
}
