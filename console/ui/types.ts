/** Shapes of the console API's answers (see src/console/*.ts for the server side). */
export interface Identity { name: string; role: 'admin' | 'viewer' }

export interface Meta {
  user: Identity;
  sources: string[];
  severities: string[];
  statuses: string[];
  routes: { name: string; to: string[]; template: string | null }[];
  destinations: { name: string; type: string; template: string | null }[];
  templates: { slack: string[]; discord: string[] };
  samples: { name: string; payloadText: string }[];
}

import type { ConsoleAlert, ConsoleDelivery, PlatformPreview as ServerPreview } from '../../src/console/api-types';

export type { PreviewWarning as Warning } from '../../src/console/api-types';
export type Delivery = ConsoleDelivery;
export type LedgerAlert = ConsoleAlert;
/** A preview as the page draws it: the body is a JSON object (or null when the edited template does not compile). */
export type PlatformPreview = Omit<ServerPreview, 'body'> & { body: Record<string, unknown> | null };

export interface RouteVerdict {
  route: string;
  verdict: 'matched' | 'not matched' | 'not evaluated';
  reason: string | null;
  to: string[];
  delivers: string[];
  conditions: { condition: string; passed: boolean; detail: string }[];
}

export interface PreviewAnswer {
  ok: true;
  alert: { title: string; severity: string; source: string };
  explain: { routes: RouteVerdict[]; deliveries: { route: string; destination: string }[] };
  previews: PlatformPreview[];
  notes: string[];
}
