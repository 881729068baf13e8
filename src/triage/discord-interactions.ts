import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { BridgeMetrics } from '../observability/metrics';
import { discordEscape } from '../templates/escape';
import { isFresh, ReplayCache } from './request-guard';
import { parseSilenceRequest } from './silence';
import type { SilenceService } from './silence-service';
import { parseTriageButtonId } from './state';
import type { TriageClickResult, TriageService } from './triage-service';

export const DISCORD_INTERACTIONS_PATH = '/discord/interactions';

/** Interaction and response types used here (Discord API v10). */
const PING = 1;
const MESSAGE_COMPONENT = 3;
const PONG = 1;
const CHANNEL_MESSAGE = 4;
const DEFERRED_UPDATE_MESSAGE = 6;
const EPHEMERAL = 64;

export interface DiscordInteractionDeps {
  /** Hex Ed25519 public key from the Developer Portal (live config), or undefined when not configured. */
  publicKey(): string | undefined;
  service: TriageService;
  /** Silence-menu choices and Unsilence clicks (label-based sources' messages). */
  silences?: SilenceService;
  logger: Logger;
  metrics?: BridgeMetrics;
}

interface ComponentInteraction {
  id?: string;
  type?: number;
  guild_id?: string;
  channel_id?: string;
  message?: { id?: string };
  data?: { custom_id?: string; values?: unknown[] };
  member?: { roles?: string[]; user?: DiscordUser; nick?: string | null };
  user?: DiscordUser;
}
interface DiscordUser {
  id?: string;
  username?: string;
  global_name?: string | null;
}

/** Ed25519 public key object from the portal's hex form. */
export function discordPublicKey(hex: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(hex, 'hex').toString('base64url') }, format: 'jwk' });
}

/** True when `signatureHex` is a valid Ed25519 signature of `timestamp + body` by `key`. */
export function verifyDiscordSignature(key: KeyObject, timestamp: string, body: Buffer, signatureHex: string): boolean {
  if (!/^[0-9a-fA-F]{128}$/.test(signatureHex)) return false;
  try {
    return verify(null, Buffer.concat([Buffer.from(timestamp, 'utf8'), body]), key, Buffer.from(signatureHex, 'hex'));
  } catch {
    return false;
  }
}

/** An answer only the clicker sees, as plain text: it may name another user (display names are anything typed). */
const ephemeral = (content: string) => ({ type: CHANNEL_MESSAGE, data: { content: discordEscape(content), flags: EPHEMERAL, allowed_mentions: { parse: [] } } });

/**
 * POST /discord/interactions (the app's Interactions Endpoint URL). The raw body is verified against
 * X-Signature-Ed25519 / X-Signature-Timestamp before anything is parsed: Discord deliberately sends bad
 * signatures to test the endpoint and removes it unless they get 401. PING → PONG; a triage click is recorded
 * and answered with a deferred update (type 6) at once — the message editor then edits every copy, this one
 * included, with `allowed_mentions: {parse: []}`.
 */
export function discordInteractionsRouter(deps: DiscordInteractionDeps): Router {
  const router = express.Router();
  const replays = new ReplayCache();
  let key: { hex: string; object: KeyObject } | undefined;
  router.post(DISCORD_INTERACTIONS_PATH, express.raw({ type: () => true, limit: 1_048_576 }), async (req: Request, res: Response) => {
    const hex = deps.publicKey();
    if (!hex) {
      res.status(404).json({ error: 'not_found', message: 'Discord interactions are not configured (discord.publicKey)' });
      return;
    }
    if (key?.hex !== hex) key = { hex, object: discordPublicKey(hex) };
    const signature = req.get('x-signature-ed25519') ?? '';
    const timestamp = req.get('x-signature-timestamp') ?? '';
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!isFresh(timestamp) || !verifyDiscordSignature(key.object, timestamp, body, signature)) {
      deps.metrics?.interaction('discord', '', 'bad_signature');
      deps.logger.info({ platform: 'discord', status: 401 }, 'interaction rejected: bad or stale signature');
      res.status(401).json({ error: 'unauthorized' });
      return;
    }
    if (replays.has(signature.toLowerCase())) {
      deps.metrics?.interaction('discord', '', 'replayed');
      deps.logger.warn({ platform: 'discord', status: 401 }, 'interaction rejected: replayed request');
      res.status(401).json({ error: 'replayed' });
      return;
    }
    replays.remember(signature.toLowerCase());
    let interaction: ComponentInteraction;
    try {
      interaction = JSON.parse(body.toString('utf8')) as ComponentInteraction;
    } catch {
      res.status(400).json({ error: 'invalid_json' });
      return;
    }
    if (interaction.type === PING) {
      res.json({ type: PONG });
      return;
    }
    if (interaction.type !== MESSAGE_COMPONENT) {
      res.json(ephemeral('chatops-bridge only handles its alert buttons.'));
      return;
    }
    const customId = interaction.data?.custom_id;
    const parsed = parseTriageButtonId(customId);
    const silence = parsed || !deps.silences ? null : parseSilenceRequest(customId, interaction.data?.values?.[0]);
    const user = interaction.member?.user ?? interaction.user;
    if ((!parsed && !silence) || !user?.id) {
      // Not one of ours (or no user): acknowledge without changing the message.
      res.json({ type: DEFERRED_UPDATE_MESSAGE });
      return;
    }
    const clicker = {
      actor: { platform: 'discord' as const, id: user.id, name: interaction.member?.nick || user.global_name || user.username || user.id },
      ...(interaction.id ? { interactionId: `discord:${interaction.id}` } : {}),
      discordRoles: interaction.member?.roles ?? [],
    };
    const action = parsed ? parsed.action : silence!.kind;
    const deliveryId = parsed ? parsed.deliveryId : silence!.deliveryId;
    let result: TriageClickResult;
    try {
      if (parsed) result = await deps.service.click({ deliveryId, action: parsed.action, ...clicker });
      else {
        const messageUrl = discordMessageUrl(interaction);
        result = await deps.silences!.click({ request: silence!, ...clicker, ...(messageUrl ? { messageUrl } : {}) });
      }
    } catch (error) {
      // A store that could not record the click (a lock held elsewhere past the click's wait, a full disk) must
      // say so to the clicker; an error answer would only show Discord's generic "This interaction failed".
      deps.metrics?.interaction('discord', action, 'failed');
      deps.logger.error({ platform: 'discord', action, deliveryId, err: { message: (error as Error).message, code: (error as { code?: unknown }).code } }, 'triage click not recorded');
      result = { kind: 'unknown', message: 'chatops-bridge could not record this click (its store is busy or unavailable), so nothing was changed. Please try again.' };
    }
    if (result.kind === 'denied' || result.kind === 'unknown') res.json(ephemeral(result.message));
    else res.json({ type: DEFERRED_UPDATE_MESSAGE });
  });
  return router;
}

/** The clicked message's link (https://discord.com/channels/<guild>/<channel>/<message>), for a silence's comment. */
function discordMessageUrl(interaction: ComponentInteraction): string | undefined {
  const ids = [interaction.guild_id, interaction.channel_id, interaction.message?.id];
  return ids.every((id) => typeof id === 'string' && /^\d{17,20}$/.test(id)) ? `https://discord.com/channels/${ids.join('/')}` : undefined;
}
