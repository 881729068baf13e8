import type { SendOutcome } from './types';
import { networkFailure } from './network-error';

/** Slack errors meaning "this message's content was refused": a simpler message may still get through. */
const BODY_REJECTED_ERRORS = new Set([
  'invalid_blocks',
  'invalid_blocks_format',
  'msg_blocks_too_long',
  'msg_too_long',
  'no_text',
  'invalid_attachments',
  'too_many_attachments',
  'invalid_arguments',
]);

/** Slack `ok:false` errors worth retrying; everything else from the platform is permanent. */
const RETRYABLE_PLATFORM_ERRORS = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'request_timeout',
  'service_unavailable',
  'team_added_to_org',
]);

interface SlackLikeError {
  code?: string;
  message?: string;
  retryAfter?: number;
  statusCode?: number;
  data?: { error?: string; response_metadata?: { messages?: string[] } };
  original?: { code?: string; message?: string; name?: string };
}

/**
 * Turns an error thrown by @slack/web-api into a send outcome. The client is configured with retries off and
 * `rejectRateLimitedCalls`, so every 429 surfaces here once and the outbox decides when to try again.
 */
export function classifySlackError(error: unknown): SendOutcome {
  const e = (error ?? {}) as SlackLikeError;
  switch (e.code) {
    case 'slack_webapi_rate_limited_error':
      return {
        kind: 'retryable',
        reason: 'ratelimited',
        rateLimited: true,
        ...(typeof e.retryAfter === 'number' ? { retryAfterMs: e.retryAfter * 1000 } : {}),
      };
    case 'slack_webapi_platform_error': {
      const code = e.data?.error ?? 'unknown_error';
      const detail = e.data?.response_metadata?.messages?.slice(0, 3).join('; ');
      const reason = detail ? `${code}: ${detail}` : code;
      if (RETRYABLE_PLATFORM_ERRORS.has(code)) {
        return { kind: 'retryable', reason, ...(code.includes('rate') ? { rateLimited: true } : {}) };
      }
      return { kind: 'permanent', reason, ...(BODY_REJECTED_ERRORS.has(code) ? { bodyRejected: true } : {}) };
    }
    case 'slack_webapi_http_error': {
      const status = e.statusCode ?? 0;
      const reason = `http_${status}`;
      return status >= 500 || status === 408 ? { kind: 'retryable', reason } : { kind: 'permanent', reason };
    }
    case 'slack_webapi_request_error': {
      const message = e.original?.message ?? e.message ?? '';
      const rateLimited = /rate limit/i.exec(message);
      if (rateLimited) {
        const after = /retry-after: (\d+)/i.exec(message);
        return { kind: 'retryable', reason: 'ratelimited', rateLimited: true, ...(after ? { retryAfterMs: Number(after[1]) * 1000 } : {}) };
      }
      return { kind: 'retryable', reason: networkFailure(e) ?? 'network: request failed' };
    }
    default:
      return { kind: 'retryable', reason: `unexpected: ${e.message ?? String(error)}`.slice(0, 300) };
  }
}
