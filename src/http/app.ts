import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { parsePantherPayload } from '../sources/panther';
import type { OperatorLedger } from '../delivery/operator-ledger';
import { isStoreError } from '../delivery/store-errors';
import { adminRouter } from './admin';
import { batchIngestHandler, ingestHandler, type BatchSourceParser, type IngestDeps } from './ingest';
import { authChallenges, labelSourceAuthorized, type LabelSourceAuth } from './source-auth';
import { requestIdOf, requestLog } from './request-log';
import { bearerToken, tokenMatches } from '../auth/token-auth';

export interface WebhookSourceSettings {
  path: string;
  bodyLimitBytes: number;
  auth?: { header: string; tokens: string[] };
}

/** A label-based source (Alertmanager, Grafana): path, body limit, and live credentials (a getter, for reloads). */
export interface LabelSourceSettings {
  path: string;
  bodyLimitBytes: number;
  readonly auth?: LabelSourceAuth;
  parse: BatchSourceParser;
}

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

/** What every process serves, whatever its role: /healthz, /readyz and /metrics. */
export interface ProbeDeps {
  logger: Logger;
  metrics?: IngestDeps['metrics'];
  /** When set, GET /metrics requires `Authorization: Bearer <metricsToken>`. */
  metricsToken?: string;
  readiness(): ReadinessCheck[] | Promise<ReadinessCheck[]>;
}

export interface AppDeps extends IngestDeps, ProbeDeps {
  panther?: WebhookSourceSettings;
  /** Alertmanager / Grafana webhooks, by source name. */
  labelSources?: Record<string, LabelSourceSettings>;
  /** Operator endpoints under /admin, when admin tokens are configured. */
  admin?: { tokens: string[]; ledger: () => OperatorLedger };
  /**
   * The web console's router, mounted at /console (it answers 404 itself while `console.enabled` is off). Built by
   * the composition root: the console is a front of its own, which this one mounts but does not import.
   */
  console?: Router;
  /** Interactivity endpoints (answer 404 themselves while their platform is not configured). */
  interactions?: { slack?: RequestHandler; discord?: Router };
  /**
   * Whether an error a handler passed on means the store cannot answer now (answered `503 store_unavailable`):
   * the engine's word for it (OperatorLedger.unavailable). Without it, SQLite's errors only.
   */
  storeUnavailable?(error: unknown): boolean;
}

const isJson = (req: Request) => {
  const type = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
};

/**
 * Builds the Express app (no listen). Each webhook route checks, in order: auth (401, before reading the
 * body), content type (415), size (413), then JSON and schema (400). No global body parser: interactivity
 * receivers added later need raw bodies.
 */
export function createApp(deps: AppDeps): express.Express {
  const app = baseApp(deps);

  // Interactivity first: both verify signatures over the raw body, so nothing may read it before them.
  if (deps.interactions?.slack) app.post('/slack/events', deps.interactions.slack);
  if (deps.interactions?.discord) app.use(deps.interactions.discord);

  mountProbes(app, deps);
  mountIntake(app, deps);
  return app;
}

/**
 * The app of a process that receives nothing (`serve --role worker`): /healthz, /readyz and /metrics. Anything else,
 * a webhook or a click included, is `404 not_found` with `message` saying where such requests go.
 */
export function createProbeApp(deps: ProbeDeps, message: string): express.Express {
  const app = baseApp(deps);
  mountProbes(app, deps);
  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found', message });
  });
  app.use((error: { message?: string }, _req: Request, res: Response, _next: NextFunction) => {
    deps.logger.error({ err: { message: error.message } }, 'request failed');
    res.status(500).json({ error: 'internal_error' });
  });
  return app;
}

function baseApp(deps: ProbeDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestLog(deps.logger)); // first: every route, including 404s and errors, gets its one log line
  return app;
}

function mountProbes(app: express.Express, deps: ProbeDeps): void {
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  if (deps.metrics) {
    const metrics = deps.metrics;
    app.get('/metrics', async (req, res) => {
      if (deps.metricsToken && !tokenMatches(bearerToken(req.get('authorization')), [deps.metricsToken])) {
        res.set('WWW-Authenticate', 'Bearer').status(401).json({ error: 'unauthorized' });
        return;
      }
      const { contentType, body } = await metrics.render();
      res.set('content-type', contentType).send(body);
    });
  }
  app.get('/readyz', async (_req, res) => {
    const checks = await deps.readiness();
    const ready = checks.every((check) => check.ok);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });
}

/** The receiving routes: webhooks, admin, console, and the answers to what matches none of them. */
function mountIntake(app: express.Express, deps: AppDeps): void {
  /** `credentialHeader`: where the credential travels, so a 401's log line can say whether it was sent at all. */
  const mountWebhook = (source: string, path: string, bodyLimitBytes: number, credentialHeader: string, authorize: (req: Request, res: Response) => boolean, handler: RequestHandler) => {
    app.post(
      path,
      (req, res, next) => {
        if (!authorize(req, res)) {
          // Whether a credential came, never what it was: "missing" is a sender not configured, "wrong" a typo or a
          // rotated token.
          const credential = (req.get(credentialHeader) ?? '').trim() === '' ? 'missing' : 'wrong';
          deps.logger.info({ source, requestId: requestIdOf(res), status: 401, reason: 'unauthorized', credential }, 'webhook rejected');
          deps.metrics?.alertRejected(source, 'unauthorized');
          res.status(401).json({ error: 'unauthorized' });
          return;
        }
        if (!isJson(req)) {
          deps.metrics?.alertRejected(source, 'unsupported_media_type');
          res.status(415).json({ error: 'unsupported_media_type', message: 'Content-Type must be application/json' });
          return;
        }
        res.locals.webhookSource = source;
        next();
      },
      express.raw({ type: () => true, limit: bodyLimitBytes }),
      handler,
    );
    // A browser or a health checker pointed at the webhook learns how to use it, instead of a 404 that reads as
    // "wrong path".
    app.all(path, (req, res) => {
      res.set('Allow', 'POST').status(405).json({ error: 'method_not_allowed', message: `${req.method} is not allowed here: webhooks are POSTed` });
    });
  };

  if (deps.panther) {
    const settings = deps.panther;
    mountWebhook('panther', settings.path, settings.bodyLimitBytes, settings.auth?.header ?? 'authorization', (req) => !settings.auth || tokenMatches(req.get(settings.auth.header), settings.auth.tokens), ingestHandler('panther', parsePantherPayload, deps));
  }
  for (const [source, settings] of Object.entries(deps.labelSources ?? {})) {
    const authorize = (req: Request, res: Response) => {
      const auth = settings.auth;
      if (!auth || labelSourceAuthorized(req.get('authorization'), auth)) return true;
      res.set('WWW-Authenticate', authChallenges(auth));
      return false;
    };
    mountWebhook(source, settings.path, settings.bodyLimitBytes, 'authorization', authorize, batchIngestHandler(source, settings.parse, deps));
  }

  if (deps.admin) {
    const admin = deps.admin;
    app.use('/admin', adminRouter(admin.ledger, () => admin.tokens, deps.accepted));
  }

  if (deps.console) app.use('/console', deps.console);

  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found' });
  });
  // Body-parser and handler errors: answer with a status and a code, never a stack trace.
  app.use((error: { status?: number; type?: string; message?: string; limit?: number }, _req: Request, res: Response, _next: NextFunction) => {
    if (isStoreError(error) || deps.storeUnavailable?.(error)) {
      // The store is locked past its busy timeout or failing (console, admin, interactions): a 503 says "try
      // again", as it does for webhooks, instead of a 500 that reads like a bug.
      deps.logger.error({ requestId: requestIdOf(res), err: { code: (error as { code?: unknown }).code, message: error.message } }, 'store unavailable');
      res.status(503).json({ error: 'store_unavailable' });
      return;
    }
    if (error.type === 'entity.too.large' || error.status === 413) {
      deps.metrics?.alertRejected(typeof res.locals.webhookSource === 'string' ? res.locals.webhookSource : 'panther', 'payload_too_large');
      res.status(413).json({ error: 'payload_too_large', ...(typeof error.limit === 'number' ? { message: `body over the ${byteSize(error.limit)} limit` } : {}) });
      return;
    }
    const status = typeof error.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) deps.logger.error({ err: { message: error.message } }, 'request failed');
    res.status(status).json({ error: status === 500 ? 'internal_error' : error.type ?? 'bad_request' });
  });
}

/** `1 MiB`, `64 KiB`, `1000 bytes`: a body limit as people configure it. */
export function byteSize(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}
