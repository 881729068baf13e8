import { existsSync } from 'node:fs';
import type { Config } from '../config/schema';
import { defaultConfig, DEFAULT_CONFIG_PATH, resolveConfigPath } from '../config/defaults';
import { formatProblems, loadConfigFile } from '../config/load';
import type { ConfigProblem } from '../config/problem';

export interface LoadedConfig {
  config: Config;
  /** The file read, or null for the built-in first-run config. */
  file: string | null;
  warnings: ConfigProblem[];
}

/** Thrown for a config that cannot be used; `message` lists every problem, one per line. */
export class ConfigError extends Error {}

/**
 * Resolves and loads the config for a command. With no file at the default path (and none named), `serve` may
 * run on the built-in first-run config; every other case of a missing or bad file is a ConfigError.
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
        ...(config.sources.panther?.auth ? [] : [{ path: '', message: 'PANTHER_WEBHOOK_TOKEN is not set: the webhook accepts unauthenticated requests' }]),
      ],
    };
  }
  const result = loadConfigFile(file, env);
  if (!result.ok) throw new ConfigError(formatProblems(result.problems, file));
  return { config: result.config, file, warnings: result.warnings };
}
