import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { Alert } from '../domain/alert';
import type { AcceptResult } from '../delivery/store';
import type { RouteTarget } from '../routing/router';
import type { PayloadIssue } from '../sources/panther';
import { jsonTextDepthExceeds } from './json-depth';
import type { BridgeMetrics } from '../observability/metrics';
import { noteAlertId, requestIdOf } from './request-log';

/** Deeper nesting than this is refused: real alertContext is far shallower, and deep input is a stack-exhaustion attack. */
const MAX_JSON_DEPTH = 256;

export interface IngestDeps {
  logger: Logger;
  route(alert: Alert): RouteTarget[];
  /** Commits the alert and its deliveries durably; settles only after the commit (may be batched with others). */
  accept(alert: Alert, targets: RouteTarget[]): AcceptResult | Promise<AcceptResult>;
  /** Called after a commit so the worker picks the new deliveries up at once. */
  accepted(): void;
  metrics?: BridgeMetrics;
}

export type SourceParser = (body: unknown) => { ok: true; alert: Alert } | { ok: false; issues: PayloadIssue[] };

const invalid = (res: Response, issues: PayloadIssue[]) => res.status(400).json({ error: 'invalid_payload', issues });

/**
 * The source-independent tail of every webhook: parse JSON from the raw body, validate with the source's
 * parser, route, commit to the outbox, and only then answer 2xx. A store failure answers 503 so the sender's
 * own retry keeps the alert (the one case where that slow path is right).
 */
export function ingestHandler(source: string, parse: SourceParser, deps: IngestDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const started = Date.now();
    // Assigned by the request-log middleware (a sane client X-Request-Id, else a UUID), and echoed in the response.
    const requestId = requestIdOf(res);
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    // Judged on the bytes, before parsing (for any text JSON.parse accepts it is the same verdict as walking the
    // parsed value, which took up to ~70 ms for 20,000 small objects; test/hostile.test.ts checks they agree).
    if (jsonTextDepthExceeds(raw, MAX_JSON_DEPTH)) {
      deps.logger.info({ source, requestId, status: 400, reason: 'too_deep' }, 'webhook rejected');
      deps.metrics?.alertRejected(source, 'invalid_payload');
      invalid(res, [{ path: '(body)', message: `JSON nesting deeper than ${MAX_JSON_DEPTH} levels` }]);
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (error) {
      deps.logger.info({ source, requestId, status: 400, reason: 'invalid_json' }, 'webhook rejected');
      deps.metrics?.alertRejected(source, 'invalid_payload');
      invalid(res, [{ path: '(body)', message: `not valid JSON: ${(error as Error).message}` }]);
      return;
    }
    const parsed = parse(body);
    if (!parsed.ok) {
      deps.logger.info({ source, requestId, status: 400, reason: 'invalid_payload', issues: parsed.issues.slice(0, 20) }, 'webhook rejected');
      deps.metrics?.alertRejected(source, 'invalid_payload');
      invalid(res, parsed.issues);
      return;
    }
    const alert = parsed.alert;
    noteAlertId(res, alert.alertId);
    const targets = deps.route(alert);
    let result: AcceptResult;
    try {
      result = await deps.accept(alert, targets);
    } catch (error) {
      deps.logger.error({ source, requestId, alertId: alert.alertId, err: { message: (error as Error).message } }, 'store unavailable');
      deps.metrics?.alertRejected(source, 'store_unavailable');
      res.status(503).json({ error: 'store_unavailable' });
      return;
    }
    deps.metrics?.alertReceived(source);
    if (result.status === 'accepted') deps.accepted();
    else deps.metrics?.alertDuplicate(source);
    if (targets.length === 0 && result.status === 'accepted') deps.metrics?.alertUnrouted(source);
    if (targets.length === 0) deps.logger.warn({ source, requestId, alertId: alert.alertId, detection: alert.detectionId }, 'alert unrouted');
    deps.logger.info(
      { source, requestId, alertId: alert.alertId, status: result.status, deliveries: result.deliveries.length, durationMs: Date.now() - started },
      'webhook accepted',
    );
    res.status(200).json({ status: result.status, alertId: alert.alertId, deliveries: result.deliveries });
  };
}
