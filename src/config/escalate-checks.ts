import { escalatePolicy, hasTargetsOn, platformOf } from '../escalation/policy';
import type { Config, RouteConfig } from './schema';
import type { PathWarning } from './triage-checks';

/** Whether one destination of a route with `escalate` gets its reminders, and where or why not. */
export interface EscalationReach {
  destination: string;
  /** `thread`: replies in the alert message's thread; `channel`: in the channel (replying to it where it can). */
  where?: 'thread' | 'channel';
  /** Why it gets none. */
  none?: string;
}

/** Where a route's reminders go, destination by destination (for `check` and `doctor`). */
export function escalationReach(config: Config, route: RouteConfig): EscalationReach[] {
  const escalate = escalatePolicy(route);
  if (!escalate) return [];
  return route.to.map((name): EscalationReach => {
    const type = config.destinations[name]?.type;
    const platform = type === undefined ? undefined : platformOf(type);
    if (!platform) return { destination: name, none: `a ${type ?? 'missing'} destination mentions nobody` };
    if (!hasTargetsOn(escalate, platform)) {
      return { destination: name, none: `escalate.mentions names nobody on ${platform === 'slack' ? 'Slack' : 'Discord'} (add escalate.mentions.${platform})` };
    }
    // A forum destination's alerts are posts: their reminders go in the post.
    const forum = (config.destinations[name] as { forum?: unknown } | undefined)?.forum !== undefined;
    return { destination: name, where: forum || (route.threads !== 'off' && type !== 'discord-webhook') ? 'thread' : 'channel' };
  });
}

/**
 * What `check` says about escalations that will not work as the route suggests: destinations that get no reminders
 * (console, or no targets on their platform), alerts that go out in digests (no message to remind of), routes on
 * which nobody can acknowledge from chat (reminders then stop only at the source's resolution or after `times`),
 * and a `repeat` that never applies.
 */
export function escalateWarnings(config: Config): PathWarning[] {
  const warnings: PathWarning[] = [];
  const interactive = { slack: Boolean(config.slack?.signingSecret), discord: Boolean(config.discord?.publicKey) };
  config.routes.forEach((route, i) => {
    const escalate = route.escalate;
    if (!escalate) return;
    const at = ['routes', i, 'escalate'];
    const reach = escalationReach(config, route);
    reach.forEach((r, j) => {
      if (r.none) warnings.push({ path: ['routes', i, 'to', j], message: `destination "${r.destination}" gets no escalation reminders: ${r.none}` });
    });
    if (reach.every((r) => r.none)) warnings.push({ path: at, message: 'no destination of this route gets escalation reminders' });
    if (route.digest !== 'off') {
      warnings.push({ path: at, message: 'alerts that go out in a burst digest have no message of their own and do not escalate: set digest: off on a route that pages' });
    }
    const ackable = route.triage !== 'off' && route.triage.buttons.some((b) => b !== 'assign') && route.to.some((name) => {
      const type = config.destinations[name]?.type;
      return (type === 'slack' && interactive.slack) || (type === 'discord' && interactive.discord);
    });
    if (!ackable) {
      warnings.push({
        path: at,
        message: `nobody can acknowledge these alerts from chat (${route.triage === 'off' ? 'triage: off' : 'no Acknowledge/Resolve button where slack.signingSecret or discord.publicKey is set'}): reminders stop only when the source resolves the alert, or after ${escalate.times}`,
      });
    }
    if (escalate.times === 1 && escalate.repeat !== undefined) warnings.push({ path: [...at, 'repeat'], message: 'has no effect with times: 1 (one reminder only)' });
  });
  return warnings;
}
