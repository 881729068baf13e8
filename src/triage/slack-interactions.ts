import type { App, ExpressReceiver, BlockAction, ButtonAction, StaticSelectAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import express, { type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { slackLoggerFor } from '../destinations/slack-logger';
import { slackEscape } from '../templates/escape';
import type { BridgeMetrics } from '../observability/metrics';
import { isFresh, ReplayCache } from './request-guard';
import { SLACK_TRIAGE_ACTION_PREFIX } from './render';
import { parseSilenceRequest, type SilenceRequest } from './silence';
import { SLACK_SILENCE_MENU_ACTION, SLACK_UNSILENCE_ACTION } from './silence-render';
import type { SilenceService } from './silence-service';
import { parseTriageButtonId } from './state';
import type { TriageClickResult, TriageService } from './triage-service';

/** What the Slack endpoint reads from the live config on each request (a reload applies at once). */
export interface SlackInteractionSettings {
  signingSecret?: string;
  token: string;
  apiUrl?: string;
  requestTimeoutMs: number;
}

export interface SlackInteractionDeps {
  settings(): SlackInteractionSettings | undefined;
  service: TriageService;
  /** Silence and Unsilence choices (label-based sources' messages). */
  silences?: SilenceService;
  logger: Logger;
  metrics?: BridgeMetrics;
}

export const SLACK_EVENTS_PATH = '/slack/events';

/** @slack/bolt, required on first use (see slackInteractionsHandler). */
const bolt = (): typeof import('@slack/bolt') => require('@slack/bolt');

/**
 * POST /slack/events: Bolt's ExpressReceiver (v0 HMAC over the raw body; it must see the body unparsed, so this
 * is mounted before anything reads it) behind a guard that adds what Bolt lacks — the ±5 minute window in both
 * directions, the `v0=` format, and refusal of a replayed signature. Clicks are acknowledged at once; the
 * work (allow-list, record, edits) happens after the ack, within Slack's 3 seconds or not.
 */
export function slackInteractionsHandler(deps: SlackInteractionDeps): RequestHandler {
  const replays = new ReplayCache();
  // Bolt is loaded with the first signed request, not with this handler: a bridge without Slack interactivity
  // (or without Slack) never loads it. Once made, the receiver (and its route) stays across reloads.
  let receiver: ExpressReceiver | undefined;
  const ensureReceiver = (): ExpressReceiver =>
    (receiver ??= new (bolt().ExpressReceiver)({
      signingSecret: async () => deps.settings()?.signingSecret ?? '',
      endpoints: SLACK_EVENTS_PATH,
      processBeforeResponse: false,
      logger: slackLoggerFor(deps.logger),
      app: express(),
    }));
  let built: { key: string; app: App } | undefined;
  const ensureApp = (settings: SlackInteractionSettings): ExpressReceiver => {
    const current = ensureReceiver();
    // Rebuilt when the token or API URL changes (reload).
    const key = `${settings.token}\u0000${settings.apiUrl ?? ''}`;
    if (built?.key !== key) built = { key, app: buildApp(current, settings, deps) };
    return current;
  };

  return (req, res, next) => {
    const settings = deps.settings();
    if (!settings?.signingSecret) {
      res.status(404).json({ error: 'not_found', message: 'Slack interactivity is not configured (slack.signingSecret)' });
      return;
    }
    const signature = req.get('x-slack-signature') ?? '';
    if (!isFresh(req.get('x-slack-request-timestamp')) || !/^v0=[0-9a-f]{64}$/.test(signature)) {
      deps.metrics?.interaction('slack', '', 'bad_signature');
      deps.logger.info({ platform: 'slack', status: 401 }, 'interaction rejected: stale or malformed signature');
      res.status(401).json({ error: 'unauthorized' });
      return;
    }
    if (replays.has(signature)) {
      deps.metrics?.interaction('slack', '', 'replayed');
      deps.logger.warn({ platform: 'slack', status: 401 }, 'interaction rejected: replayed request');
      res.status(401).json({ error: 'replayed' });
      return;
    }
    res.on('finish', () => {
      if (res.statusCode === 200) replays.remember(signature);
      else if (res.statusCode === 401) deps.metrics?.interaction('slack', '', 'bad_signature');
    });
    // Bolt compares the media type exactly; a charset parameter would turn a valid click into a 400. The
    // signature covers the body only, so normalising the header changes nothing that was signed.
    const type = req.headers['content-type'] ?? '';
    if (/^application\/x-www-form-urlencoded\s*;/i.test(type)) req.headers['content-type'] = 'application/x-www-form-urlencoded';
    ensureApp(settings).app(req, res, next);
  };
}

function buildApp(receiver: ExpressReceiver, settings: SlackInteractionSettings, deps: SlackInteractionDeps): App {
  const app = new (bolt().App)({
    receiver,
    // Our own authorize instead of `token`: Bolt would otherwise call auth.test on every click.
    authorize: async () => ({ botToken: settings.token }),
    logger: slackLoggerFor(deps.logger),
    clientOptions: {
      ...(settings.apiUrl ? { slackApiUrl: settings.apiUrl } : {}),
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: settings.requestTimeoutMs,
    },
  });
  app.action({ type: 'block_actions', action_id: new RegExp(`^${SLACK_TRIAGE_ACTION_PREFIX}`) }, async ({ ack, body, action, client }) => {
    await ack();
    await handleClick(body, action as ButtonAction, client, deps);
  });
  app.action({ type: 'block_actions', action_id: SILENCE_ACTIONS }, async ({ ack, body, action, client }) => {
    await ack();
    await handleSilence(body, action as ButtonAction | StaticSelectAction, client, deps);
  });
  // Link buttons (View in Panther, Runbook, Silence links) send a payload too; Slack wants it acknowledged.
  app.action(new RegExp(`^(?!${SLACK_TRIAGE_ACTION_PREFIX}|(?:${SLACK_SILENCE_MENU_ACTION}|${SLACK_UNSILENCE_ACTION})$)`), async ({ ack }) => {
    await ack();
  });
  app.error(async (error) => {
    deps.logger.warn({ platform: 'slack', err: { message: error.message } }, 'slack interaction failed');
  });
  return app;
}

/** Slack action ids of the silence controls that come back to the bridge (the link's is only acknowledged). */
const SILENCE_ACTIONS = new RegExp(`^(?:${SLACK_SILENCE_MENU_ACTION}|${SLACK_UNSILENCE_ACTION})$`);

async function handleClick(body: BlockAction, action: ButtonAction, client: WebClient, deps: SlackInteractionDeps): Promise<void> {
  const parsed = parseTriageButtonId(action.value);
  if (!parsed) return;
  await answer(body, client, deps, parsed.action, parsed.deliveryId, () =>
    deps.service.click({ deliveryId: parsed.deliveryId, action: parsed.action, ...clicker(body, action, client, deps) }),
  );
}

async function handleSilence(body: BlockAction, action: ButtonAction | StaticSelectAction, client: WebClient, deps: SlackInteractionDeps): Promise<void> {
  const request: SilenceRequest | null = parseSilenceRequest(action.type === 'static_select' ? action.selected_option?.value : action.value);
  if (!request || !deps.silences) return;
  const service = deps.silences;
  await answer(body, client, deps, request.kind, request.deliveryId, () => {
    const messageUrl = slackPermalink(body);
    return service.click({ request, ...clicker(body, action, client, deps), ...(messageUrl ? { messageUrl } : {}) });
  });
}

/**
 * Runs a click's work after the ack and tells the clicker, in an ephemeral message, when nothing changed. The
 * click was acknowledged before it was recorded (Slack wants an answer within 3 s), so a store that could not
 * record it must say so, or the click is silently lost.
 */
async function answer(body: BlockAction, client: WebClient, deps: SlackInteractionDeps, action: string, deliveryId: number, work: () => Promise<TriageClickResult>): Promise<void> {
  let result: TriageClickResult;
  try {
    result = await work();
  } catch (error) {
    deps.metrics?.interaction('slack', action, 'failed');
    deps.logger.error({ platform: 'slack', action, deliveryId, err: { message: (error as Error).message } }, 'triage click not recorded');
    result = { kind: 'unknown', message: 'chatops-bridge could not record this click (its store is busy or unavailable), so nothing was changed. Please try again.' };
  }
  if ((result.kind === 'denied' || result.kind === 'unknown') && body.channel?.id) {
    try {
      // Plain text: the answer may name another user (a Discord display name is anything its user typed).
      await client.chat.postEphemeral({ channel: body.channel.id, user: body.user.id, text: slackEscape(result.message) });
    } catch (error) {
      deps.logger.warn({ platform: 'slack', err: { message: (error as Error).message } }, 'could not send the ephemeral reply');
    }
  }
}

/** Who clicked, from the signed payload, with the user-group check a restricted allow list needs. */
function clicker(body: BlockAction, action: { action_ts: string }, client: WebClient, deps: SlackInteractionDeps) {
  const user = body.user;
  return {
    actor: { platform: 'slack' as const, id: user.id, name: user.username ?? user.name ?? user.id },
    interactionId: `slack:${body.trigger_id ?? ''}:${action.action_ts}:${user.id}`,
    inSlackGroups: async (groups: readonly string[]) => {
      for (const usergroup of groups) {
        try {
          const members = await client.usergroups.users.list({ usergroup });
          if (members.users?.includes(user.id)) return true;
        } catch (error) {
          // Fail closed: a lookup we cannot make must not widen who may act.
          deps.logger.warn({ platform: 'slack', usergroup, err: { message: (error as Error).message } }, 'user group lookup failed');
        }
      }
      return false;
    },
  };
}

/** The clicked message's permalink (https://<workspace>.slack.com/archives/<channel>/p<ts>), when the payload has what it takes. */
function slackPermalink(body: BlockAction): string | undefined {
  const domain = body.team?.domain;
  const channel = body.channel?.id ?? body.container?.channel_id;
  const ts = body.message?.ts ?? body.container?.message_ts;
  if (!domain || !/^[a-z0-9-]+$/i.test(domain) || typeof channel !== 'string' || !/^[A-Z0-9]+$/.test(channel) || typeof ts !== 'string' || !/^\d+\.\d+$/.test(ts)) return undefined;
  return `https://${domain}.slack.com/archives/${channel}/p${ts.replace('.', '')}`;
}
