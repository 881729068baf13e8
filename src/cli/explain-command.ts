import type { Config } from '../config/schema';
import type { Alert } from '../domain/alert';
import type { ConditionResult } from '../routing/router';
import { explainRoutes } from '../routing/explain';

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
  const explained = explainRoutes(alert, config.routes);
  return {
    routes: explained.routes.map(({ route, verdict, conditions, to, continue: cont }) => ({ route, verdict, conditions, to, continue: cont })),
    deliveries: explained.deliveries.map(({ route, destination }) => ({ route, destination })),
  };
}
