import type { Logger } from 'pino';
import type { PlatformClients } from '../destinations/registry';
import { redactSecrets } from './redact';
import { reportLoopError } from './loop-errors';
import type { DeliveryMetrics } from './metrics';
import { networkFailure } from '../destinations/network-error';

export interface TokenCheckResult {
  name: string;
  ok: boolean;
  detail?: string;
  checkedAt?: string;
}

type Check = { name: string; run: () => Promise<{ ok: boolean; detail?: string }> };

/**
 * Verifies the platform tokens now and periodically (Slack `auth.test`, Discord `GET /users/@me`), so a revoked
 * or rotated-away token shows in /readyz before the next alert dies on it. The details never contain a token.
 */
export class TokenChecks {
  private readonly results = new Map<string, TokenCheckResult>();
  private timer: NodeJS.Timeout | undefined;
  private readonly checks: Check[];

  constructor(
    clients: PlatformClients,
    private readonly discordToken: string | undefined,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly metrics?: DeliveryMetrics,
  ) {
    this.checks = [];
    const slack = clients.slack;
    if (slack) {
      this.checks.push({
        name: 'slack_token',
        run: async () => {
          try {
            await slack.auth.test();
            return { ok: true };
          } catch (error) {
            const e = error as { code?: string; data?: { error?: string } };
            return { ok: false, detail: e.code === 'slack_webapi_platform_error' ? `Slack rejected the token: ${e.data?.error}` : `Slack API unreachable (${networkFailure(error) ?? 'no answer'})` };
          }
        },
      });
    }
    const discord = clients.discord;
    if (discord && discordToken) {
      this.checks.push({
        name: 'discord_token',
        run: async () => {
          try {
            discord.setToken(discordToken);
            // Routes.user('@me'), written out: this module is loaded by configs without Discord and must not load discord.js.
            await discord.get('/users/@me');
            return { ok: true };
          } catch (error) {
            const status = (error as { status?: number }).status;
            return { ok: false, detail: status === 401 || status === 403 ? `Discord rejected the token (HTTP ${status})` : `Discord API unreachable (${networkFailure(error) ?? (status ? `HTTP ${status}` : 'no answer')})` };
          }
        },
      });
    }
    // Until the first answer the check is pending, not failed: readiness should not flap at every start.
    for (const check of this.checks) this.results.set(check.name, { name: check.name, ok: true, detail: 'not checked yet' });
  }

  start(): void {
    // A check that throws instead of answering (a bug, a client torn down by a reload) is reported and tried
    // again at the next interval; it must never surface as an unhandled rejection.
    const run = () =>
      void this.runAll().catch((error: unknown) =>
        reportLoopError({ logger: this.logger, ...(this.metrics ? { metrics: this.metrics } : {}), secrets: () => (this.discordToken ? [this.discordToken] : []) }, 'token_checks', error, this.intervalMs),
      );
    run();
    this.timer = setInterval(run, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Runs every check now; resolves when all answered. */
  async runAll(): Promise<void> {
    await Promise.all(
      this.checks.map(async (check) => {
        const result = await check.run();
        const previous = this.results.get(check.name);
        this.results.set(check.name, { name: check.name, ...result, checkedAt: new Date().toISOString() });
        if (previous?.ok !== result.ok || previous.detail === 'not checked yet') {
          const log = result.ok ? this.logger.info.bind(this.logger) : this.logger.error.bind(this.logger);
          log({ check: check.name, ok: result.ok, detail: redactSecrets(result.detail ?? '') }, 'token check');
        }
      }),
    );
  }

  status(): TokenCheckResult[] {
    return [...this.results.values()];
  }
}
