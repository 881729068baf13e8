import type { Logger } from 'pino';
import type { DeliveryMetrics, LoopName } from './metrics';
import { redactSecrets } from './redact';

/** Where a background loop reports its failures. */
export interface LoopErrorSink {
  logger: Logger;
  metrics?: DeliveryMetrics;
  /** The live config's secrets, scrubbed from the error text. */
  secrets(): readonly string[];
}

/**
 * Reports one failure of a background loop (a locked or failing store, an unexpected error): one error log line
 * with the loop's name, the error's code and message (secrets redacted) and when it tries again, and one count in
 * `chatops_loop_errors_total{loop}`. Never throws: it is what runs when something else already did.
 */
export function reportLoopError(sink: LoopErrorSink, loop: LoopName, error: unknown, retryInMs: number, context: Record<string, unknown> = {}): void {
  try {
    sink.metrics?.loopError(loop);
    const e = (error ?? {}) as { code?: unknown; message?: unknown };
    const message = redactSecrets(String(e.message ?? error), sink.secrets());
    sink.logger.error({ loop, ...context, err: { ...(typeof e.code === 'string' ? { code: e.code } : {}), message }, retryInMs }, 'background loop failed; backing off');
  } catch {
    // Logging itself failed (a closed stream at shutdown): nothing more to do.
  }
}
