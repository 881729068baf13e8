/**
 * Why an alert goes where it goes, per route, in words: the `explain` CLI and the console's routing explainer.
 * Pure; the deliveries are `routeAlert`'s own, so an explanation can never disagree with what `serve` does.
 */
import type { Alert } from '../domain/alert';
import { evaluateRoute, routeAlert, type ConditionResult, type RouteMatchSpec, type RouteSpec, type RouteTarget } from './router';

/** One route's verdict for one alert. */
export interface RouteVerdict {
  route: string;
  /** matched | not matched | not evaluated (an earlier route matched without `continue`) */
  verdict: 'matched' | 'not matched' | 'not evaluated';
  /** Every configured condition with its outcome. */
  conditions: ConditionResult[];
  /** For a route that did not match: its first failing condition in words; not evaluated: which route stopped the walk. */
  reason: string | null;
  to: string[];
  /** Destinations this route delivers to; a destination an earlier route already reached is not delivered twice. */
  delivers: string[];
  continue: boolean;
}

export interface RoutingExplanation {
  routes: RouteVerdict[];
  deliveries: RouteTarget[];
}

const list = (items: readonly string[]) => `[${items.join(', ')}]`;

/** The failing condition `failed` of `match`, said plainly (falls back to the condition's own detail). */
export function failureReason(alert: Alert, match: RouteMatchSpec, failed: ConditionResult): string {
  const tags = new Set(alert.tags.map((t) => t.toLowerCase()));
  const has = (t: string) => tags.has(t.toLowerCase());
  switch (failed.condition) {
    case 'severity':
      return Array.isArray(match.severity)
        ? `severity ${alert.severity} is not in ${list(match.severity)}`
        : `severity ${alert.severity} is below the minimum ${match.severity?.min}`;
    case 'tags.any':
      return `tag missing: none of ${list(match.tags?.any ?? [])} (alert tags: ${list(alert.tags)})`;
    case 'tags.all':
      return `tag missing: ${(match.tags?.all ?? []).filter((t) => !has(t)).join(', ')} (all of ${list(match.tags?.all ?? [])} required)`;
    case 'tags.none':
      return `excluded tag present: ${(match.tags?.none ?? []).filter(has).join(', ')}`;
    case 'type':
      return `type ${alert.type} is not in ${list(match.type ?? [])}`;
    case 'detection':
      return `detection ${alert.detectionId} does not match ${[match.detection ?? []].flat().join(' | ')}`;
    case 'source':
      return `source ${alert.source} is not in ${list([match.source ?? []].flat())}`;
    case 'labels':
      return `labels do not match: ${failed.detail}`;
    default:
      return `${(failed as ConditionResult).condition}: ${(failed as ConditionResult).detail}`;
  }
}

/** Every route in order with its verdict and reason, plus the resulting deliveries (those of `routeAlert`). */
export function explainRoutes(alert: Alert, routes: readonly RouteSpec[]): RoutingExplanation {
  const deliveries = routeAlert(alert, routes);
  const verdicts: RouteVerdict[] = [];
  let stoppedBy: string | null = null;
  for (const route of routes) {
    const conditions = evaluateRoute(alert, route.match);
    const base = { route: route.name, conditions, to: route.to, continue: route.continue ?? false };
    const delivers = deliveries.filter((d) => d.route === route.name).map((d) => d.destination);
    if (stoppedBy !== null) {
      verdicts.push({ ...base, verdict: 'not evaluated', reason: `route "${stoppedBy}" matched first and has no continue: true`, delivers });
      continue;
    }
    const failed = conditions.find((c) => !c.passed);
    if (failed) {
      verdicts.push({ ...base, verdict: 'not matched', reason: failureReason(alert, route.match ?? {}, failed), delivers });
      continue;
    }
    verdicts.push({ ...base, verdict: 'matched', reason: null, delivers });
    if (!route.continue) stoppedBy = route.name;
  }
  return { routes: verdicts, deliveries };
}
