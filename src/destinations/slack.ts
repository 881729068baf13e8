import { App, type Receiver } from '@slack/bolt';
import type { Logger } from 'pino';
import type { ChatPostMessageResponse, WebClient } from '@slack/web-api';
import type { TemplateEngine } from '../templates/engine';
import { classifySlackError } from './slack-errors';
import { slackLoggerFor } from './slack-logger';
import { slackFetch } from './slack-fetch';
import type { MessageRef, PacingPolicy } from '../domain/delivery';
import type { Destination, SendOutcome } from './types';
import { SlackFormatter, type SlackBody, type SlackSettings } from './slack-format';

export interface SlackClientSettings {
  token: string;
  apiUrl?: string;
  botId?: string;
  botUserId?: string;
  requestTimeoutMs: number;
}

/** Bolt wants a receiver; until interactivity is configured the bridge receives nothing from Slack. */
const noReceiver: Receiver = { init: () => undefined, start: async () => undefined, stop: async () => undefined };

/**
 * Builds the Bolt App whose WebClient posts alerts. Token verification at construction is off: Bolt would call
 * auth.test immediately and an unreachable Slack would surface as an unhandled rejection that kills the
 * process; readiness checks verify the token instead. Retries are off and 429s are rejected so the outbox owns
 * retry timing per channel (the SDK would otherwise pause the whole client). Its requests go through
 * {@link slackFetch}.
 */
export function createSlackApp(settings: SlackClientSettings, logger: Logger, receiver: Receiver = noReceiver): App {
  const slackLogger = slackLoggerFor(logger);
  return new App({
    logger: slackLogger,
    token: settings.token,
    receiver,
    tokenVerificationEnabled: false,
    ...(settings.botId ? { botId: settings.botId } : {}),
    ...(settings.botUserId ? { botUserId: settings.botUserId } : {}),
    clientOptions: {
      ...(settings.apiUrl ? { slackApiUrl: settings.apiUrl } : {}),
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: settings.requestTimeoutMs,
      logger: slackLogger,
      // Its calls over node:http rather than Node's fetch: half the CPU of a post (slack-fetch.ts).
      fetch: slackFetch,
    },
  });
}

export { SlackFormatter, type SlackBody } from './slack-format';

/**
 * The call's arguments with every object or array value (blocks, attachments, metadata) already JSON-encoded:
 * the bytes on the wire are the same (the Web API form-encodes such a value as its JSON text, a string as it is),
 * but @slack/web-api then copies and JSON-encodes only a short top level for its debug lines (built on every
 * call whatever the log level) instead of walking and re-encoding the whole Block Kit tree twice more.
 */
export function preEncoded(args: Record<string, unknown>): Record<string, unknown> {
  const encoded: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) encoded[key] = value !== null && typeof value === 'object' && !Buffer.isBuffer(value) ? JSON.stringify(value) : value;
  return encoded;
}

/** A Slack channel reached through chat.postMessage with Block Kit. */
export class SlackDestination extends SlackFormatter implements Destination<SlackBody> {
  readonly pacingKey: string;
  readonly pacing: PacingPolicy;

  constructor(name: string, settings: SlackSettings, private readonly client: WebClient, templates: TemplateEngine, interactive = false) {
    super(name, settings, templates, interactive);
    this.pacingKey = `slack:${settings.channel}`;
    // Slack: "1 message per second to a specific channel"; bursts above it may be silently not displayed.
    this.pacing = settings.pace ?? { limit: 1, windowMs: 1000 };
  }

  async sendDigest(body: SlackBody, existing: MessageRef | null): Promise<SendOutcome> {
    return existing ? this.edit(existing, body) : this.send(body);
  }

  async edit(ref: MessageRef, body: SlackBody): Promise<SendOutcome> {
    try {
      // parse: 'none' on every update: chat.update otherwise re-parses the text with the "client" default.
      // blocks always sent (possibly []): omitted blocks would keep the old ones.
      const { channel: _channel, thread_ts: _thread, unfurl_links: _ul, unfurl_media: _um, ...content } = body as Record<string, unknown>;
      await this.client.apiCall('chat.update', preEncoded({ blocks: [], ...content, channel: ref.channel!, ts: ref.ts!, parse: 'none' }));
      return { kind: 'ok', ref };
    } catch (error) {
      return classifySlackError(error);
    }
  }

  async sendReply(body: SlackBody, parent: MessageRef): Promise<SendOutcome> {
    return this.send({ ...body, thread_ts: parent.ts! } as SlackBody);
  }

  async send(body: SlackBody): Promise<SendOutcome> {
    try {
      const result = (await this.client.apiCall('chat.postMessage', preEncoded(body))) as ChatPostMessageResponse;
      return { kind: 'ok', ref: { channel: String(result.channel ?? this.settings.channel), ts: String(result.ts ?? '') } };
    } catch (error) {
      return classifySlackError(error);
    }
  }
}
