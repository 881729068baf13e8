/**
 * The receiving side of `serve` (roles `all` and `receiver`): the webhooks, Slack and Discord clicks, the console
 * and the admin API. It records what arrives in the store and signals the delivering side (in this process, or in
 * others through the store's wake-ups); it sends nothing to a chat itself, apart from a Slack click's answers to
 * the clicking user.
 */
import type { Logger } from 'pino';
import type { Config } from './config/schema';
import type { StoreEngine } from './delivery/store-contract';
import { operatorLedger } from './delivery/operator-ledger';
import { destinationEdits } from './destinations/registry';
import type { AppDeps, LabelSourceSettings } from './http/app';
import { consoleRouter } from './console/router';
import { parseAlertmanagerPayload } from './sources/alertmanager';
import { parseGrafanaPayload } from './sources/grafana';
import type { BridgeMetrics } from './observability/metrics';
import { routeAlert, type RouteTarget } from './routing/router';
import type { TriagePolicy } from './triage/policy';
import { TriageService } from './triage/triage-service';
import { SilenceService } from './triage/silence-service';
import { slackInteractionsHandler } from './triage/slack-interactions';
import { discordInteractionsRouter } from './triage/discord-interactions';
import type { WorkSignals } from './bridge-delivery';

/** The HTTP app's dependencies that only a receiving process has. */
export type IntakeDeps = Omit<AppDeps, 'logger' | 'metrics' | 'metricsToken' | 'readiness'>;

export interface IntakeOptions {
  engine: StoreEngine;
  /** The config at start: webhook paths, body limits and admin on/off need a restart. */
  config: Config;
  live: {
    config(): Config;
    policies(): ReadonlyMap<string, TriagePolicy>;
  };
  /** Tells the delivering side (here or in other processes) that work was recorded. */
  signals: WorkSignals;
  /** Re-applies the running config (the console's "reload"). */
  reload(): void;
  logger: Logger;
  metrics: BridgeMetrics;
}

/** The receiving endpoints, reading the live config on every request where a reload may change the answer. */
export function createIntake(options: IntakeOptions): IntakeDeps {
  const { engine, config, live, signals, logger, metrics } = options;
  const triage = new TriageService({
    store: engine,
    policies: live.policies,
    writeback: () => live.config().panther,
    changed: () => signals.messages(),
    logger,
    metrics,
  });
  const silences = new SilenceService({ store: engine, policies: live.policies, changed: () => signals.messages(), logger, metrics });
  const panther = config.sources.panther;
  const ledger = operatorLedger(engine);
  return {
    ...(panther
      ? {
          panther: {
            path: panther.path,
            bodyLimitBytes: panther.bodyLimitBytes,
            // A getter, so rotated tokens apply on reload without re-registering the route.
            get auth() {
              return live.config().sources.panther?.auth;
            },
          },
        }
      : {}),
    labelSources: labelSources(config, live.config),
    ...(config.admin ? { admin: { get tokens() { return live.config().admin?.tokens ?? []; }, ledger: () => ledger } } : {}),
    console: consoleRouter({ config: live.config, ledger: () => ledger, requeued: () => signals.deliveries(), reload: options.reload, logger }),
    route: (alert) => {
      const current = live.config();
      return withEditFallback(routeAlert(alert, current.routes), (name) => destinationEdits(current, name));
    },
    accept: (items, bytes) => engine.acceptGroup(items, bytes),
    accepted: () => signals.deliveries(),
    storeUnavailable: (error) => ledger.unavailable(error),
    interactions: {
      slack: slackInteractionsHandler({
        settings: () => {
          const current = live.config();
          const slack = current.slack;
          if (!slack) return undefined;
          return { token: slack.token, requestTimeoutMs: current.delivery.requestTimeoutMs, ...(slack.signingSecret ? { signingSecret: slack.signingSecret } : {}), ...(slack.apiUrl ? { apiUrl: slack.apiUrl } : {}) };
        },
        service: triage,
        silences,
        logger,
        metrics,
      }),
      discord: discordInteractionsRouter({ publicKey: () => live.config().discord?.publicKey, service: triage, silences, logger, metrics }),
    },
  };
}

/**
 * `onResolved: update` needs a destination that can edit its messages; one that cannot (console) gets the
 * resolved alert posted instead, so the resolution is never silently lost.
 */
function withEditFallback(targets: RouteTarget[], edits: (destination: string) => boolean): RouteTarget[] {
  return targets.map((t) => (t.onResolved === 'update' && !edits(t.destination) ? { ...t, onResolved: 'post' as const } : t));
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
