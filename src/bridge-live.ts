/**
 * What a running bridge derives from its config and a reload replaces: templates, platform clients, destinations,
 * triage policies. Shared by the main thread and the delivery thread, each of which holds its own.
 */
import type { Logger } from 'pino';
import type { Config } from './config/schema';
import { buildDestinations, closePlatformClients, type PlatformClients } from './destinations/registry';
import type { Destination } from './destinations/types';
import { TemplateEngine } from './templates/engine';
import { formatTemplateProblem } from './templates/locate';
import { triagePolicies, type TriagePolicy } from './triage/policy';
import { defangOffRoutes, type DeliveryLive } from './bridge-delivery';
import { pgPassword } from './delivery/postgres/pool';
import { recordingFiles, replayedFiles, type TemplateFilesSnapshot } from './templates/template-files';

interface Snapshot {
  config: Config;
  templates: TemplateEngine;
  policies: ReadonlyMap<string, TriagePolicy>;
  defangOff: ReadonlySet<string>;
  destinations: ReadonlyMap<string, Destination>;
  clients: PlatformClients;
  /** The template files the templates were compiled from (what a delivery thread must compile too). */
  templateFiles: TemplateFilesSnapshot;
}

/**
 * Builds a snapshot; throws (with every client it made closed) when the templates do not compile. Without
 * `delivers`, no destination or platform client is built (and no SDK loaded): the templates are compiled to be
 * checked, as a receiver whose deliveries run elsewhere needs. `templateFiles`: compile these (as another thread
 * read and accepted them) instead of reading the template directory again.
 */
function build(config: Config, logger: Logger, delivers: boolean, templateFiles?: TemplateFilesSnapshot): Snapshot {
  const files = templateFiles ? replayedFiles(templateFiles) : recordingFiles();
  const built = delivers
    ? buildDestinations(config, logger, files)
    : { templates: new TemplateEngine(config.templates.dir, undefined, files), destinations: new Map<string, Destination>(), clients: { webhooks: new Map() } };
  if (built.templates.problems.length > 0) {
    closePlatformClients(built.clients);
    throw new Error(`template errors: ${built.templates.problems.map(formatTemplateProblem).join('; ')}`);
  }
  // Route triage policies are derived once per config: clicks and edits read them on every request.
  return {
    config,
    templates: built.templates,
    policies: triagePolicies(config.routes, config.sources),
    defangOff: defangOffRoutes(config),
    destinations: built.destinations,
    clients: built.clients,
    templateFiles: templateFiles ?? (files as ReturnType<typeof recordingFiles>).snapshot(),
  };
}

/**
 * The live config-derived state. Everything that reads it goes through the getters (plain functions, safe to pass
 * around), so a reload reaches every reader at once.
 */
export class BridgeLive implements DeliveryLive {
  private current: Snapshot;

  /**
   * Throws when the config's templates do not compile. `delivers` false: no destinations and no platform clients
   * (their getters answer empty), for a process whose deliveries run in another thread or process.
   * `templateFiles`: the template files another thread accepted ({@link templateFiles}), compiled instead of the disk's.
   */
  constructor(
    config: Config,
    private readonly logger: Logger,
    private readonly delivers = true,
    templateFiles?: TemplateFilesSnapshot,
  ) {
    this.current = build(config, logger, delivers, templateFiles);
  }

  readonly config = (): Config => this.current.config;
  readonly templates = (): TemplateEngine => this.current.templates;
  readonly destinations = (): ReadonlyMap<string, Destination> => this.current.destinations;
  readonly clients = (): PlatformClients => this.current.clients;
  readonly policies = (): ReadonlyMap<string, TriagePolicy> => this.current.policies;
  readonly defangOff = (): ReadonlySet<string> => this.current.defangOff;
  readonly backoff = () => this.current.config.delivery.backoff;
  readonly secrets = (): readonly string[] => configSecrets(this.current.config);
  /**
   * The template files the running templates were compiled from: a delivery thread (re)started or reloaded later
   * compiles these, not what the directory holds by then (a file edited since, or a reload rejected, would make it
   * fail to start, again and again, while the main thread runs on).
   */
  readonly templateFiles = (): TemplateFilesSnapshot => this.current.templateFiles;

  /**
   * Switches to `next` (compiling `templateFiles` when given, as the constructor); throws, leaving the running state
   * in place, when its templates do not compile. Returns the
   * replaced platform clients: close them ({@link closePlatformClients}) once the sends in flight with them are done.
   */
  replace(next: Config, templateFiles?: TemplateFilesSnapshot): PlatformClients {
    const built = build(next, this.logger, this.delivers, templateFiles);
    const replaced = this.current.clients;
    this.current = built;
    return replaced;
  }

  /** Closes the current clients (at stop). */
  close(): void {
    closePlatformClients(this.current.clients);
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

/** Bearer tokens and basic-auth passwords of the label-based sources, and the credentials of their silence APIs. */
function labelSourceSecrets(config: Config): string[] {
  return [config.sources.alertmanager, config.sources.grafana].flatMap((source) => [
    ...(source?.auth?.bearer ?? []),
    ...(source?.auth?.basic ?? []).map((c) => c.password),
    source?.api?.auth?.bearer,
    source?.api?.auth?.basic?.password,
    // Extra headers carry tenants and proxy credentials alike: every value is treated as a secret.
    ...Object.values(source?.api?.headers ?? {}),
  ]).filter((s): s is string => typeof s === 'string');
}
