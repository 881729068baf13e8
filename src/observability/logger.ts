import pino, { type Logger } from 'pino';

/**
 * JSON logs on stderr (stdout is reserved for the console destination and CLI output), level from LOG_LEVEL.
 * Header and secret-bearing paths are redacted wherever they appear in a log object.
 */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'chatops-bridge' },
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
    pino.destination({ fd: 2, sync: false }),
  );
}

/** A logger that discards everything (CLI commands that must keep stderr clean, tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
