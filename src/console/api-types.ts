/**
 * Shapes the console API answers with, shared by the server (src/console) and the browser app (console/ui).
 * Dependency-free on purpose: the browser bundle imports it without Node's types.
 */

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

export interface ConsoleDelivery {
  id: number;
  route: string;
  destination: string;
  /** Destination type from the current config ("unknown" for one since removed). */
  type: string;
  status: DeliveryStatus;
  attempts: number;
  rateLimited: number;
  lastReason: string | null;
  messageRef: Record<string, string> | null;
  /** https link to the posted message when one can be built (Slack always; Discord with console.discordGuildId). */
  messageUrl: string | null;
  deliveredAt: string | null;
  nextAttemptAt: string | null;
}

export interface ConsoleAlert {
  alertRow: number;
  alertId: string | null;
  source: string;
  severity: string;
  title: string;
  receivedAt: string;
  deliveries: ConsoleDelivery[];
}

export type Platform = 'slack' | 'discord';

export interface PreviewWarning {
  kind: 'fit' | 'escape' | 'mention' | 'link' | 'template' | 'route';
  text: string;
}

export interface PlatformPreview {
  platform: Platform;
  destination: string;
  type: string;
  route: string | null;
  /** The exact request body `format()` produced; null when the edited template does not compile. */
  body: unknown;
  warnings: PreviewWarning[];
  /** Compile error of the edited template source. */
  problem?: string;
}
