import { existsSync } from 'node:fs';
import type { Config } from '../config/schema';
import { BUILTIN_SOURCE_TOKENS, defaultConfig, DEFAULT_CONFIG_PATH, LOOPBACK, resolveConfigPath } from '../config/defaults';
import { formatProblems, loadConfigFile } from '../config/load';
import type { ConfigProblem } from '../config/problem';

export interface LoadedConfig {
  config: Config;
  /** The file read, or null for the built-in first-run config. */
  file: string | null;
  warnings: ConfigProblem[];
}

/** How output names the config when there is no file: what `check` and `doctor` say they checked. */
export const BUILTIN_LABEL = 'built-in default';

/** Thrown for a config that cannot be used; `message` lists every problem, one per line. */
export class ConfigError extends Error {}

/**
 * Resolves and loads the config for a command. With no file at the default path (and none named), a command with
 * `allowBuiltin` runs on the built-in first-run config; every other case of a missing or bad file is a ConfigError.
 */
export function loadForCommand(cliPath: string | undefined, env: NodeJS.ProcessEnv, allowBuiltin: boolean): LoadedConfig {
  const file = resolveConfigPath(cliPath, env);
  const named = Boolean(cliPath || env.CHATOPS_BRIDGE_CONFIG);
  if (allowBuiltin && !named && file === DEFAULT_CONFIG_PATH && !existsSync(file)) {
    const config = defaultConfig(env);
    return {
      config,
      file: null,
      warnings: [
        { path: '', message: `no config file (${DEFAULT_CONFIG_PATH}); using the built-in default: every alert goes to the console destination (stdout), no Slack or Discord destination is configured` },
        ...openWebhookWarnings(config, env),
      ],
    };
  }
  const result = loadConfigFile(file, env);
  if (!result.ok) throw new ConfigError(formatProblems(result.problems, file));
  return { config: result.config, file, warnings: result.warnings };
}

/**
 * What the built-in config leaves open, and how to close or open it: one line per webhook without a token (the
 * variable that adds one), and where `serve` listens because of them (HOST to change it).
 */
function openWebhookWarnings(config: Config, env: NodeJS.ProcessEnv): ConfigProblem[] {
  const open = BUILTIN_SOURCE_TOKENS.filter(({ source }) => !config.sources[source]?.auth);
  const warnings: ConfigProblem[] = open.map(({ path, variable, sends }) => ({
    path: '',
    message: `${path} accepts posts without a token: set ${variable} to require ${sends}`,
  }));
  if (open.length === 0) return warnings;
  const host = config.server.host;
  if (!env.HOST) {
    warnings.push({ path: '', message: `the bridge listens on ${LOOPBACK} only (a local trial) while a webhook has no token: set the variables above, or HOST=0.0.0.0, to accept webhooks from other machines` });
  } else if (host !== LOOPBACK && host !== 'localhost' && host !== '::1') {
    warnings.push({ path: '', message: `HOST=${host}: ${open.map((o) => o.path).join(', ')} accept${open.length === 1 ? 's' : ''} posts from anyone who can reach this port` });
  }
  return warnings;
}
