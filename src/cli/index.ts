import { Command, Option } from 'commander';
import { formatProblems } from '../config/load';
import { configJsonSchema } from '../config/json-schema';
import { startBridge } from '../bridge';
import { SERVE_ROLES, type ServeRole } from '../config/serve-role';
import { createLogger, endLogs } from '../observability/logger';
import { BUILTIN_LABEL, ConfigError, loadForCommand, type LoadedConfig } from './load';
import { DEFAULT_CONFIG_PATH } from '../config/defaults';
import { templateProblems } from '../rendering/template-check';
import { addOutboxCommands } from './outbox-command';
import { addMigrateCommand } from './migrate-command';
import { renderPayloadFile } from './render-command';
import { explainRouting } from './explain-command';
import { sendTest } from './send-test-command';
import { runDoctor } from './doctor-command';
import { parseAnyPayload } from '../sources/detect';
import { readPayloadFile } from './payload-file';
import { formatDoctorText, formatSendTestText, wantsJson } from './human-output';
import { packageVersion } from './package-info';
import type { EnvFileRead } from './env-file';
import type { Config } from '../config/schema';

/** Exit codes: 0 success, 1 problems found (bad config, invalid payload, failed start), 2 usage error. */
export const EXIT = { ok: 0, problems: 1, usage: 2 } as const;

const configOption = () =>
  new Option('-c, --config <file>', 'config file (default: $CHATOPS_BRIDGE_CONFIG or ./chatops-bridge.yaml)');

/** `1 route`, `2 routes`. */
const counted = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(EXIT.problems);
}

/** Loads the config or exits 1 printing every problem. */
function loadOrExit(cliPath: string | undefined, allowBuiltin: boolean, heading = ''): LoadedConfig {
  try {
    return loadForCommand(cliPath, process.env, allowBuiltin);
  } catch (error) {
    if (error instanceof ConfigError) fail(`${heading}${error.message}`);
    throw error;
  }
}

async function serve(options: { config?: string; standby?: boolean; role?: ServeRole }, envFile: EnvFileRead | null): Promise<void> {
  const logger = createLogger();
  // Names only: which settings came from the file, and which the environment overrode.
  if (envFile) logger.info({ file: envFile.file, set: envFile.set, keptFromEnvironment: envFile.kept }, `read ${envFile.file}`);
  const loaded = loadOrExit(options.config, true, 'config has problems:\n');
  // Where only when there is one: the built-in config's warnings are about no key of any file.
  for (const { path, line, message } of loaded.warnings) logger.warn({ ...(path ? { path } : {}), ...(line !== undefined ? { line } : {}) }, message);
  const bridge = await startBridge(loaded.config, logger, undefined, { standby: options.standby === true, onOwnershipLost: () => exitAfterLogs(EXIT.problems), ...(options.role ? { role: options.role } : {}) }).catch((error: Error) => fail(`cannot start: ${error.message}`));
  const reportTemplateProblems = (config: typeof loaded.config) => {
    const found = templateProblems(config);
    for (const message of [...found.errors, ...found.warnings]) logger.warn({ component: 'templates' }, message);
  };
  let signalled = false;
  let running = loaded.config;
  const shutdown = (signal: string) => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, 'stopping: no new webhooks, finishing in-flight deliveries');
    // Every step of the stop is bounded except the store's own answers: a PostgreSQL that stops answering without a
    // reset (a network partition) held the stop for ever, a second signal changing nothing. Past the stop's whole
    // budget the process exits anyway: what it leased runs out and is sent by another replica or the next start,
    // as after a kill.
    const budgetMs = stopBudgetMs(running);
    setTimeout(() => {
      logger.error({ signal, budgetMs }, 'stop did not finish within its budget (the store does not answer): exiting without closing it');
      exitAfterLogs(EXIT.problems);
    }, budgetMs).unref();
    // A failing stop (the store's final close refused) must still end the process, with the reason logged.
    bridge.stop().then(
      () => exitAfterLogs(EXIT.ok),
      (error: Error) => {
        logger.error({ err: { message: error.message } }, 'stopped with an error');
        exitAfterLogs(EXIT.problems);
      },
    );
  };
  // The log is ended first: exiting with lines unwritten on a stderr whose reader is gone hung (see endLogs).
  const exitAfterLogs = (code: number) => {
    void endLogs(logger).then(() => process.exit(code));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  // SIGHUP: re-read config and templates; a broken new version is rejected and the running one stays.
  process.on('SIGHUP', () => {
    try {
      const next = loadForCommand(options.config, process.env, true);
      // Compile errors reject the reload (inside reload()); a template failing on a sample alert only warns, as at
      // start-up: it falls back to the built-in message at runtime, visibly, and never loses an alert.
      const needRestart = bridge.reload(next.config);
      running = next.config;
      reportTemplateProblems(next.config);
      logger.info({ file: next.file, ...(needRestart.length > 0 ? { needRestart } : {}) }, needRestart.length > 0 ? 'config reloaded; some settings need a restart' : 'config reloaded');
    } catch (error) {
      logger.error({ err: { message: (error as Error).message } }, 'config reload rejected; keeping the running config');
    }
  });
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Only now: whoever waits for this line may signal at once, and before the handlers a SIGTERM or SIGHUP met
  // Node's default action and ended the process without a stop (seen in first-run.test.ts and
  // delivery-thread.test.ts on a loaded machine). The template check's sample renders take a while, so after it.
  bridge.announce();
  reportTemplateProblems(loaded.config);
}

function check(options: { config?: string }): void {
  const loaded = loadOrExit(options.config, true);
  const file = loaded.file ?? BUILTIN_LABEL;
  const templates = templateProblems(loaded.config);
  const warnings = [formatProblems(loaded.warnings, file, 'warning'), ...templates.warnings.map((w) => `${file} warning: ${w}`)].filter(Boolean);
  if (warnings.length > 0) process.stderr.write(`${warnings.join('\n')}\n`);
  if (templates.errors.length > 0) fail(templates.errors.join('\n'));
  const { destinations, routes } = loaded.config;
  process.stdout.write(`${file}: OK (${counted(Object.keys(destinations).length, 'destination')}, ${counted(routes.length, 'route')})\n`);
}

function render(options: { config?: string; alert: string; destination?: string; template?: string }): void {
  const loaded = loadOrExit(options.config, true);
  const outcome = renderPayloadFile(loaded.config, options.alert, options.destination, options.template);
  if (!outcome.ok && 'unreadable' in outcome) fail(outcome.unreadable);
  if (!outcome.ok) {
    process.stdout.write(`${JSON.stringify({ error: outcome.error, issues: outcome.issues }, null, 2)}\n`);
    process.exit(EXIT.problems);
  }
  process.stdout.write(`${JSON.stringify(outcome.deliveries, null, 2)}\n`);
}

/**
 * How long a `serve` stop may take before the process exits without finishing it: the HTTP connections get
 * `server.shutdownTimeoutMs`, the sends in flight their `delivery.requestTimeoutMs`, the records of sends made are
 * retried for `server.shutdownTimeoutMs` more, and 5 s to close the store. Only a store that does not answer at all
 * takes longer.
 */
export function stopBudgetMs(config: Pick<Config, 'server' | 'delivery'>): number {
  return 2 * config.server.shutdownTimeoutMs + config.delivery.requestTimeoutMs + 5000;
}

/** The `chatops-bridge` command line; `envFile` is what main read from ./.env before it (serve logs it). */
export function buildCli(envFile: EnvFileRead | null = null): Command {
  const program = new Command('chatops-bridge')
    .description('Security alerts from Panther, Prometheus Alertmanager and Grafana to Slack and Discord: durable, routed, safe by default.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride((error) => process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage));
  program
    .command('serve')
    .description('run the webhook server and the delivery worker (on SQLite one per store: a second one refuses, naming the first)')
    .addOption(configOption())
    .option('--standby', 'if another serve holds the store, wait and take over when it stops (nothing listens until then)')
    .addOption(
      new Option('--role <role>', 'all: receive and deliver; on PostgreSQL also receiver (webhooks, clicks, console, admin; delivers nothing) or worker (delivers; serves only /healthz, /readyz, /metrics). Default: server.role, else all')
        .choices(SERVE_ROLES),
    )
    .action((options: { config?: string; standby?: boolean; role?: ServeRole }) => serve(options, envFile));
  program.command('check').description('validate the config and templates; exit 1 listing every problem').addOption(configOption()).action(check);
  program
    .command('render')
    .description('print, as JSON, exactly what would be sent to each destination the alert routes to')
    .addOption(configOption())
    .requiredOption('-a, --alert <payload.json>', 'a Panther, Alertmanager or Grafana webhook payload')
    .option('-d, --destination <id>', 'only this destination')
    .option('-t, --template <dir|name>', 'preview a templates directory, or force one template by name')
    .action(render);
  program
    .command('explain')
    .description('which routes an alert matches, and why each other route does not (per condition)')
    .addOption(configOption())
    .requiredOption('-a, --alert <payload.json>', 'a Panther, Alertmanager or Grafana webhook payload')
    .action((options: { config?: string; alert: string }) => {
      const loaded = loadOrExit(options.config, true);
      const file = readPayloadFile(options.alert);
      if (!file.ok && file.kind === 'unreadable') fail(file.message);
      const parsed = file.ok ? parseAnyPayload(file.body, loaded.config) : { ok: false as const, issues: [{ path: '(body)', message: file.message }] };
      if (!parsed.ok) {
        process.stdout.write(`${JSON.stringify({ error: 'invalid_payload', issues: parsed.issues }, null, 2)}\n`);
        process.exit(EXIT.problems);
      }
      // Panther: one alert, one explanation; Alertmanager/Grafana: one per alert of the group.
      const explained = parsed.source === 'panther'
        ? explainRouting(loaded.config, parsed.alerts[0]!)
        : parsed.alerts.map((alert) => ({ fingerprint: alert.fingerprint, status: alert.status, title: alert.title, ...explainRouting(loaded.config, alert) }));
      process.stdout.write(`${JSON.stringify(explained, null, 2)}\n`);
    });
  program
    .command('send-test')
    .description("send Panther's test alert through each destination now and report each outcome")
    .addOption(configOption())
    .option('-d, --destination <id>', 'only this destination')
    .option('--json', 'print JSON (the default when stdout is not a terminal)')
    .action(async (options: { config?: string; destination?: string; json?: boolean }) => {
      const loaded = loadOrExit(options.config, true);
      const results = await sendTest(loaded.config, options.destination);
      process.stdout.write(wantsJson(options.json, process.stdout.isTTY) ? `${JSON.stringify(results, null, 2)}\n` : formatSendTestText(results));
      process.exit(results.every((r) => r.outcome === 'delivered') ? EXIT.ok : EXIT.problems);
    });
  program
    .command('doctor')
    .description('live checks of every token and destination, with a fix hint for each failure')
    .addOption(configOption())
    .option('--json', 'print JSON (the default when stdout is not a terminal)')
    .action(async (options: { config?: string; json?: boolean }) => {
      const loaded = loadOrExit(options.config, true);
      const templates = templateProblems(loaded.config);
      const checks = [
        { check: 'config', ok: true, detail: loaded.file ?? `${BUILTIN_LABEL} (no ${DEFAULT_CONFIG_PATH})` },
        { check: 'templates', ok: templates.errors.length === 0, ...(templates.errors.length > 0 ? { detail: templates.errors.join('; ') } : {}) },
        ...(await runDoctor(loaded.config)),
      ];
      process.stdout.write(wantsJson(options.json, process.stdout.isTTY) ? `${JSON.stringify(checks, null, 2)}\n` : formatDoctorText(checks));
      process.exit(checks.every((c) => c.ok) ? EXIT.ok : EXIT.problems);
    });
  program
    .command('schema')
    .description('print the JSON Schema of the config file (for editor completion and validation)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    });
  addOutboxCommands(program, (configFile) => loadOrExit(configFile, true).config.store, fail);
  addMigrateCommand(program, (configFile) => loadOrExit(configFile, true).config.store, fail);
  return program;
}
