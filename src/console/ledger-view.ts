/**
 * The console's ledger: recent alerts with every delivery of each (route, destination, status, attempts, last
 * reason, a link to the posted message), read through the same Ledger as `chatops-bridge outbox list`.
 */
import type { LedgerEntry, LedgerFilter } from '../delivery/ledger';
import type { OperatorLedger } from '../delivery/operator-ledger';
import type { DeliveryStatus } from '../delivery/status';
import type { ConsoleAlert } from './api-types';

export type { ConsoleAlert, ConsoleDelivery } from './api-types';

export interface LedgerQuery {
  source?: string;
  severity?: string;
  status?: DeliveryStatus;
  destination?: string;
  text?: string;
  limit?: number;
}

/** Link to a posted message, or null. Slack resolves /archives links to the signed-in workspace. */
export function messageUrl(type: string, ref: Record<string, string> | null, discordGuildId?: string): string | null {
  if (!ref) return null;
  if (type === 'slack' && ref.channel && ref.ts) return `https://slack.com/archives/${encodeURIComponent(ref.channel)}/p${ref.ts.replace('.', '')}`;
  if ((type === 'discord' || type === 'discord-webhook') && discordGuildId && ref.channelId && ref.messageId) {
    return `https://discord.com/channels/${discordGuildId}/${ref.channelId}/${ref.messageId}`;
  }
  return null;
}

/**
 * Alerts matching `query` (an alert matches when one of its deliveries does), newest first, each with all of
 * its deliveries. `typeOf` names a destination's type from the current config.
 */
export async function listAlerts(ledger: OperatorLedger, query: LedgerQuery, typeOf: (destination: string) => string, discordGuildId?: string): Promise<ConsoleAlert[]> {
  const limit = Math.min(200, Math.max(1, query.limit ?? 50));
  const filter: LedgerFilter = {
    ...(query.source ? { source: query.source } : {}),
    ...(query.severity ? { severity: query.severity } : {}),
    ...(query.status ? { status: query.status } : {}),
    ...(query.destination ? { destination: query.destination } : {}),
    ...(query.text ? { text: query.text } : {}),
    // Several deliveries per alert: read enough rows to fill `limit` alerts in the common case.
    limit: limit * 8,
  };
  const rows: number[] = [];
  for (const entry of await ledger.list(filter)) {
    if (!rows.includes(entry.alertRow)) rows.push(entry.alertRow);
    if (rows.length === limit) break;
  }
  return Promise.all(rows.map(async (alertRow) => toAlert(await ledger.list({ alertRow, limit: 1000 }), typeOf, discordGuildId)));
}

function toAlert(entries: LedgerEntry[], typeOf: (destination: string) => string, discordGuildId?: string): ConsoleAlert {
  const first = entries[0]!;
  return {
    alertRow: first.alertRow,
    alertId: first.alertId,
    source: first.source,
    severity: first.severity,
    title: first.title,
    receivedAt: first.receivedAt,
    deliveries: [...entries].reverse().map((e) => {
      const type = typeOf(e.destination);
      return {
        id: e.id,
        route: e.route,
        destination: e.destination,
        type,
        status: e.status,
        attempts: e.attempts,
        rateLimited: e.rateLimited,
        lastReason: e.lastReason,
        messageRef: e.messageRef,
        messageUrl: messageUrl(type, e.messageRef, discordGuildId),
        deliveredAt: e.deliveredAt,
        nextAttemptAt: e.nextAttemptAt,
      };
    }),
  };
}
