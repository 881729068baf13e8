/**
 * What to do about a failed check or send, shared by `doctor` and `send-test` so both say the same thing about the
 * same failure. Keyed on the failure's own words: Slack's error code, Discord's HTTP status, `network: …`.
 */

const SLACK_FIXES: Record<string, string> = {
  invalid_auth: 'the bot token is wrong or revoked: reinstall the Slack app and set SLACK_BOT_TOKEN to its xoxb- token',
  not_authed: 'no bot token was sent: set SLACK_BOT_TOKEN to the app\'s xoxb- token',
  account_inactive: 'the app or its bot user was deactivated: reinstall the Slack app',
  token_revoked: 'the token was revoked: reinstall the Slack app and update SLACK_BOT_TOKEN',
  channel_not_found: 'wrong channel id, or a private channel the bot is not in: use the id from the channel details, and /invite the bot',
  not_in_channel: 'the bot is not in the channel: /invite it there, or add the chat:write.public scope and reinstall',
  is_archived: 'the channel is archived: unarchive it or choose another channel',
  missing_scope: 'add the missing scope (chat:write to post; channels:read, groups:read for doctor), then reinstall',
};

export type Platform = 'slack' | 'discord' | 'discord-webhook';

const API_SETTING: Record<Platform, string> = { slack: 'slack.apiUrl', discord: 'discord.apiUrl', 'discord-webhook': 'discord.apiUrl' };
const PLATFORM_NAME: Record<Platform, string> = { slack: 'Slack', discord: 'Discord', 'discord-webhook': 'Discord' };

/** The hint for a network failure (`network: ECONNREFUSED …`, a timeout) towards `platform`. */
export function unreachableFix(platform: Platform): string {
  return `${PLATFORM_NAME[platform]} API not reachable: check network/proxy and ${API_SETTING[platform]}`;
}

/** A Slack error code (`invalid_auth`, `channel_not_found` …), or a reason that starts with one. */
export function slackFix(reason: string): string | undefined {
  return SLACK_FIXES[reason.split(':')[0]!.trim()];
}

/** A Discord HTTP status seen on the bot's REST API or a webhook. */
export function discordFix(status: number, platform: 'discord' | 'discord-webhook'): string | undefined {
  if (platform === 'discord-webhook') {
    return status === 401 || status === 403 || status === 404 ? 'the webhook was deleted or its URL is wrong: create a new one (channel settings → Integrations → Webhooks)' : undefined;
  }
  if (status === 401) return 'the bot token is wrong or was reset: copy a new one from the Developer Portal (Bot tab) into DISCORD_BOT_TOKEN';
  if (status === 403 || status === 404) return 'wrong channel id, or the bot cannot see the channel: invite it and grant View Channel + Send Messages';
  return undefined;
}

/** The hint for a `send-test` outcome's reason (see classifySlackError / classifyDiscordError for the forms). */
export function sendFix(platform: Platform | 'console', reason: string): string | undefined {
  if (platform === 'console') return undefined;
  if (reason.startsWith('network:')) return unreachableFix(platform);
  if (reason === 'ratelimited') return 'rate limited by the platform: wait a minute and try again';
  if (platform === 'slack') return slackFix(reason);
  if (reason === 'invalid_token') return discordFix(401, 'discord');
  const status = /^(?:discord|http)_(\d{3})/.exec(reason)?.[1];
  return status ? discordFix(Number(status), platform) : undefined;
}
