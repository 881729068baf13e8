import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { Alert } from '../domain/alert';
import { boundAlert } from '../domain/alert-bounds';
import type { AcceptItem } from '../delivery/store';
import type { AcceptResult } from '../delivery/status';
import type { RouteTarget } from '../routing/router';
import type { PayloadIssue } from '../sources/panther';
import { jsonTextDepthExceeds } from './json-depth';
import type { BridgeMetrics } from '../observability/metrics';
import { noteAlertId, requestIdOf } from './request-log';
import { answerJson } from './json-answer';

/** Deeper nesting than this is refused: real alertContext is far shallower, and deep input is a stack-exhaustion attack. */
const MAX_JSON_DEPTH = 256;

export interface IngestDeps {
  logger: Logger;
  route(alert: Alert): RouteTarget[];
  /**
   * Commits every alert of one POST and its deliveries durably, all or none, and settles (in the items' order)
   * only after the commit, which may be shared with other POSTs (group commit). `bytes` is the request's size.
   */
  accept(items: AcceptItem[], bytes: number): AcceptResult[] | Promise<AcceptResult[]>;
  /** Called after a commit so the worker picks the new deliveries up at once. */
  accepted(): void;
  metrics?: BridgeMetrics;
}

/**
 * A source's parser: the alert, with the payload fields it had to default (counted in `/metrics` and logged so
 * payload drift is visible), or the issues that make the payload unshowable (a 400).
 */
export type SourceParser = (body: unknown) => { ok: true; alert: Alert; defaults?: string[] } | { ok: false; issues: PayloadIssue[] };
/** A parser of sources whose POST carries a group of alerts (Alertmanager, Grafana). */
export type BatchSourceParser = (body: unknown) => { ok: true; alerts: Alert[]; defaults?: string[] } | { ok: false; issues: PayloadIssue[] };

const invalid = (res: Response, issues: PayloadIssue[]) => answerJson(res, 400, { error: 'invalid_payload', issues });

/**
 * The bytes → JSON part of every webhook: refuses too-deep and malformed JSON with a 400 (and returns
 * undefined), else returns the parsed body.
 */
/** Size of the request body as received. */
const bodyBytes = (req: Request): number => (Buffer.isBuffer(req.body) ? req.body.length : 0);

function readJson(source: string, req: Request, res: Response, deps: IngestDeps): { body: unknown } | undefined {
  const requestId = requestIdOf(res);
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  // Judged on the bytes, before parsing (for any text JSON.parse accepts it is the same verdict as walking the
  // parsed value, which took up to ~70 ms for 20,000 small objects; test/hostile.test.ts checks they agree).
  if (jsonTextDepthExceeds(raw, MAX_JSON_DEPTH)) {
    const issues = [{ path: '(body)', message: `JSON nesting deeper than ${MAX_JSON_DEPTH} levels` }];
    deps.logger.info({ source, requestId, status: 400, reason: 'invalid_payload', issues }, 'webhook rejected');
    deps.metrics?.alertRejected(source, 'invalid_payload');
    invalid(res, issues);
    return undefined;
  }
  try {
    return { body: JSON.parse(raw.toString('utf8')) };
  } catch (error) {
    // The log gets the issue without JSON.parse's detail, which quotes the body (never logged); the answer has it.
    deps.logger.info({ source, requestId, status: 400, reason: 'invalid_payload', issues: [{ path: '(body)', message: 'not valid JSON' }] }, 'webhook rejected');
    deps.metrics?.alertRejected(source, 'invalid_payload');
    invalid(res, [{ path: '(body)', message: `not valid JSON: ${(error as Error).message}` }]);
    return undefined;
  }
}

/**
 * Bytes → JSON → the source's parser; answers the 400 itself (logged, counted, every issue listed) and returns
 * undefined, or returns what the parser produced, after counting the fields it defaulted.
 */
function readPayload<T extends { defaults?: string[] }>(source: string, req: Request, res: Response, deps: IngestDeps, parse: (body: unknown) => ({ ok: true } & T) | { ok: false; issues: PayloadIssue[] }): T | undefined {
  const json = readJson(source, req, res, deps);
  if (!json) return undefined;
  const parsed = parse(json.body);
  if (parsed.ok) {
    for (const field of parsed.defaults ?? []) deps.metrics?.payloadDefault(source, field);
    return parsed;
  }
  deps.logger.info({ source, requestId: requestIdOf(res), status: 400, reason: 'invalid_payload', issues: parsed.issues.slice(0, 20) }, 'webhook rejected');
  deps.metrics?.alertRejected(source, 'invalid_payload');
  invalid(res, parsed.issues);
  return undefined;
}

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
    const parsed = readPayload(source, req, res, deps, parse);
    if (!parsed) return;
    const alert = boundAlert(parsed.alert);
    noteAlertId(res, alert.alertId);
    const targets = deps.route(alert);
    let result: AcceptResult;
    try {
      result = (await deps.accept([{ alert, targets }], bodyBytes(req)))[0]!;
    } catch (error) {
      deps.logger.error({ source, requestId, alertId: alert.alertId, err: { message: (error as Error).message, code: (error as { code?: unknown }).code } }, 'store unavailable');
      deps.metrics?.alertRejected(source, 'store_unavailable');
      answerJson(res, 503, { error: 'store_unavailable' });
      return;
    }
    countAccepted(source, alert, targets, result, deps, requestId);
    if (result.status === 'accepted') deps.accepted();
    const durationMs = Date.now() - started;
    answerJson(res, 200, { status: result.status, ...duplicateReason(result), alertId: alert.alertId, deliveries: result.deliveries });
    // After the answer, which this line does not change: formatting it is no reason to keep the sender waiting.
    deps.logger.info({ source, requestId, alertId: alert.alertId, status: result.status, deliveries: result.deliveries.length, ...defaultsOf(parsed), durationMs }, 'webhook accepted');
  };
}

/**
 * `{ reason }` for a duplicate: a user re-posting a test alert sees the old deliveries, and without this one field
 * would read them as the answer to this post (and routing as broken).
 */
const duplicateReason = (result: AcceptResult) =>
  result.status === 'duplicate' && result.acceptedAt !== undefined ? { reason: `same alert already accepted at ${new Date(result.acceptedAt).toISOString()}` } : {};

/** `{ defaults: [...] }` for the log line when the parser defaulted any field, else nothing. */
const defaultsOf = (parsed: { defaults?: string[] }) => (parsed.defaults?.length ? { defaults: parsed.defaults } : {});

/** Metrics and the unrouted warning of one stored alert. */
function countAccepted(source: string, alert: Alert, targets: RouteTarget[], result: AcceptResult, deps: IngestDeps, requestId: string | undefined): void {
  deps.metrics?.alertReceived(source);
  if (result.status === 'duplicate') deps.metrics?.alertDuplicate(source);
  if (targets.length === 0 && result.status === 'accepted') deps.metrics?.alertUnrouted(source);
  if (targets.length === 0) deps.logger.warn({ source, requestId, alertId: alert.alertId, detection: alert.detectionId }, 'alert unrouted');
}

/**
 * The group form of the tail (Alertmanager, Grafana): every alert of the POST is routed and accepted in one
 * transaction — all or none, so a 503 (which Alertmanager retries) never leaves half a group stored — then the
 * answer lists each alert's outcome in payload order: `{status, alerts: [{fingerprint, alertStatus, status,
 * deliveries}]}`. The top-level status is "accepted" when any alert was new, else "duplicate".
 */
export function batchIngestHandler(source: string, parse: BatchSourceParser, deps: IngestDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const started = Date.now();
    const requestId = requestIdOf(res);
    const parsed = readPayload(source, req, res, deps, parse);
    if (!parsed) return;
    const items = parsed.alerts.map(boundAlert).map((alert) => ({ alert, targets: deps.route(alert) }));
    let results: AcceptResult[];
    try {
      results = await deps.accept(items, bodyBytes(req));
    } catch (error) {
      deps.logger.error({ source, requestId, alerts: items.length, err: { message: (error as Error).message, code: (error as { code?: unknown }).code } }, 'store unavailable');
      deps.metrics?.alertRejected(source, 'store_unavailable');
      answerJson(res, 503, { error: 'store_unavailable' });
      return;
    }
    const alerts = items.map(({ alert, targets }, i) => {
      const result = results[i]!;
      countAccepted(source, alert, targets, result, deps, requestId);
      return { fingerprint: alert.fingerprint ?? null, alertStatus: alert.status ?? null, title: alert.title, status: result.status, ...duplicateReason(result), deliveries: result.deliveries };
    });
    const anyNew = results.length === 0 || results.some((r) => r.status === 'accepted');
    if (results.some((r) => r.status === 'accepted')) deps.accepted();
    const durationMs = Date.now() - started;
    answerJson(res, 200, { status: anyNew ? 'accepted' : 'duplicate', alerts });
    // After the answer, as for a single alert: the log lines do not change it.
    items.forEach(({ alert }, i) => {
      const result = results[i]!;
      deps.logger.info(
        { source, requestId, alertId: alert.alertId, fingerprint: alert.fingerprint, alertStatus: alert.status, detection: alert.detectionId, status: result.status, deliveries: result.deliveries.length },
        'alert accepted',
      );
    });
    deps.logger.info({ source, requestId, alerts: alerts.length, status: anyNew ? 'accepted' : 'duplicate', ...defaultsOf(parsed), durationMs }, 'webhook accepted');
  };
}
