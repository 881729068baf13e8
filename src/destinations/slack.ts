import { WebClient, type ChatPostMessageResponse } from '@slack/web-api';
import type { Logger } from 'pino';
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
  requestTimeoutMs: number;
}

/**
 * Builds the Web API client that posts alerts: @slack/web-api alone, not a Bolt App around it (Bolt brings its
 * receivers, OAuth, socket-mode with undici, and Express: several MB of heap in the delivery thread, none of it used
 * to send). No call at construction; readiness checks verify the token. Retries are off and 429s are rejected so the
 * outbox owns retry timing per channel (the SDK would otherwise pause the whole client). Its requests go through
 * {@link slackFetch}.
 */
export function createSlackClient(settings: SlackClientSettings, logger: Logger): WebClient {
  return new WebClient(settings.token, {
    ...(settings.apiUrl ? { slackApiUrl: settings.apiUrl } : {}),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: settings.requestTimeoutMs,
    logger: slackLoggerFor(logger),
    // Its calls over node:http rather than Node's fetch: half the CPU of a post (slack-fetch.ts).
    fetch: slackFetch,
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
