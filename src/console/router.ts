/**
 * The web console at /console (docs/web-console.md): the browser app plus its JSON API. Every route needs a
 * configured user (401), changes need the admin role (403) and pass the CSRF guard; every answer carries the
 * console's security headers. Resend goes through the ledger's requeue, as `outbox retry` does.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import type { OperatorLedger } from '../delivery/operator-ledger';
import type { DeliveryStatus } from '../delivery/status';
import { SEVERITIES } from '../domain/alert';
import { SAMPLE_ALERTS_DIR } from '../rendering/template-check';
import { TemplateEngine } from '../templates/engine';
import type { RenderTarget } from '../templates/render-target';
import { consoleUserOf, requireAdmin, requireUser } from './auth';
import { listAlerts } from './ledger-view';
import { payloadOf, preview, PREVIEW_SOURCES, type PreviewRequest } from './preview';
import { csrfGuard, securityHeaders } from './security';
import { staticHandlers } from './static';
import { readTemplate, saveTemplate, TEMPLATE_TARGETS, validTemplateName } from './template-files';

export interface ConsoleDeps {
  /** The running config (changes on reload). */
  config: () => Config;
  ledger: () => OperatorLedger;
  /** Wakes the worker after a requeue. */
  requeued: () => void;
  /** Re-applies the running config so a saved template is picked up (hot reload); throws when it cannot. */
  reload: () => void;
  logger: Logger;
  /** The built browser app (default dist/console-ui). */
  uiDir?: string;
}

const STATUSES = new Set(['pending', 'delivered', 'dead']);
const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/** The shipped sample payloads (real, hostile, long) offered in the playground. */
function samples(): { name: string; payloadText: string }[] {
  try {
    return readdirSync(SAMPLE_ALERTS_DIR)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => ({ name: f.replace(/\.json$/, ''), payloadText: readFileSync(path.join(SAMPLE_ALERTS_DIR, f), 'utf8') }));
  } catch {
    return [];
  }
}

export function consoleRouter(deps: ConsoleDeps): Router {
  const router = express.Router();
  const ui = staticHandlers(deps.uiDir);
  const json = express.json({ limit: '2mb' });
  const typeOf = (destination: string) => deps.config().destinations[destination]?.type ?? 'unknown';

  router.use(securityHeaders);
  // Checked per request, so a reload can switch the console on or off.
  router.use((_req, res, next) => (deps.config().console.enabled ? next() : void res.status(404).json({ error: 'not_found' })));
  router.use(requireUser(() => deps.config().console.users));
  router.use(csrfGuard);
  router.use('/api', (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  router.get('/', ui.index);
  router.get('/assets/:file', ui.asset);

  router.get('/api/meta', (_req, res) => {
    const config = deps.config();
    const engine = new TemplateEngine(config.templates.dir);
    res.json({
      user: consoleUserOf(res),
      sources: PREVIEW_SOURCES,
      severities: SEVERITIES,
      statuses: [...STATUSES],
      routes: config.routes.map((r) => ({ name: r.name, to: r.to, template: r.template ?? null })),
      destinations: Object.entries(config.destinations).map(([name, d]) => ({ name, type: d.type, template: d.template ?? null })),
      templates: { slack: engine.names('slack').sort(), discord: engine.names('discord').sort() },
      samples: samples(),
    });
  });

  router.get('/api/alerts', async (req, res) => {
    const status = str(req.query.status);
    if (status !== undefined && !STATUSES.has(status)) return void res.status(400).json({ error: 'invalid_query', message: 'status must be pending, delivered or dead' });
    const config = deps.config();
    const alerts = await listAlerts(
      deps.ledger(),
      {
        ...(str(req.query.source) ? { source: str(req.query.source)! } : {}),
        ...(str(req.query.severity) ? { severity: str(req.query.severity)! } : {}),
        ...(status ? { status: status as DeliveryStatus } : {}),
        ...(str(req.query.destination) ? { destination: str(req.query.destination)! } : {}),
        ...(str(req.query.q) ? { text: str(req.query.q)!.slice(0, 200) } : {}),
        limit: Number(req.query.limit) || 50,
      },
      typeOf,
      config.console.discordGuildId,
    );
    res.json({ alerts });
  });

  router.get('/api/alerts/:row', async (req, res) => {
    const row = Number(req.params.row);
    const alert = Number.isInteger(row) && row > 0 ? await deps.ledger().alert(row) : undefined;
    if (!alert) return void res.status(404).json({ error: 'not_found' });
    const payload = payloadOf(alert);
    res.json({ alertRow: row, alert, payloadText: payload ? JSON.stringify(payload, null, 2) : null });
  });

  router.post('/api/preview', json, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const template = body.template as { name?: unknown; sources?: Record<string, unknown> } | undefined;
    if (template !== undefined && (typeof template?.name !== 'string' || !validTemplateName(template.name))) {
      return void res.status(400).json({ error: 'invalid_request', message: 'template.name is not a valid template name' });
    }
    const request: PreviewRequest = {
      ...(Number.isInteger(body.alertRow) ? { alertRow: body.alertRow as number } : {}),
      ...(typeof body.payloadText === 'string' ? { payloadText: body.payloadText } : {}),
      ...(str(body.source) ? { source: str(body.source)! } : {}),
      ...(str(body.route) ? { route: str(body.route)! } : {}),
      ...(typeof body.destinations === 'object' && body.destinations !== null ? { destinations: pickStrings(body.destinations, ['slack', 'discord']) } : {}),
      ...(template ? { template: { name: template.name as string, sources: pickStrings(template.sources ?? {}, ['slack', 'discord']) } } : {}),
    };
    const result = await preview(deps.config(), deps.ledger(), request);
    if (!result.ok) return void res.status(result.status).json({ error: result.error, issues: result.issues ?? [] });
    res.json(result);
  });

  router.post('/api/deliveries/resend-dead', requireAdmin, json, async (_req, res) => {
    const result = await deps.ledger().requeue('all-dead');
    deps.logger.info({ consoleUser: consoleUserOf(res).name, requeued: result.requeued.length }, 'console: resend all dead');
    if (result.requeued.length > 0) deps.requeued();
    res.json(result);
  });

  router.post('/api/deliveries/:id/resend', requireAdmin, json, async (req, res) => {
    const id = Number(req.params.id);
    if (!Number.isInteger(id) || id <= 0) return void res.status(400).json({ error: 'invalid_request', message: 'delivery ids are positive integers' });
    const confirmDelivered = (req.body as { confirmDelivered?: unknown } | undefined)?.confirmDelivered === true;
    const result = await deps.ledger().requeue([id], { resendDelivered: confirmDelivered });
    deps.logger.info({ consoleUser: consoleUserOf(res).name, delivery: id, confirmDelivered, requeued: result.requeued.length === 1 }, 'console: resend');
    if (result.requeued.length > 0) {
      deps.requeued();
      return void res.json(result);
    }
    const reason = result.skipped[0]?.reason ?? 'not requeued';
    if (/already delivered/.test(reason)) {
      return void res.status(409).json({ error: 'already_delivered', message: 'Already delivered: resending posts a second message. Confirm to send it again.', ...result });
    }
    res.status(/no such/.test(reason) ? 404 : 409).json({ error: 'not_requeued', message: reason, ...result });
  });

  router.get('/api/templates/:name/:target', (req, res) => {
    const { name, target } = req.params as { name: string; target: RenderTarget };
    if (!validTemplateName(name) || !TEMPLATE_TARGETS.includes(target)) return void res.status(400).json({ error: 'invalid_name' });
    const found = readTemplate(deps.config(), name, target);
    if (!found) return void res.status(404).json({ error: 'not_found' });
    res.json({ name, target, ...found });
  });

  router.put('/api/templates/:name/:target', requireAdmin, json, (req, res) => {
    const { name, target } = req.params as { name: string; target: RenderTarget };
    const source = (req.body as { source?: unknown } | undefined)?.source;
    if (typeof source !== 'string') return void res.status(400).json({ error: 'invalid_request', message: 'send {"source": "…"}' });
    const config = deps.config();
    const result = saveTemplate(config, name, target, source);
    if (!result.ok) return void res.status(result.status).json(result);
    try {
      deps.reload();
    } catch (error) {
      deps.logger.error({ err: { message: (error as Error).message } }, 'console: reload after template save failed');
      return void res.status(500).json({ error: 'reload_failed', message: 'saved, but the reload failed; see the bridge log' });
    }
    deps.logger.info({ consoleUser: consoleUserOf(res).name, template: name, target, file: result.file }, 'console: template saved and reloaded');
    res.json({ saved: true, file: result.file, warnings: result.warnings });
  });

  router.use('/api', (_req, res) => void res.status(404).json({ error: 'not_found' }));
  router.use((_req, res) => void res.status(404).type('text/plain').send('not found'));
  // Body-parser errors here, so they are answered as the console's and never counted as webhook rejections.
  router.use((error: { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    if (deps.ledger().unavailable(error)) {
      deps.logger.error({ err: { code: (error as { code?: unknown }).code, message: (error as Error).message } }, 'store unavailable');
      return void res.status(503).json({ error: 'store_unavailable' });
    }
    const status = typeof error.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) deps.logger.error({ err: { message: (error as Error).message } }, 'console request failed');
    res.status(status).json({ error: status === 413 ? 'payload_too_large' : status === 500 ? 'internal_error' : (error.type ?? 'bad_request') });
  });
  return router;
}

function pickStrings(from: unknown, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof from !== 'object' || from === null) return out;
  for (const key of keys) {
    const value = (from as Record<string, unknown>)[key];
    if (typeof value === 'string') out[key] = value;
  }
  return out;
}
