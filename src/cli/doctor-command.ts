import type { Config } from '../config/schema';
import { buildDestinations, closePlatformClients } from '../destinations/registry';
import { parseWebhookUrl } from '../destinations/webhook-url';
import { redactSecrets } from '../observability/redact';
import { PantherApi, PantherApiError } from '../triage/panther-writeback';
import type { SilenceApiConfig } from '../config/schema-silence';
import { SilenceApi, SilenceApiError } from '../triage/silence-api';
import { networkFailure } from '../destinations/network-error';
import { discordFix, slackFix, unreachableFix } from './fix-hints';
import type * as DoctorStoreModule from './doctor-store';
import { discordChannelCheck, type DoctorChannel } from './doctor-discord';
import type { DoctorCheck } from './doctor-check';
import { escalationReach } from '../config/escalate-checks';

const optionalFix = (fix: string | undefined) => (fix ? { fix } : {});

export type { DoctorCheck } from './doctor-check';

/** The PostgreSQL store's checks (node-postgres, the migrations), loaded only for such a store: every command loads this module. */
const doctorStore = (): typeof DoctorStoreModule => require('./doctor-store');

/**
 * Live checks of everything a delivery needs: the PostgreSQL store when `store.url` is set (reachable, migrated,
 * clock; see doctor-store.ts), each platform token (Slack auth.test, Discord GET /users/@me) and
 * each destination (Slack conversations.info, Discord GET /channels/{id} with its type and forum tags, webhook GET),
 * the Panther write-back API and the sources' silence APIs (GET /api/v2/silences), each with a fix hint.
 * Nothing is posted. Secrets never appear in the output.
 */
export async function runDoctor(config: Config): Promise<DoctorCheck[]> {
  const { clients } = buildDestinations(config);
  const secrets = [config.slack?.token, config.discord?.token].filter((s): s is string => !!s);
  const checks: DoctorCheck[] = config.store.engine === 'postgres' ? await doctorStore().storeChecks(config.store.url, config.delivery.leaseMs) : [];
  const slackFailure = (error: unknown) => {
    const e = error as { code?: string; statusCode?: number; data?: { error?: string } };
    if (e.code === 'slack_webapi_platform_error') {
      const code = e.data?.error ?? 'error';
      return { detail: code, ...optionalFix(slackFix(code)) };
    }
    const network = networkFailure(error);
    return network ? { detail: network, fix: unreachableFix('slack') } : { detail: e.statusCode ? `HTTP ${e.statusCode}` : redactSecrets((error as Error).message, secrets), fix: unreachableFix('slack') };
  };
  // Discord (bot REST and webhooks): an HTTP status with its hint, or the network cause in the one shared form.
  const discordFailure = (error: unknown, platform: 'discord' | 'discord-webhook') => {
    const status = (error as { status?: number }).status;
    if (status) return { detail: `HTTP ${status}`, ...optionalFix(discordFix(status, platform)) };
    return { detail: networkFailure(error) ?? redactSecrets((error as Error).message, secrets), fix: unreachableFix(platform) };
  };
  if (clients.slack) {
    try {
      const auth = await clients.slack.auth.test();
      checks.push({ check: 'slack token', ok: true, detail: `team ${auth.team ?? '?'}, bot ${auth.user ?? '?'}` });
    } catch (error) {
      checks.push({ check: 'slack token', ok: false, ...slackFailure(error) });
    }
  }
  if (clients.discord && config.discord?.token) {
    try {
      clients.discord.setToken(config.discord.token);
      const me = (await clients.discord.get('/users/@me')) as { username?: string };
      checks.push({ check: 'discord token', ok: true, detail: `bot ${me.username ?? '?'}` });
    } catch (error) {
      checks.push({ check: 'discord token', ok: false, ...discordFailure(error, 'discord') });
    }
  }
  for (const [name, settings] of Object.entries(config.destinations)) {
    const check = `destination ${name} (${settings.type})`;
    try {
      if (settings.type === 'slack' && clients.slack) {
        const info = await clients.slack.conversations.info({ channel: settings.channel });
        const channel = info.channel as { name?: string; is_member?: boolean; is_archived?: boolean } | undefined;
        if (channel?.is_archived) checks.push({ check, ok: false, detail: 'channel is archived', fix: 'unarchive it or choose another channel' });
        else checks.push({ check, ok: true, detail: `#${channel?.name ?? settings.channel}${channel?.is_member === false ? ' (bot not a member: needs chat:write.public or /invite)' : ''}` });
      } else if (settings.type === 'discord' && clients.discord) {
        // @discordjs/rest forgets its token after a 401 (e.g. the token check above): set it again.
        clients.discord.setToken(config.discord!.token!);
        const channel = (await clients.discord.get(`/channels/${settings.channel}`)) as DoctorChannel;
        checks.push(discordChannelCheck(check, settings.channel, channel, settings.forum));
      } else if (settings.type === 'discord-webhook') {
        const parsed = parseWebhookUrl(settings.url);
        const base = (config.discord?.apiUrl ?? 'https://discord.com/api').replace(/\/+$/, '');
        const res = await fetch(`${base}/v10/webhooks/${parsed!.id}/${parsed!.token}`, { signal: AbortSignal.timeout(config.delivery.requestTimeoutMs) });
        checks.push(res.ok ? { check, ok: true } : { check, ok: false, ...discordFailure({ status: res.status }, 'discord-webhook') });
      } else if (settings.type === 'console') {
        checks.push({ check, ok: true });
      }
    } catch (error) {
      if (settings.type === 'slack') checks.push({ check, ok: false, ...slackFailure(error) });
      else if (settings.type === 'discord' || settings.type === 'discord-webhook') checks.push({ check, ok: false, ...discordFailure(error, settings.type) });
    }
  }
  if (config.panther) checks.push(await pantherCheck(config.panther.api));
  checks.push(...escalationChecks(config));
  for (const source of ['alertmanager', 'grafana'] as const) {
    const api = config.sources[source]?.api;
    if (api) checks.push(await silenceApiCheck(source, api));
  }
  closePlatformClients(clients);
  return checks;
}

/** Per route with `escalate`: where its reminders go, and a failure when they reach no destination at all. */
function escalationChecks(config: Config): DoctorCheck[] {
  return config.routes.flatMap((route): DoctorCheck[] => {
    const reach = escalationReach(config, route);
    if (reach.length === 0) return [];
    const to = (where: 'thread' | 'channel') => reach.filter((r) => r.where === where).map((r) => r.destination);
    const parts = [
      ...(to('thread').length > 0 ? [`reminders in the thread of ${to('thread').join(', ')}`] : []),
      ...(to('channel').length > 0 ? [`reminders in the channel of ${to('channel').join(', ')}`] : []),
      ...reach.filter((r) => r.none).map((r) => `none on ${r.destination} (${r.none})`),
    ];
    const check = `escalation of route ${route.name}`;
    return reach.some((r) => r.where)
      ? [{ check, ok: true, detail: parts.join('; ') }]
      : [{ check, ok: false, detail: parts.join('; '), fix: 'name escalation targets for the platforms of the route\'s destinations under escalate.mentions' }];
  });
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

/** A source's silence API: the list of silences (what a retried create reads too) with the configured credentials. */
async function silenceApiCheck(source: 'alertmanager' | 'grafana', api: SilenceApiConfig): Promise<DoctorCheck> {
  const check = `${source} silence API`;
  const secrets = [api.auth?.bearer, api.auth?.basic?.password, ...Object.values(api.headers ?? {})].filter((v): v is string => !!v);
  try {
    const silences = await new SilenceApi(source, api).list();
    return { check, ok: true, detail: `${silences.length} silences visible` };
  } catch (error) {
    const detail = redactSecrets((error as Error).message, secrets);
    const fix = /^40[13] /.test(detail)
      ? `the credentials are wrong or may not read silences: set sources.${source}.api.auth${source === 'grafana' ? ' (a service account token that may read, create and expire silences)' : ' (the basic auth or proxy credentials Alertmanager expects)'}`
      : error instanceof SilenceApiError && !error.retryable
        ? `check sources.${source}.api.url: ${source === 'grafana' ? "Grafana's root URL (/api/alertmanager/grafana/api/v2 is appended)" : "Alertmanager's base URL (/api/v2 is appended)"}`
        : `the ${source} API is not reachable: check network/proxy and sources.${source}.api.url`;
    return { check, ok: false, detail, fix };
  }
}

