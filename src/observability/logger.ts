import pino, { type DestinationStream, type Logger } from 'pino';
import { boundLogArguments, boundLogObject } from './log-bounds';

/** `json`: one JSON object per line (for log shippers); `pretty`: coloured, human-readable lines (pino-pretty). */
export type LogFormat = 'json' | 'pretty';

/**
 * Which format to log in: LOG_FORMAT when it is `json` or `pretty`, else pretty when stderr is a terminal and JSON
 * otherwise (containers, systemd, CI, pipes). `warning` explains an unusable LOG_FORMAT value.
 */
export function chooseLogFormat(requested: string | undefined, stderrIsTTY: boolean): { format: LogFormat; warning?: string } {
  const wanted = (requested ?? '').trim().toLowerCase();
  if (wanted === 'json' || wanted === 'pretty') return { format: wanted };
  const format = stderrIsTTY ? 'pretty' : 'json';
  if (wanted === '') return { format };
  return { format, warning: `LOG_FORMAT must be json or pretty (or unset); logging ${format}` };
}

type PrettyFactory = (options: Record<string, unknown>) => DestinationStream;

/**
 * pino-pretty when it is installed. It is a devDependency, so production images built with `npm ci --omit=dev` do
 * not have it; they log JSON, which is what a log shipper wants anyway.
 */
function loadPretty(): PrettyFactory | undefined {
  try {
    const mod = require('pino-pretty') as PrettyFactory | { default: PrettyFactory };
    return typeof mod === 'function' ? mod : mod.default;
  } catch {
    return undefined;
  }
}

/**
 * Logs on stderr (stdout is reserved for the console destination and CLI output), level from LOG_LEVEL, format from
 * LOG_FORMAT (see `chooseLogFormat`); without pino-pretty installed, `pretty` falls back to JSON (with one warning
 * line when it was asked for explicitly). Header and secret-bearing paths are redacted wherever they appear in a log
 * object, in either format, and no field of a line carries more than about 1 KB of text (see log-bounds.ts).
 */
export function createLogger(
  level = process.env.LOG_LEVEL ?? 'info',
  requestedFormat = process.env.LOG_FORMAT,
  stderrIsTTY = process.stderr.isTTY === true,
  /**
   * Write each JSON line before the call returns. Off for the main thread (a write per line would hold the loop
   * that answers webhooks); on for the delivery thread, whose last lines before it dies (a crash in it) would
   * otherwise be lost with its buffer.
   */
  syncWrites = false,
): Logger {
  const choice = chooseLogFormat(requestedFormat, stderrIsTTY);
  const pretty = choice.format === 'pretty' ? loadPretty() : undefined;
  const destination = pretty
    ? pretty({
        destination: 2,
        // Synchronous: interactive use is low-volume, and nothing is lost when a command exits right after logging.
        sync: true,
        colorize: stderrIsTTY && !process.env.NO_COLOR,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'service',
        singleLine: true,
      })
    : pino.destination({ fd: 2, sync: syncWrites });
  const logger = pino(
    {
      level,
      base: { service: 'chatops-bridge' },
      // Every string of every line bounded (alert ids, links, error messages come from alert content).
      formatters: { log: boundLogObject },
      hooks: { logMethod: boundLogArguments },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-panther-token"]',
          'headers.authorization',
          '*.token',
          '*.signingSecret',
          '*.url',
          'token',
          'url',
        ],
        censor: '[REDACTED]',
      },
    },
    destination,
  );
  if (choice.warning) logger.warn(choice.warning);
  else if (!pretty && requestedFormat?.trim().toLowerCase() === 'pretty') {
    logger.warn('LOG_FORMAT=pretty needs the pino-pretty package (a devDependency, absent from production installs); logging JSON');
  }
  return logger;
}

/** A logger that discards everything (CLI commands that must keep stderr clean, tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Ends the log stream of a `createLogger` logger before the process exits: resolves once what was logged is
 * written (or the stream failed, or after `timeoutMs`). Exit alone flushes it synchronously, and when stderr is a
 * pipe whose reader has gone (`serve 2>&1 | head`) that flush retries EPIPE forever, so SIGTERM never ended the
 * process. Written asynchronously, the EPIPE is an error event instead, and pino stops writing to that stream.
 */
export function endLogs(logger: Logger, timeoutMs = 2000): Promise<void> {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    | (NodeJS.EventEmitter & { end?: () => void })
    | undefined;
  // (After an earlier EPIPE pino has made `end` a no-op, as it has the exit flush: then only the timeout ends this.)
  if (!stream?.end) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    stream.once('close', done);
    stream.once('error', done);
    stream.end!();
  });
}
