import type { LogLevel, Logger as SlackLogger } from '@slack/web-api';
import type { Logger } from 'pino';
import { redactSecrets } from '../observability/redact';

/**
 * Routes the Slack SDK's own log lines into pino at debug level: the SDK logs every failed call at ERROR to the
 * console, while the worker already records each attempt's outcome as one structured line.
 */
export function slackLoggerFor(logger: Logger): SlackLogger {
  // LogLevel.DEBUG; written as its value so that this module does not load the SDK (a type-only import).
  let level = 'debug' as LogLevel;
  const child = logger.child({ component: 'slack-sdk' });
  // The SDK logs several debug lines per API call: build and scrub them only when someone will read them.
  const write = (args: unknown[]) => {
    if (child.isLevelEnabled('debug')) child.debug(redactSecrets(args.map(String).join(' ')));
  };
  return {
    debug: (...args: unknown[]) => write(args),
    info: (...args: unknown[]) => write(args),
    warn: (...args: unknown[]) => write(args),
    error: (...args: unknown[]) => write(args),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
