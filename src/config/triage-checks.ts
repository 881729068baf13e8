import type { Config } from './schema';

/** A warning at a key path (`['routes', 0, 'to', 1]`). */
export interface PathWarning {
  path: (string | number)[];
  message: string;
}

/**
 * What `check` says about triage buttons and threads that will not show as the route suggests: webhook
 * destinations (link buttons only, no threads), platforms without interactivity configured. Quiet for configs
 * that use neither feature. `explicit(i)` tells whether route i wrote a `triage:` key itself.
 */
export function triageWarnings(config: Config, explicit: (routeIndex: number) => boolean): PathWarning[] {
  const warnings: PathWarning[] = [];
  const slackInteractive = Boolean(config.slack?.signingSecret);
  const discordInteractive = Boolean(config.discord?.publicKey);
  config.routes.forEach((route, i) => {
    const buttons = route.triage !== 'off';
    const cares = buttons && (explicit(i) || slackInteractive || discordInteractive);
    route.to.forEach((name, j) => {
      const type = config.destinations[name]?.type;
      const at = ['routes', i, 'to', j];
      if (cares && type === 'discord-webhook') {
        warnings.push({ path: at, message: `destination "${name}" is a Discord webhook: its messages get link buttons only (triage buttons need a "type: discord" bot destination and discord.publicKey)` });
      } else if (buttons && explicit(i) && type === 'slack' && !slackInteractive) {
        warnings.push({ path: at, message: `destination "${name}" shows no triage buttons until slack.signingSecret is set (interactivity at /slack/events)` });
      } else if (buttons && explicit(i) && type === 'discord' && !discordInteractive) {
        warnings.push({ path: at, message: `destination "${name}" shows no triage buttons until discord.publicKey is set (interactions at /discord/interactions)` });
      }
      if (route.threads !== 'off' && (type === 'discord-webhook' || type === 'console')) {
        warnings.push({ path: at, message: `destination "${name}" (${type}) cannot thread repeats; they are posted as new messages` });
      }
    });
  });
  return warnings;
}

/**
 * What `check` says about silences from chat that will not work as configured: a source API with no platform
 * interactivity to choose a duration (messages then carry a link to the source's form), and credentials sent over
 * plain http to a host other than this machine.
 */
export function silenceWarnings(config: Config): PathWarning[] {
  const warnings: PathWarning[] = [];
  const interactive = Boolean(config.slack?.signingSecret) || Boolean(config.discord?.publicKey);
  for (const name of ['alertmanager', 'grafana'] as const) {
    const source = config.sources[name];
    if (!source?.api || source.silence === 'off') continue;
    if (!interactive) {
      warnings.push({ path: ['sources', name, 'api'], message: `the Silence menu needs slack.signingSecret or discord.publicKey (interactivity); until one is set, ${name} messages carry a link to the source's own silence form instead` });
    }
    const url = new URL(source.api.url);
    if (source.api.auth && url.protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) {
      warnings.push({ path: ['sources', name, 'api', 'url'], message: 'credentials are sent over plain http; use https unless the network between the bridge and the API is trusted' });
    }
  }
  return warnings;
}

