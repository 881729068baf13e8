import { Routes } from 'discord.js';
import type { Config } from '../config/schema';
import { buildDestinations, closePlatformClients } from '../destinations/registry';
import { parseWebhookUrl } from '../destinations/discord-webhook';
import { redactSecrets } from '../observability/redact';
import { PantherApi, PantherApiError } from '../triage/panther-writeback';

export interface DoctorCheck {
  check: string;
  ok: boolean;
  detail?: string;
  /** What to do about a failure. */
  fix?: string;
}

const SLACK_FIXES: Record<string, string> = {
  invalid_auth: 'the bot token is wrong or revoked: reinstall the Slack app and set SLACK_BOT_TOKEN to its xoxb- token',
  account_inactive: 'the app or its bot user was deactivated: reinstall the Slack app',
  token_revoked: 'the token was revoked: reinstall the Slack app and update SLACK_BOT_TOKEN',
  channel_not_found: 'wrong channel id, or a private channel the bot is not in: use the id from the channel details, and /invite the bot',
  missing_scope: 'add the channels:read (and groups:read for private channels) scope, then reinstall',
};

/**
 * Live checks of everything a delivery needs: each platform token (Slack auth.test, Discord GET /users/@me) and
 * each destination (Slack conversations.info, Discord GET /channels/{id}, webhook GET), each with a fix hint.
 * Nothing is posted. Secrets never appear in the output.
 */
export async function runDoctor(config: Config): Promise<DoctorCheck[]> {
  const { clients } = buildDestinations(config);
  const secrets = [config.slack?.token, config.discord?.token].filter((s): s is string => !!s);
  const checks: DoctorCheck[] = [];
  const slackFailure = (error: unknown) => {
    const e = error as { code?: string; data?: { error?: string } };
    const code = e.code === 'slack_webapi_platform_error' ? e.data?.error ?? 'error' : 'unreachable';
    return { detail: code, fix: SLACK_FIXES[code] ?? (code === 'unreachable' ? 'Slack API not reachable: check network/proxy and slack.apiUrl' : undefined) };
  };
  if (clients.slack) {
    try {
      const auth = await clients.slack.client.auth.test();
      checks.push({ check: 'slack token', ok: true, detail: `team ${auth.team ?? '?'}, bot ${auth.user ?? '?'}` });
    } catch (error) {
      checks.push({ check: 'slack token', ok: false, ...slackFailure(error) });
    }
  }
  if (clients.discord && config.discord?.token) {
    try {
      clients.discord.setToken(config.discord.token);
      const me = (await clients.discord.get(Routes.user('@me'))) as { username?: string };
      checks.push({ check: 'discord token', ok: true, detail: `bot ${me.username ?? '?'}` });
    } catch (error) {
      const status = (error as { status?: number }).status;
      checks.push({ check: 'discord token', ok: false, detail: status ? `HTTP ${status}` : 'unreachable', fix: status === 401 ? 'the bot token is wrong or was reset: copy a new one from the Developer Portal (Bot tab) into DISCORD_BOT_TOKEN' : 'Discord API not reachable: check network/proxy and discord.apiUrl' });
    }
  }
  for (const [name, settings] of Object.entries(config.destinations)) {
    const check = `destination ${name} (${settings.type})`;
    try {
      if (settings.type === 'slack' && clients.slack) {
        const info = await clients.slack.client.conversations.info({ channel: settings.channel });
        const channel = info.channel as { name?: string; is_member?: boolean; is_archived?: boolean } | undefined;
        if (channel?.is_archived) checks.push({ check, ok: false, detail: 'channel is archived', fix: 'unarchive it or choose another channel' });
        else checks.push({ check, ok: true, detail: `#${channel?.name ?? settings.channel}${channel?.is_member === false ? ' (bot not a member: needs chat:write.public or /invite)' : ''}` });
      } else if (settings.type === 'discord' && clients.discord) {
        // @discordjs/rest forgets its token after a 401 (e.g. the token check above): set it again.
        clients.discord.setToken(config.discord!.token!);
        const channel = (await clients.discord.get(Routes.channel(settings.channel))) as { name?: string };
        checks.push({ check, ok: true, detail: `#${channel.name ?? settings.channel}` });
      } else if (settings.type === 'discord-webhook') {
        const parsed = parseWebhookUrl(settings.url);
        const base = (config.discord?.apiUrl ?? 'https://discord.com/api').replace(/\/+$/, '');
        const res = await fetch(`${base}/v10/webhooks/${parsed!.id}/${parsed!.token}`, { signal: AbortSignal.timeout(config.delivery.requestTimeoutMs) });
        checks.push(res.ok ? { check, ok: true } : { check, ok: false, detail: `HTTP ${res.status}`, fix: 'the webhook was deleted or its URL is wrong: create a new one (channel settings → Integrations → Webhooks)' });
      } else if (settings.type === 'console') {
        checks.push({ check, ok: true });
      }
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (settings.type === 'slack') checks.push({ check, ok: false, ...slackFailure(error) });
      else checks.push({ check, ok: false, detail: redactSecrets(status ? `HTTP ${status}` : (error as Error).message, secrets), fix:
          status === 401
            ? 'the bot token is wrong or was reset (see the discord token check)'
            : status === 404 || status === 403
              ? 'wrong channel id, or the bot cannot see the channel: invite it and grant View Channel + Send Messages'
              : 'Discord API not reachable: check network/proxy and discord.apiUrl' });
    }
  }
  if (config.panther) checks.push(await pantherCheck(config.panther.api));
  closePlatformClients(clients);
  return checks;
}

/** The write-back's API: the cheapest authenticated query (the user list it also uses to map emails). */
async function pantherCheck(api: { url: string; token: string; timeoutMs: number }): Promise<DoctorCheck> {
  const check = 'panther write-back API';
  try {
    const users = await new PantherApi(api).users();
    return { check, ok: true, detail: `${users.length} Panther users visible` };
  } catch (error) {
    const detail = redactSecrets((error as Error).message, [api.token]);
    const auth = /HTTP 40[13]/.test(detail);
    const fix = auth
      ? 'the API token is wrong or lacks permissions: create one in Panther (Settings → API Tokens) that may read users and manage alerts'
      : error instanceof PantherApiError && !error.retryable
        ? 'check panther.api.url points at your instance\'s /public/graphql endpoint'
        : 'Panther API not reachable: check network/proxy and panther.api.url';
    return { check, ok: false, detail, fix };
  }
}
