import { existsSync } from 'node:fs';
import type { Config } from '../config/schema';
import { defaultConfig, DEFAULT_CONFIG_PATH, resolveConfigPath } from '../config/defaults';
import { formatProblems, loadConfigFile, type ConfigProblem } from '../config/load';
import { TemplateEngine } from '../templates/engine';

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
    return {
      config: defaultConfig(env),
      file: null,
      warnings: [
        { path: '', message: `no config file (${DEFAULT_CONFIG_PATH}); using the built-in default: every alert goes to the console destination (stdout), no Slack or Discord destination is configured` },
        ...(env.PANTHER_WEBHOOK_TOKEN ? [] : [{ path: '', message: 'PANTHER_WEBHOOK_TOKEN is not set: the webhook accepts unauthenticated requests' }]),
      ],
    };
  }
  const result = loadConfigFile(file, env);
  if (!result.ok) throw new ConfigError(formatProblems(result.problems, file));
  return { config: result.config, file, warnings: result.warnings };
}

/** Template problems for a config: syntax errors and template names that routes/destinations use but nobody defines. */
export function templateProblems(config: Config): { errors: string[]; warnings: string[] } {
  const engine = new TemplateEngine(config.templates.dir);
  const errors = engine.problems.map((p) => `${p.file}: ${p.message}`);
  const warnings: string[] = [];
  const platformOf = (type: string) => (type === 'slack' ? 'slack' : type === 'console' ? 'console' : 'discord');
  for (const [name, destination] of Object.entries(config.destinations)) {
    const target = platformOf(destination.type);
    const wanted = [destination.template, ...config.routes.filter((r) => r.to.includes(name)).map((r) => r.template)];
    for (const template of wanted) {
      if (template && !engine.has(template, target)) {
        warnings.push(`template "${template}" has no ${target} variant (${config.templates.dir}/${template}.${target}.hbs); destination ${name} will use "default"`);
      }
    }
  }
  return { errors, warnings: [...new Set(warnings)] };
}
