import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config/schema';
import { roleParts, roleRefusal, type ServeRole } from './config/serve-role';
import type { DeliveryWorker } from './delivery/worker';
import type { OutboxStore } from './delivery/store';
import type { StoreEngine } from './delivery/store-contract';
import { openServedStore, type ServedStore } from './delivery/serve-store';
import { Pacer } from './delivery/pacer';
import { closePlatformClients } from './destinations/registry';
import { createApp, createProbeApp, type ReadinessCheck } from './http/app';
import { PAYLOAD_DEFAULT_FIELDS } from './sources/detect';
import { BridgeMetrics } from './observability/metrics';
import { createDelivery, type WorkSignals } from './bridge-delivery';
import { BridgeLive } from './bridge-live';
import { DeliveryThread, wantsDeliveryThread } from './bridge-delivery-thread';
import { createIntake } from './bridge-intake';

export interface RunningBridge {
  /** Base URL the server listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  port: number;
  engine: StoreEngine;
  /** What this process does: receive, deliver, or both (serve-role.ts). */
  role: ServeRole;
  /** The SQLite store itself (its synchronous API); undefined on PostgreSQL. */
  store?: OutboxStore;
  /** The delivery worker; undefined on a receiver. */
  worker?: DeliveryWorker;
  /** Graceful stop: stop accepting, finish in-flight sends, close the store. Idempotent. */
  stop(): Promise<void>;
  /**
   * Logs `chatops-bridge listening` (port, role, paths): what operators and supervisors wait for. The caller says
   * it once it is ready for signals (`serve` installs its handlers first), so a signal sent on that line is handled.
   */
  announce(): void;
  /**
   * Applies a new config (SIGHUP): routes, destinations, templates, tokens, delivery settings. Throws, leaving the
   * running config in place, when the new templates do not compile. Returns settings that need a restart.
   */
  reload(config: Config): string[];
}

export { configSecrets } from './bridge-live';

export interface StartOptions {
  /**
   * Another `serve` holds the store: wait for it to stop (logging that and for whom) instead of refusing.
   * Nothing listens until the store is ours.
   */
  standby?: boolean;
  /** Called after the bridge stopped because another process took the store over (see store-open.ts). */
  onOwnershipLost?: () => void;
  /** What this process does (`serve --role`); `server.role` of the config when absent. */
  role?: ServeRole;
}

/** What a worker answers on every path but its probes: where the request should have gone. */
const WORKER_NOT_FOUND = 'this process runs serve --role worker: it serves /healthz, /readyz and /metrics only; send webhooks, clicks, /admin and /console to a receiver (--role receiver or all)';

/**
 * Composition root of `serve`: takes the store's lock (refusing, or waiting as a standby, while another process
 * holds it), opens the outbox, resumes whatever a previous process left pending, then runs its role's sides: the
 * receiving one (webhooks, clicks, console, admin: bridge-intake.ts) and the delivering one (worker, editor,
 * write-back, token checks: bridge-delivery.ts), each woken by the other here, or across processes through the
 * store's wake-ups (PostgreSQL LISTEN/NOTIFY). Every role serves /healthz, /readyz and /metrics.
 * `portOverride` 0 picks a free port (tests).
 */
export async function startBridge(config: Config, logger: Logger, portOverride?: number, options: StartOptions = {}): Promise<RunningBridge> {
  const role = options.role ?? config.server.role;
  const refusal = roleRefusal(role, config.store.engine);
  if (refusal) throw new Error(refusal);
  const parts = roleParts(role);
  const threaded = parts.delivers && wantsDeliveryThread(config);
  // What a reload may replace; everything that reads it goes through `live`'s getters. Throws on template errors.
  // Platform clients only where this thread delivers: a receiver, and the main thread beside a delivery thread,
  // never send to a chat (a Slack click's answers to the clicking user use a client of their own).
  const live = new BridgeLive(config, logger, parts.delivers && !threaded);
  // Lost to another serve: stop claiming work at once (sends in flight finish), then tell the caller (serve exits 1).
  let served: ServedStore;
  try {
    served = await openServedStore(config.store, { standby: options.standby === true, logger, lost: () => void stop().then(() => options.onOwnershipLost?.()), deliveryThread: threaded });
  } catch (error) {
    live.close();
    throw error;
  }
  const { engine } = served;

  const metrics = new BridgeMetrics(['panther', 'alertmanager', 'grafana'], Object.keys(config.destinations), () => engine.queueStats(Date.now()), PAYLOAD_DEFAULT_FIELDS);
  metrics.identify(served.instanceId, engine.engine, role);

  const delivery = !parts.delivers ? undefined : threaded ? deliveryThread(config, served, live, logger, metrics) : createDelivery({ engine, pacer: new Pacer(), live, logger, metrics });
  // Work recorded here wakes this process's delivering side, if it has one, and every other process's through the
  // store (a receiver has no other way to reach the workers; replicas of `all` wake each other's idle loops).
  const signals = fanOut([delivery?.wake, served.wakes?.announce]);
  const readiness = async (): Promise<ReadinessCheck[]> => {
    const delivering = delivery?.readiness();
    return [
      { name: 'store', ...(await served.health()) },
      ...(delivering ? [delivering.worker] : []),
      { name: 'templates', ok: live.templates().problems.length === 0 },
      ...(delivering?.tokens ?? []),
    ];
  };
  const probes = { logger, metrics, metricsToken: config.server.metricsToken, readiness };
  const app = parts.receives
    ? createApp({ ...probes, ...createIntake({ engine, config, live, signals, reload: () => void reload(live.config()), logger, metrics }) })
    : createProbeApp(probes, WORKER_NOT_FOUND);

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
    live.close();
    await served.close();
    throw error;
  }
  try {
    await delivery?.start();
  } catch (error) {
    server.close();
    server.closeAllConnections();
    live.close();
    await served.close();
    throw error;
  }
  // Other processes' announcements wake the loops here; without them the loops still poll.
  const listener = delivery && served.wakes ? served.wakes.listen(delivery.wake) : undefined;
  const port = (server.address() as AddressInfo).port;
  const host = config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host;
  const panther = config.sources.panther;
  const announce = () =>
    logger.info({ port, host: config.server.host, role, ...(parts.delivers ? { delivery: threaded ? 'thread' : 'event loop' } : {}), destinations: Object.keys(config.destinations), ...(parts.receives ? { pantherPath: panther?.path, alertmanagerPath: config.sources.alertmanager?.path, grafanaPath: config.sources.grafana?.path } : {}) }, 'chatops-bridge listening');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), config.server.shutdownTimeoutMs).unref();
      });
      await listener?.stop();
      // Records of sends already made keep being retried for the shutdown timeout: a store that refuses writes just
      // now (an outbox purge during a deploy) must not turn a posted message into one posted again after the restart.
      await delivery?.stop(config.server.shutdownTimeoutMs);
      live.close();
      await served.close();
      logger.info('chatops-bridge stopped');
    })());
  const reload = (next: Config): string[] => {
    const replaced = live.replace(next);
    // The old clients are closed once the sends in flight with them are done (closing a discord.js client only
    // stops its sweepers, so an edit or token check still running on one completes either way).
    void (delivery?.reconfigure(next) ?? Promise.resolve()).then(() => closePlatformClients(replaced));
    return restartOnlyChanges(config, next);
  };
  return {
    url: `http://${host}:${port}`,
    port,
    engine,
    role,
    ...(served.sqlite ? { store: served.sqlite } : {}),
    ...(delivery instanceof DeliveryThread || !delivery ? {} : { worker: delivery.worker }),
    stop,
    reload,
    announce,
  };
}

/** The delivering side in a thread of its own, on the SQLite store `served` holds; it runs the WAL checkpoints too. */
function deliveryThread(config: Config, served: ServedStore, live: BridgeLive, logger: Logger, metrics: BridgeMetrics): DeliveryThread {
  const sqlite = served.sqlite;
  if (!sqlite || config.store.engine !== 'sqlite') throw new Error('the delivery thread runs only on a SQLite store');
  return new DeliveryThread({ config, storeFile: config.store.path, templateFiles: live.templateFiles, releaseLeases: () => sqlite.releaseAllLeases(), secrets: live.secrets, logger, metrics, checkpoints: served.checkpoints });
}

/** Signals that reach every one of `targets` (absent ones skipped). */
function fanOut(targets: readonly (WorkSignals | undefined)[]): WorkSignals {
  const present = targets.filter((t): t is WorkSignals => t !== undefined);
  return {
    deliveries: () => present.forEach((t) => t.deliveries()),
    messages: () => present.forEach((t) => t.messages()),
  };
}

/** Settings a reload cannot apply (the listener, the store file, webhook paths and limits, admin on/off). */
function restartOnlyChanges(before: Config, after: Config): string[] {
  const changed: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (!same(before.server, after.server)) changed.push('server');
  if (!same(before.store, after.store)) changed.push('store');
  if (before.delivery.thread !== after.delivery.thread) changed.push('delivery.thread');
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

