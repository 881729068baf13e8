import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config/schema';
import { DeliveryWorker } from './delivery/worker';
import { digestPolicies } from './delivery/digest-planner';
import type { OutboxStore } from './delivery/store';
import type { StoreEngine } from './delivery/store-contract';
import { openServedStore } from './delivery/serve-store';
import { operatorLedger } from './delivery/operator-ledger';
import { Pacer } from './delivery/pacer';
import { buildDestinations, closePlatformClients } from './destinations/registry';
import { TokenChecks } from './observability/token-checks';
import type { Destination } from './destinations/types';
import { createApp, type LabelSourceSettings, type ReadinessCheck } from './http/app';
import { consoleRouter } from './console/router';
import { formatTemplateProblem } from './templates/locate';
import { parseAlertmanagerPayload } from './sources/alertmanager';
import { parseGrafanaPayload } from './sources/grafana';
import { PAYLOAD_DEFAULT_FIELDS } from './sources/detect';
import { BridgeMetrics } from './observability/metrics';
import { routeAlert, type RouteTarget } from './routing/router';
import { MessageEditor } from './triage/message-editor';
import { PantherWriteback } from './triage/panther-writeback';
import { triagePolicies } from './triage/policy';
import { TriageService } from './triage/triage-service';
import { slackInteractionsHandler } from './triage/slack-interactions';
import { discordInteractionsRouter } from './triage/discord-interactions';

export interface RunningBridge {
  /** Base URL the server listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  port: number;
  engine: StoreEngine;
  /** The SQLite store itself (its synchronous API); undefined on PostgreSQL. */
  store?: OutboxStore;
  worker: DeliveryWorker;
  /** Graceful stop: stop accepting, finish in-flight sends, close the store. Idempotent. */
  stop(): Promise<void>;
  /**
   * Applies a new config (SIGHUP): routes, destinations, templates, tokens, delivery settings. Throws, leaving the
   * running config in place, when the new templates do not compile. Returns settings that need a restart.
   */
  reload(config: Config): string[];
}

/** The password of a PostgreSQL URL (a driver error could echo it), or undefined. */
function pgPassword(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

/** Every secret in the config, so error text that might echo one can be scrubbed. */
export function configSecrets(config: Config): string[] {
  const secrets = [
    config.slack?.token,
    config.slack?.signingSecret,
    config.discord?.token,
    config.panther?.api.token,
    ...(config.sources.panther?.auth?.tokens ?? []),
    ...labelSourceSecrets(config),
    ...(config.admin?.tokens ?? []),
    ...config.console.users.flatMap((u) => [u.token, u.password]),
    config.server.metricsToken,
    ...(config.store.engine === 'postgres' ? [config.store.url, pgPassword(config.store.url)] : []),
  ];
  for (const destination of Object.values(config.destinations)) {
    if (destination.type === 'discord-webhook') secrets.push(destination.url);
  }
  return secrets.filter((s): s is string => typeof s === 'string' && s.length > 0);
}

/**
 * `onResolved: update` needs a destination that can edit its messages; one that cannot (console) gets the
 * resolved alert posted instead, so the resolution is never silently lost.
 */
function withEditFallback(targets: RouteTarget[], destinations: ReadonlyMap<string, Destination>): RouteTarget[] {
  return targets.map((t) => (t.onResolved === 'update' && !destinations.get(t.destination)?.edit ? { ...t, onResolved: 'post' as const } : t));
}

/** Bearer tokens and basic-auth passwords of the label-based sources. */
function labelSourceSecrets(config: Config): string[] {
  return [config.sources.alertmanager, config.sources.grafana].flatMap((source) => [...(source?.auth?.bearer ?? []), ...(source?.auth?.basic ?? []).map((c) => c.password)]);
}

/**
 * The Alertmanager and Grafana webhooks the config turns on. Credentials and the severity mapping are read from
 * the live config on every request, so a reload applies them; path and body limit need a restart.
 */
function labelSources(config: Config, live: () => Config): Record<string, LabelSourceSettings> {
  const out: Record<string, LabelSourceSettings> = {};
  const parsers = { alertmanager: parseAlertmanagerPayload, grafana: parseGrafanaPayload };
  for (const name of ['alertmanager', 'grafana'] as const) {
    const section = config.sources[name];
    if (!section) continue;
    out[name] = {
      path: section.path,
      bodyLimitBytes: section.bodyLimitBytes,
      get auth() {
        return live().sources[name]?.auth;
      },
      parse: (body) => parsers[name](body, { severity: live().sources[name]?.severity ?? section.severity }),
    };
  }
  return out;
}

export interface StartOptions {
  /**
   * Another `serve` holds the store: wait for it to stop (logging that and for whom) instead of refusing.
   * Nothing listens until the store is ours.
   */
  standby?: boolean;
  /** Called after the bridge stopped because another process took the store over (see store-open.ts). */
  onOwnershipLost?: () => void;
}

/**
 * Composition root of `serve`: takes the store's lock (refusing, or waiting as a standby, while another process
 * holds it), opens the outbox, resumes whatever a previous process left pending, starts the worker and the HTTP
 * server. `portOverride` 0 picks a free port (tests).
 */
export async function startBridge(config: Config, logger: Logger, portOverride?: number, options: StartOptions = {}): Promise<RunningBridge> {
  const { templates, destinations, clients } = buildDestinations(config, logger);
  if (templates.problems.length > 0) {
    throw new Error(`template errors: ${templates.problems.map(formatTemplateProblem).join('; ')}`);
  }
  // Lost to another serve: stop claiming work at once (sends in flight finish), then tell the caller (serve exits 1).
  const served = await openServedStore(config.store, { standby: options.standby === true, logger, lost: () => void stop().then(() => options.onOwnershipLost?.()) });
  const { engine } = served;
  const closeStore = () => served.close();

  // What a reload may replace; everything that reads it goes through `current`.
  // Route triage policies are derived once per config: clicks and edits read them on every request.
  let current = { config, templates, policies: triagePolicies(config.routes), defangOff: defangOffRoutes(config) };
  const metrics = new BridgeMetrics(['panther', 'alertmanager', 'grafana'], Object.keys(config.destinations), () => engine.queueStats(Date.now()), PAYLOAD_DEFAULT_FIELDS);
  metrics.identify(served.instanceId, engine.engine);
  let tokens = new TokenChecks(clients, config.discord?.token, config.server.tokenCheckIntervalMs, logger, metrics);
  // The editor exists only after the worker; the worker reaches it through this late-bound hook.
  let messagesStale = () => {};
  const workerSettings = (c: Config) => ({ ...baseWorkerSettings(c), metrics, messagesStale: () => messagesStale() });
  // One pace per channel for the whole bridge: posts and edits spend the same budget, and it outlives reloads.
  const pacer = new Pacer();
  const worker = new DeliveryWorker(engine, pacer, destinations, workerSettings(config), logger, configSecrets(config));
  let liveDestinations: ReadonlyMap<string, Destination> = destinations;
  let liveClients = clients;
  const live = {
    destinations: () => liveDestinations,
    policies: () => current.policies,
    defangOff: () => current.defangOff,
    backoff: () => current.config.delivery.backoff,
    secrets: () => configSecrets(current.config),
  };
  const editor = new MessageEditor({ store: engine, pacer, ...live, logger, metrics });
  messagesStale = () => editor.notify();
  const writeback = new PantherWriteback({
    store: engine,
    config: () => current.config.panther,
    slack: () => liveClients.slack?.client,
    backoff: live.backoff,
    secrets: live.secrets,
    changed: () => editor.notify(),
    logger,
    metrics,
  });
  const triage = new TriageService({
    store: engine,
    policies: live.policies,
    writeback: () => current.config.panther,
    changed: () => {
      editor.notify();
      writeback.notify();
    },
    logger,
    metrics,
  });
  const panther = config.sources.panther;
  const ledger = operatorLedger(engine);
  const app = createApp({
    logger,
    metrics,
    metricsToken: config.server.metricsToken,
    ...(panther
      ? {
          panther: {
            path: panther.path,
            bodyLimitBytes: panther.bodyLimitBytes,
            // A getter, so rotated tokens apply on reload without re-registering the route.
            get auth() {
              return current.config.sources.panther?.auth;
            },
          },
        }
      : {}),
    labelSources: labelSources(config, () => current.config),
    ...(config.admin ? { admin: { get tokens() { return current.config.admin?.tokens ?? []; }, ledger: () => ledger } } : {}),
    console: consoleRouter({ config: () => current.config, ledger: () => ledger, requeued: () => worker.notify(), reload: () => void reload(current.config), logger }),
    route: (alert) => withEditFallback(routeAlert(alert, current.config.routes), liveDestinations),
    accept: (items, bytes) => engine.acceptGroup(items, bytes),
    accepted: () => worker.notify(),
    storeUnavailable: (error) => ledger.unavailable(error),
    interactions: {
      slack: slackInteractionsHandler({
        settings: () => {
          const slack = current.config.slack;
          if (!slack) return undefined;
          return { token: slack.token, requestTimeoutMs: current.config.delivery.requestTimeoutMs, ...(slack.signingSecret ? { signingSecret: slack.signingSecret } : {}), ...(slack.apiUrl ? { apiUrl: slack.apiUrl } : {}) };
        },
        service: triage,
        logger,
        metrics,
      }),
      discord: discordInteractionsRouter({ publicKey: () => current.config.discord?.publicKey, service: triage, logger, metrics }),
    },
    readiness: async () => [
      { name: 'store', ...(await served.health()) },
      { name: 'worker', ok: worker.isRunning },
      { name: 'templates', ok: current.templates.problems.length === 0 },
      ...tokens.status(),
    ],
  });

  // Listen first: if the port is taken we exit before any send is in flight (no half-done deliveries).
  let server: Server;
  try {
    server = await new Promise((resolve, reject) => {
      // Not app.listen: these options exist only at creation. Node checks the timeouts every
      // connectionsCheckingInterval (30 s by default, which would let a dribbling client stay far past them).
      const { headersTimeoutMs, requestTimeoutMs } = config.server;
      const listening = createServer(
        { headersTimeout: headersTimeoutMs, requestTimeout: requestTimeoutMs, connectionsCheckingInterval: Math.min(1000, headersTimeoutMs) },
        app,
      );
      listening.once('error', reject);
      listening.listen(portOverride ?? config.server.port, config.server.host, () => resolve(listening));
    });
  } catch (error) {
    await closeStore();
    throw error;
  }
  worker.start();
  editor.start();
  writeback.start();
  tokens.start();
  const port = (server.address() as AddressInfo).port;
  const host = config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host;
  logger.info({ port, host: config.server.host, destinations: [...destinations.keys()], pantherPath: panther?.path, alertmanagerPath: config.sources.alertmanager?.path, grafanaPath: config.sources.grafana?.path }, 'chatops-bridge listening');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), config.server.shutdownTimeoutMs).unref();
      });
      tokens.stop();
      // Records of sends already made keep being retried for the shutdown timeout: a store that refuses writes just
      // now (an outbox purge during a deploy) must not turn a posted message into one posted again after the restart.
      const grace = config.server.shutdownTimeoutMs;
      await Promise.all([worker.stop(grace), editor.stop(grace), writeback.stop(grace)]);
      closePlatformClients(liveClients);
      await closeStore();
      logger.info('chatops-bridge stopped');
    })());
  const reload = (next: Config): string[] => {
    const built = buildDestinations(next, logger);
    if (built.templates.problems.length > 0) {
      closePlatformClients(built.clients);
      throw new Error(`template errors: ${built.templates.problems.map(formatTemplateProblem).join('; ')}`);
    }
    const replaced = liveClients;
    // The old clients are closed once the sends in flight with them are done (closing a discord.js client only
    // stops its sweepers, so an edit or token check still running on one completes either way).
    void worker.reconfigure(built.destinations, workerSettings(next), configSecrets(next)).then(() => closePlatformClients(replaced));
    tokens.stop();
    tokens = new TokenChecks(built.clients, next.discord?.token, config.server.tokenCheckIntervalMs, logger, metrics);
    tokens.start();
    current = { config: next, templates: built.templates, policies: triagePolicies(next.routes), defangOff: defangOffRoutes(next) };
    liveDestinations = built.destinations;
    liveClients = built.clients;
    editor.notify();
    writeback.notify();
    return restartOnlyChanges(config, next);
  };
  return { url: `http://${host}:${port}`, port, engine, ...(served.sqlite ? { store: served.sqlite } : {}), worker, stop, reload };
}

function baseWorkerSettings(config: Config) {
  return {
    ...config.delivery,
    digests: digestPolicies(config.routes),
    triage: triagePolicies(config.routes),
    mentions: new Map(config.routes.map((r) => [r.name, r.mentions])),
    defangOff: defangOffRoutes(config),
  };
}

/** Names of the routes that keep URLs in alert text live (`defang: false`). */
function defangOffRoutes(config: Config): ReadonlySet<string> {
  return new Set(config.routes.filter((route) => !route.defang).map((route) => route.name));
}

/** Settings a reload cannot apply (the listener, the store file, webhook paths and limits, admin on/off). */
function restartOnlyChanges(before: Config, after: Config): string[] {
  const changed: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (!same(before.server, after.server)) changed.push('server');
  if (!same(before.store, after.store)) changed.push('store');
  if (before.sources.panther?.path !== after.sources.panther?.path || before.sources.panther?.bodyLimitBytes !== after.sources.panther?.bodyLimitBytes) {
    changed.push('sources.panther.path/bodyLimitBytes');
  }
  for (const name of ['alertmanager', 'grafana'] as const) {
    const [a, b] = [before.sources[name], after.sources[name]];
    if (Boolean(a) !== Boolean(b) || a?.path !== b?.path || a?.bodyLimitBytes !== b?.bodyLimitBytes) changed.push(`sources.${name} (on/off, path, bodyLimitBytes)`);
  }
  if (Boolean(before.admin) !== Boolean(after.admin)) changed.push('admin (on/off)');
  return changed;
}

