import type { Config } from '../config/schema';
import type { Alert } from '../domain/alert';
import type { ConditionResult } from '../routing/router';
import { explainRoutes } from '../routing/explain';

/** A condition's outcome; a failed one also carries the alert's own value it was judged on. */
export type ExplainedCondition = ConditionResult & { alert?: unknown };

export interface RouteExplanation {
  route: string;
  /** matched | not matched | not evaluated (an earlier route matched without continue) */
  verdict: 'matched' | 'not matched' | 'not evaluated';
  conditions: ExplainedCondition[];
  /** Not matched: the first failing condition in words; not evaluated: which route stopped the walk. */
  reason?: string;
  to: string[];
  continue: boolean;
}

/**
 * The alert's value a condition looks at: its severity, tags, type, detection id, source, or (for `labels`) the
 * labels the condition names — so a failure reads "none of [Test]" beside the alert's `["Test", "Production"]`.
 */
function alertValue(alert: Alert, condition: ConditionResult['condition'], config: Config, route: string): unknown {
  switch (condition) {
    case 'severity':
      return alert.severity;
    case 'tags.any':
    case 'tags.all':
    case 'tags.none':
      return alert.tags;
    case 'type':
      return alert.type;
    case 'detection':
      return alert.detectionId;
    case 'source':
      return alert.source;
    case 'labels': {
      const names = Object.keys(config.routes.find((r) => r.name === route)?.match?.labels ?? {});
      return Object.fromEntries(names.map((name) => [name, alert.labels?.[name] ?? null]));
    }
  }
}

/** Why an alert goes where it goes: every route in order, each condition with its outcome, then the targets. */
export function explainRouting(config: Config, alert: Alert): { routes: RouteExplanation[]; deliveries: { route: string; destination: string }[] } {
  const explained = explainRoutes(alert, config.routes);
  return {
    routes: explained.routes.map(({ route, verdict, conditions, reason, to, continue: cont }) => ({
      route,
      verdict,
      conditions: conditions.map((c) => (c.passed || verdict === 'not evaluated' ? c : { ...c, alert: alertValue(alert, c.condition, config, route) })),
      ...(reason !== null ? { reason } : {}),
      to,
      continue: cont,
    })),
    deliveries: explained.deliveries.map(({ route, destination }) => ({ route, destination })),
  };
}
