/**
 * The built-in first-run config and the config-path resolution rule of the CLI contract.
 */
import { interpolate } from './interpolate';
import { configSchema, type Config } from './schema';

/** Config path when none is given on the command line or in CHATOPS_BRIDGE_CONFIG. */
export const DEFAULT_CONFIG_PATH = './chatops-bridge.yaml';

/** Where the built-in config listens while a webhook has no token (and HOST is unset): this machine only. */
export const LOOPBACK = '127.0.0.1';

/**
 * The webhooks of the built-in config and the variable that puts a token on each, in the order they are listed
 * to the user (start-up warnings, `.env.example`, README).
 */
export const BUILTIN_SOURCE_TOKENS = [
  { source: 'panther', path: '/webhooks/panther', variable: 'PANTHER_WEBHOOK_TOKEN', sends: 'the X-Panther-Token header' },
  { source: 'alertmanager', path: '/webhooks/alertmanager', variable: 'AM_WEBHOOK_TOKEN', sends: 'Authorization: Bearer <token>' },
  { source: 'grafana', path: '/webhooks/grafana', variable: 'GRAFANA_WEBHOOK_TOKEN', sends: 'Authorization: Bearer <token>' },
] as const;

/**
 * The config used when no config file exists, so `chatops-bridge serve` works out of the box and shows alerts on
 * stdout: SQLite at ./data/chatops-bridge.db, templates from ./templates, the Panther webhook at /webhooks/panther
 * (authenticated with header X-Panther-Token when env PANTHER_WEBHOOK_TOKEN — or the file PANTHER_WEBHOOK_TOKEN_FILE
 * names — is set, otherwise unauthenticated), the Alertmanager and Grafana webhooks at /webhooks/alertmanager and
 * /webhooks/grafana (bearer AM_WEBHOOK_TOKEN / GRAFANA_WEBHOOK_TOKEN when set), one `console` destination and one route `everything` to it.
 * `server.port` honours env PORT like a file config. `server.host` is env HOST when set; otherwise 0.0.0.0 only when
 * every webhook has a token, else 127.0.0.1: a first trial must not be a webhook anyone on the network can post
 * to. Throws if PORT is not a valid port (the same rule a config file gets) or a *_FILE cannot be read.
 */
export function defaultConfig(env: NodeJS.ProcessEnv): Config {
  const secret = (name: string) => {
    const fromEnv = interpolate(`\${${name}:-}`, env);
    if (fromEnv.errors.length > 0) throw new Error(`invalid built-in config: ${fromEnv.errors.join('; ')}`);
    return fromEnv.value;
  };
  const token = secret('PANTHER_WEBHOOK_TOKEN');
  const amToken = secret('AM_WEBHOOK_TOKEN');
  const grafanaToken = secret('GRAFANA_WEBHOOK_TOKEN');
  const port = env.PORT !== undefined && env.PORT !== '' ? env.PORT : undefined;
  const host = env.HOST ? env.HOST : token && amToken && grafanaToken ? '0.0.0.0' : LOOPBACK;
  const parsed = configSchema.safeParse({
    server: port === undefined ? { host } : { port, host },
    store: { path: './data/chatops-bridge.db' },
    templates: { dir: './templates' },
    sources: {
      panther: {
        path: '/webhooks/panther',
        ...(token ? { auth: { header: 'X-Panther-Token', tokens: [token] } } : {}),
      },
      alertmanager: amToken ? { auth: { bearer: [amToken] } } : {},
      grafana: grafanaToken ? { auth: { bearer: [grafanaToken] } } : {},
    },
    destinations: { console: { type: 'console' } },
    routes: [{ name: 'everything', to: ['console'] }],
  });
  if (!parsed.success) {
    // The only input that can fail is PORT; say so without echoing anything else.
    const why = parsed.error.issues[0]?.message ?? 'is invalid';
    throw new Error(`invalid built-in config: environment variable PORT ${why}`);
  }
  return parsed.data;
}

/**
 * Which config file to use: `cliPath` (from `--config`), else env CHATOPS_BRIDGE_CONFIG, else ./chatops-bridge.yaml.
 * Empty strings count as unset.
 */
export function resolveConfigPath(cliPath: string | undefined, env: NodeJS.ProcessEnv): string {
  if (cliPath) return cliPath;
  if (env.CHATOPS_BRIDGE_CONFIG) return env.CHATOPS_BRIDGE_CONFIG;
  return DEFAULT_CONFIG_PATH;
}
