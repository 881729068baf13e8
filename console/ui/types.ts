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

export interface Delivery {
  id: number;
  route: string;
  destination: string;
  type: string;
  status: 'pending' | 'delivered' | 'dead';
  attempts: number;
  rateLimited: number;
  lastReason: string | null;
  messageRef: Record<string, string> | null;
  messageUrl: string | null;
  deliveredAt: string | null;
  nextAttemptAt: string | null;
}

export interface LedgerAlert {
  alertRow: number;
  alertId: string | null;
  source: string;
  severity: string;
  title: string;
  receivedAt: string;
  deliveries: Delivery[];
}

export interface Warning { kind: 'fit' | 'escape' | 'mention' | 'link' | 'template' | 'route'; text: string }

export interface PlatformPreview {
  platform: 'slack' | 'discord';
  destination: string;
  type: string;
  route: string | null;
  body: Record<string, unknown> | null;
  warnings: Warning[];
  problem?: string;
}

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
