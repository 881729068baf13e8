import { isSeverity, severityAtLeast, type Alert, type Severity } from '../domain/alert';
import { globToRegExp } from './glob';
import { describeLabelCondition, labelMatches, type LabelCondition } from './label-match';

/** Route conditions as configured (all present conditions must hold; an absent one always holds). */
export interface RouteMatchSpec {
  severity?: { min: Severity } | Severity[];
  tags?: { any?: string[]; all?: string[]; none?: string[] };
  type?: string[];
  detection?: string | string[];
  /** Sources the alert must come from (panther, alertmanager, grafana). */
  source?: string[];
  /** Label conditions (label-based sources; an alert without labels has every label empty). */
  labels?: Record<string, LabelCondition>;
}

/** What a route does with a resolved alert (label-based sources): edit the firing message, post anew, or drop it. */
export type OnResolved = 'update' | 'post' | 'ignore';

export interface RouteSpec {
  name: string;
  match?: RouteMatchSpec;
  to: string[];
  template?: string;
  continue?: boolean;
  onResolved?: OnResolved;
}

/** One (route, destination, template) triple the alert must be delivered to. */
export interface RouteTarget {
  route: string;
  destination: string;
  /** Template chosen by the route, or undefined to use the destination's / the default. */
  template?: string;
  /** The route's `onResolved` (default update); only resolved alerts read it. */
  onResolved?: OnResolved;
}

/** Why one condition of one route did or did not hold, for logs and `explain`. */
export interface ConditionResult {
  condition: 'severity' | 'tags.any' | 'tags.all' | 'tags.none' | 'type' | 'detection' | 'source' | 'labels';
  passed: boolean;
  detail: string;
}

/** Evaluates one route's conditions against an alert; every configured condition is reported. */
export function evaluateRoute(alert: Alert, match: RouteMatchSpec | undefined): ConditionResult[] {
  const results: ConditionResult[] = [];
  if (!match) return results;
  const { severity, tags, type, detection } = match;
  if (severity !== undefined) {
    if (Array.isArray(severity)) {
      results.push({ condition: 'severity', passed: severity.includes(alert.severity), detail: `${alert.severity} in [${severity.join(', ')}]` });
    } else if (isSeverity(severity.min)) {
      results.push({ condition: 'severity', passed: severityAtLeast(alert.severity, severity.min), detail: `${alert.severity} >= ${severity.min}` });
    }
  }
  const alertTags = new Set(alert.tags.map((tag) => tag.toLowerCase()));
  const has = (tag: string) => alertTags.has(tag.toLowerCase());
  if (tags?.any && tags.any.length > 0) {
    results.push({ condition: 'tags.any', passed: tags.any.some(has), detail: `any of [${tags.any.join(', ')}]` });
  }
  if (tags?.all && tags.all.length > 0) {
    results.push({ condition: 'tags.all', passed: tags.all.every(has), detail: `all of [${tags.all.join(', ')}]` });
  }
  if (tags?.none && tags.none.length > 0) {
    results.push({ condition: 'tags.none', passed: !tags.none.some(has), detail: `none of [${tags.none.join(', ')}]` });
  }
  if (type && type.length > 0) {
    results.push({ condition: 'type', passed: type.includes(alert.type), detail: `${alert.type} in [${type.join(', ')}]` });
  }
  if (detection !== undefined) {
    const globs = Array.isArray(detection) ? detection : [detection];
    const passed = globs.some((glob) => globToRegExp(glob).test(alert.detectionId));
    results.push({ condition: 'detection', passed, detail: `${alert.detectionId} against ${globs.join(' | ')}` });
  }
  if (match.source && match.source.length > 0) {
    results.push({ condition: 'source', passed: match.source.includes(alert.source), detail: `${alert.source} in [${match.source.join(', ')}]` });
  }
  if (match.labels) {
    const conditions = Object.entries(match.labels);
    const labels = alert.labels ?? {};
    const failed = conditions.find(([name, condition]) => !labelMatches(Object.hasOwn(labels, name) ? labels[name] : undefined, condition));
    const detail = conditions.map(([name, condition]) => describeLabelCondition(name, condition)).join(', ');
    results.push({ condition: 'labels', passed: failed === undefined, detail: failed ? `${detail} (failed: ${failed[0]})` : detail });
  }
  return results;
}

/**
 * Walks the ordered routes: a route matches when all its conditions hold (no `match` matches everything); the
 * walk stops at the first match unless that route has `continue: true`. A destination reached by two routes is
 * delivered once (the first route wins), so overlapping routes never double-post. Pure.
 */
export function routeAlert(alert: Alert, routes: readonly RouteSpec[]): RouteTarget[] {
  const targets: RouteTarget[] = [];
  const seen = new Set<string>();
  for (const route of routes) {
    const matched = evaluateRoute(alert, route.match).every((result) => result.passed);
    if (!matched) continue;
    for (const destination of route.to) {
      if (seen.has(destination)) continue;
      seen.add(destination);
      targets.push({ route: route.name, destination, ...(route.template ? { template: route.template } : {}), ...(route.onResolved ? { onResolved: route.onResolved } : {}) });
    }
    if (!route.continue) break;
  }
  return targets;
}
