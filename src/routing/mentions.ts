import { severityAtLeast, type Alert, type Severity } from '../domain/alert';

/** Who a route pings, per platform. The only mentions that ever notify anyone. */
export interface MentionConfig {
  minSeverity?: Severity;
  slack?: { here?: boolean; channel?: boolean; groups?: string[]; users?: string[] };
  discord?: { here?: boolean; roles?: string[]; users?: string[] };
}

/** The route's mentions for this alert, or undefined when it has none or the alert is below `minSeverity`. */
export function mentionsFor(alert: Alert, config: MentionConfig | undefined): MentionConfig | undefined {
  if (!config) return undefined;
  if (config.minSeverity && !severityAtLeast(alert.severity, config.minSeverity)) return undefined;
  return config;
}

/** Slack mention markup for the configured targets (ids come from config, never from alert data). */
export function slackMentionMarkup(config: MentionConfig | undefined): string {
  const slack = config?.slack;
  if (!slack) return '';
  return [
    ...(slack.here ? ['<!here>'] : []),
    ...(slack.channel ? ['<!channel>'] : []),
    ...(slack.groups ?? []).map((id) => `<!subteam^${id}>`),
    ...(slack.users ?? []).map((id) => `<@${id}>`),
  ].join(' ');
}

/** Discord mention markup for the configured targets. */
export function discordMentionMarkup(config: MentionConfig | undefined): string {
  const discord = config?.discord;
  if (!discord) return '';
  return [...(discord.here ? ['@here'] : []), ...(discord.roles ?? []).map((id) => `<@&${id}>`), ...(discord.users ?? []).map((id) => `<@${id}>`)].join(' ');
}

/**
 * Discord `allowed_mentions` listing exactly the configured targets: `@here` needs parse ["everyone"] (Discord
 * has no narrower switch; alert text cannot produce it because it is escaped), roles and users by id.
 */
export function discordAllowedMentions(config: MentionConfig | undefined): { parse: string[]; roles?: string[]; users?: string[] } {
  const discord = config?.discord;
  return {
    parse: discord?.here ? ['everyone'] : [],
    ...(discord?.roles?.length ? { roles: discord.roles.slice(0, 100) } : {}),
    ...(discord?.users?.length ? { users: discord.users.slice(0, 100) } : {}),
  };
}
