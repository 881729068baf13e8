import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';

/** A client's X-Request-Id is reused only when it is a plain token: nothing that could forge or break a log line. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;
/** Probes and scrapes: logged at debug when they succeed, so a 10-second probe interval does not flood the logs. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
const MAX_LOGGED_PATH = 256;

interface RequestLocals {
  requestId?: string;
  alertId?: string;
}

/** The request id `requestLog` assigned to this request (undefined when the middleware is not installed). */
export function requestIdOf(res: Response): string | undefined {
  return (res.locals as RequestLocals).requestId;
}

/** Adds the alert id to the request's log line once a handler knows it. */
export function noteAlertId(res: Response, alertId: string | null): void {
  if (alertId) (res.locals as RequestLocals).alertId = alertId;
}

/**
 * One log line per HTTP request, on every route: method, path (without the query string, which could carry a
 * token), status, duration in ms, request id, and the alert id when a webhook handler noted one. Headers and bodies
 * are never logged. The request id is the client's `X-Request-Id` when it is a sane token (≤128 of
 * `[A-Za-z0-9._-]`), else a new UUID; it is echoed in the `X-Request-Id` response header, so a caller (Panther's
 * delivery status, a curl) can quote it when asking what happened. Register it first, before any route.
 */
export function requestLog(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    const presented = req.get('x-request-id');
    const requestId = presented !== undefined && SANE_REQUEST_ID.test(presented) ? presented : randomUUID();
    (res.locals as RequestLocals).requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    // Captured now: routers rewrite req.url while they run.
    const path = (req.originalUrl.split('?')[0] ?? '').slice(0, MAX_LOGGED_PATH);
    const method = req.method;

    let logged = false;
    const log = () => {
      if (logged) return;
      logged = true;
      const status = res.statusCode;
      const durationMs = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
      const { alertId } = res.locals as RequestLocals;
      const aborted = !res.writableFinished;
      const line = { method, path, status, durationMs, requestId, ...(alertId ? { alertId } : {}), ...(aborted ? { aborted: true } : {}) };
      if (QUIET_PATHS.has(path) && status < 400 && !aborted) logger.debug(line, 'request');
      else logger.info(line, 'request');
    };
    res.once('finish', log);
    // A client that disconnects before the answer is complete gets its line too, marked aborted.
    res.once('close', log);
    next();
  };
}
