import type { Config } from './schema';
import type { PathWarning } from './triage-checks';

/**
 * What `check` says about a route whose Discord mentions reach a destination in the Components V2 layout: the ping
 * still notifies (exactly the configured targets), but Discord's push notification for a ping inside a V2 message
 * shows no text (discord-api-docs#7854, open), so an on-call phone gets an empty notification. A warning, not a
 * problem: a channel read at a desk may want V2 anyway.
 */
export function layoutWarnings(config: Config): PathWarning[] {
  const warnings: PathWarning[] = [];
  config.routes.forEach((route, i) => {
    const discord = route.mentions?.discord;
    if (!discord || !(discord.here || discord.roles?.length || discord.users?.length)) return;
    route.to.forEach((name, j) => {
      const destination = config.destinations[name];
      if ((destination?.type === 'discord' || destination?.type === 'discord-webhook') && destination.layout === 'v2') {
        warnings.push({
          path: ['routes', i, 'to', j],
          message: `destination "${name}" has layout: v2: the route's Discord mentions ping, but phones show the notification without any text (discord-api-docs#7854); keep layout: embed for channels that page`,
        });
      }
    });
  });
  return warnings;
}
