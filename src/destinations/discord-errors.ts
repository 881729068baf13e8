import { DiscordAPIError, HTTPError, RateLimitError } from '@discordjs/rest';
import { redactSecrets } from '../observability/redact';
import type { SendOutcome } from './types';
import { networkFailure } from './network-error';

/**
 * Turns an error thrown by @discordjs/rest into a send outcome. The REST client is configured with retries off
 * and `rejectOnRateLimit`, so a 429 (or an exhausted bucket) surfaces here with its wait and the outbox
 * reschedules only that destination. Error URLs carry webhook tokens, so only codes and messages are kept.
 */
export function classifyDiscordError(error: unknown): SendOutcome {
  if (error instanceof RateLimitError) {
    return { kind: 'retryable', reason: 'ratelimited', rateLimited: true, retryAfterMs: Math.max(0, error.retryAfter), ...(error.global ? { globalLimit: true } : {}) };
  }
  if (error instanceof DiscordAPIError) {
    const reason = redactSecrets(`discord_${error.status}_${error.code}: ${error.message}`).slice(0, 500);
    if (error.status === 429) {
      const { retry_after: after, global } = error.rawError as { retry_after?: unknown; global?: unknown };
      return { kind: 'retryable', reason, rateLimited: true, ...(typeof after === 'number' ? { retryAfterMs: Math.ceil(after * 1000) } : {}), ...(global === true ? { globalLimit: true } : {}) };
    }
    if (error.status >= 500) return { kind: 'retryable', reason };
    // 50035 Invalid Form Body, 50006 empty message, 50109 invalid JSON: the content was refused.
    const bodyRejected = error.status === 400 && [50035, 50006, 50109].includes(Number(error.code));
    return { kind: 'permanent', reason, ...(bodyRejected ? { bodyRejected: true } : {}) };
  }
  if (error instanceof HTTPError) {
    const reason = `http_${error.status}`;
    return error.status >= 500 || error.status === 408 ? { kind: 'retryable', reason } : { kind: 'permanent', reason };
  }
  const e = (error ?? {}) as { name?: string; code?: string; message?: string };
  // @discordjs/rest clears its token after a 401 and then throws this before any request is made.
  if (e.message?.includes('Expected token to be set')) return { kind: 'permanent', reason: 'invalid_token' };
  return { kind: 'retryable', reason: networkFailure(error) ?? redactSecrets(`network: ${e.code ?? e.message ?? String(error)}`).slice(0, 300) };
}
