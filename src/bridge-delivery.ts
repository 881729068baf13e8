/**
 * The delivering side of `serve` (roles `all` and `worker`): the delivery worker (with its burst digests), the
 * message editor, the Panther write-back, the escalation reminders, the silences' API calls and the token checks. It reads the store and the live config, and is woken
 * through {@link DeliveryPart.wake} by whoever records work: the receiving side of the same process, or another
 * process through the store's wake-ups. It shares nothing else with the receiving side, so it can run where that
 * side is not (another process, later a thread of its own).
 */
import type { Logger } from 'pino';
import type { Config } from './config/schema';
import { DeliveryWorker } from './delivery/worker';
import type { CpuBudget } from './delivery/cpu-budget';
import { digestPolicies } from './delivery/digest-planner';
import type { StoreEngine } from './delivery/store-contract';
import type { Pacer } from './delivery/pacer';
import type { PlatformClients } from './destinations/registry';
import type { Destination } from './destinations/types';
import type { ReadinessCheck } from './http/app';
import type { DeliveryMetrics } from './observability/metrics';
import { TokenChecks } from './observability/token-checks';
import type { BackoffPolicy } from './delivery/backoff';
import { MessageEditor } from './triage/message-editor';
import { PantherApi, PantherWriteback } from './triage/panther-writeback';
import { ReminderLoop } from './escalation/reminder-loop';
import { SilenceWorker } from './triage/silence-worker';
import { triagePolicies, type TriagePolicy } from './triage/policy';

/** Whom to wake when work was recorded: the same two kinds the store's wake-ups carry. */
export interface WorkSignals {
  /** Deliveries are due: alerts accepted, deliveries requeued. */
  deliveries(): void;
  /** Posted messages fell behind their alert's state (a click), or a Panther write-back job was recorded. */
  messages(): void;
}

/** What the delivering side reads from the bridge's live state (a reload replaces it). */
export interface DeliveryLive {
  config(): Config;
  destinations(): ReadonlyMap<string, Destination>;
  clients(): PlatformClients;
  policies(): ReadonlyMap<string, TriagePolicy>;
  defangOff(): ReadonlySet<string>;
  backoff(): BackoffPolicy;
  secrets(): readonly string[];
}

export interface DeliveryDeps {
  engine: StoreEngine;
  /** The bridge's one per-channel pace: posts and edits spend the same budget, and it outlives reloads. */
  pacer: Pacer;
  live: DeliveryLive;
  logger: Logger;
  metrics: DeliveryMetrics;
  /** The delivery thread's share of a CPU limit (cpu-budget.ts): the worker claims no more work while over it. */
  cpuBudget?: CpuBudget;
}

export interface DeliveryPart {
  readonly worker: DeliveryWorker;
  /** Wakes the loops for new work. */
  readonly wake: WorkSignals;
  /** The delivering side's part of /readyz: the worker, then the token checks. */
  readiness(): { worker: ReadinessCheck; tokens: ReadinessCheck[] };
  start(): void;
  /**
   * Applies a reloaded config (the live getters already answer with it). Settles when the sends in flight with the
   * previous destinations have finished: their platform clients may be closed then.
   */
  reconfigure(next: Config): Promise<void>;
  /** Stops claiming work; records of sends already made are retried for up to `graceMs`. */
  stop(graceMs: number): Promise<void>;
}

/** Builds the delivering side on the live config; nothing runs until {@link DeliveryPart.start}. */
export function createDelivery(deps: DeliveryDeps): DeliveryPart {
  const { engine, pacer, live, logger, metrics, cpuBudget } = deps;
  // The editor exists only after the worker; the worker reaches it through this late-bound hook.
  let messagesStale = () => {};
  const workerSettings = (c: Config) => ({ ...baseWorkerSettings(c), metrics, messagesStale: () => messagesStale() });
  const initial = live.config();
  const worker = new DeliveryWorker(engine, pacer, live.destinations(), workerSettings(initial), logger, live.secrets(), cpuBudget);
  // What the editor and the reminder loop both read: they post and edit into the same channels, on the same pace.
  const chat = {
    store: engine,
    pacer,
    destinations: live.destinations,
    policies: live.policies,
    defangOff: live.defangOff,
    backoff: live.backoff,
    requestTimeoutMs: () => live.config().delivery.requestTimeoutMs,
    secrets: live.secrets,
    logger,
    metrics,
  };
  const editor = new MessageEditor(chat);
  messagesStale = () => editor.notify();
  const writeback = new PantherWriteback({
    store: engine,
    config: () => live.config().panther,
    slack: () => live.clients().slack,
    backoff: live.backoff,
    secrets: live.secrets,
    changed: () => editor.notify(),
    logger,
    metrics,
  });
  const reminders = new ReminderLoop({
    ...chat,
    maxAgeMs: () => live.config().delivery.maxAgeMs,
    pantherStatus: (alertId) => {
      const api = live.config().panther?.api;
      return api ? new PantherApi(api).alertStatus(alertId) : undefined;
    },
    changed: () => editor.notify(),
  });
  const silences = new SilenceWorker({
    store: engine,
    sources: () => live.config().sources,
    backoff: live.backoff,
    secrets: live.secrets,
    changed: () => editor.notify(),
    logger,
    metrics,
  });
  const tokenChecks = (c: Config) => new TokenChecks(live.clients(), c.discord?.token, initial.server.tokenCheckIntervalMs, logger, metrics);
  let tokens = tokenChecks(initial);
  const wake: WorkSignals = {
    deliveries: () => worker.notify(),
    messages: () => {
      editor.notify();
      writeback.notify();
      reminders.notify();
      silences.notify();
    },
  };
  return {
    worker,
    wake,
    readiness: () => ({ worker: { name: 'worker', ok: worker.isRunning }, tokens: tokens.status() }),
    start: () => {
      worker.start();
      editor.start();
      writeback.start();
      reminders.start();
      silences.start();
      tokens.start();
    },
    reconfigure: (next) => {
      const settled = worker.reconfigure(live.destinations(), workerSettings(next), live.secrets());
      tokens.stop();
      tokens = tokenChecks(next);
      tokens.start();
      wake.messages();
      return settled;
    },
    stop: async (graceMs) => {
      tokens.stop();
      await Promise.all([worker.stop(graceMs), editor.stop(graceMs), writeback.stop(graceMs), reminders.stop(graceMs), silences.stop(graceMs)]);
    },
  };
}

function baseWorkerSettings(config: Config) {
  return {
    ...config.delivery,
    digests: digestPolicies(config.routes),
    triage: triagePolicies(config.routes, config.sources),
    mentions: new Map(config.routes.map((r) => [r.name, r.mentions])),
    defangOff: defangOffRoutes(config),
  };
}

/** Names of the routes that keep URLs in alert text live (`defang: false`). */
export function defangOffRoutes(config: Config): ReadonlySet<string> {
  return new Set(config.routes.filter((route) => !route.defang).map((route) => route.name));
}
