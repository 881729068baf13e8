import type { Config } from '../config/schema';
import type { Alert } from '../domain/alert';
import { evaluateRoute, routeAlert, type ConditionResult } from '../routing/router';

export interface RouteExplanation {
  route: string;
  /** matched | not matched | not evaluated (an earlier route matched without continue) */
  verdict: 'matched' | 'not matched' | 'not evaluated';
  conditions: ConditionResult[];
  to: string[];
  continue: boolean;
}

/** Why an alert goes where it goes: every route in order, each condition with its outcome, then the targets. */
export function explainRouting(config: Config, alert: Alert): { routes: RouteExplanation[]; deliveries: { route: string; destination: string }[] } {
  const routes: RouteExplanation[] = [];
  let stopped = false;
  for (const route of config.routes) {
    const conditions = evaluateRoute(alert, route.match);
    if (stopped) {
      routes.push({ route: route.name, verdict: 'not evaluated', conditions, to: route.to, continue: route.continue });
      continue;
    }
    const matched = conditions.every((c) => c.passed);
    routes.push({ route: route.name, verdict: matched ? 'matched' : 'not matched', conditions, to: route.to, continue: route.continue });
    if (matched && !route.continue) stopped = true;
  }
  return { routes, deliveries: routeAlert(alert, config.routes).map(({ route, destination }) => ({ route, destination })) };
}
