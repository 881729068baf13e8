/**
 * The rendering service: what `serve` would send for an alert, for the fronts that show it without sending it
 * (`render` on the command line, the console's playground). Below both fronts, so they share one path and
 * neither imports the other.
 */
import type { Config } from '../config/schema';
import { createFormatters } from '../destinations/registry';
import { deliveryKey } from '../domain/delivery';
import { triageContext, triagePolicies } from '../triage/policy';
import { OPEN_VIEW } from '../triage/state';
import { routeAlert, type RouteTarget } from '../routing/router';
import { mentionsFor } from '../routing/mentions';
import type { PayloadIssue } from '../sources/panther';
import { parseAnyPayload } from '../sources/detect';
import type { Alert } from '../domain/alert';
import type { Formatter } from '../destinations/types';
import type { EscapeTrace } from '../templates/escape-report';
import { TemplateEngine } from '../templates/engine';
import { RENDER_TARGETS } from '../templates/render-target';
import { escalates } from '../escalation/policy';

export interface RenderedDelivery {
  route: string | null;
  destination: string;
  type: string;
  /** The alert's fingerprint (Alertmanager/Grafana: one payload renders each of its alerts). */
  fingerprint?: string;
  /** Exactly the body `serve` would send (Slack chat.postMessage arguments; Discord message body). */
  body: unknown;
  warnings: string[];
}

export type RenderOutcome = { ok: true; deliveries: RenderedDelivery[] } | { ok: false; error: 'invalid_payload' | 'unknown_template'; issues: PayloadIssue[] };

/**
 * What `serve` would send for a parsed webhook body: validates it with the same schema, routes it, and formats it
 * for every destination it routes to (or only `onlyDestination`, rendered even when no route selects it).
 * `templateName` forces that template for every destination; a name no platform has a template for is refused
 * (a preview of the default under a mistyped name would look like a preview of the template).
 */
export function renderPayload(config: Config, body: unknown, onlyDestination?: string, templateName?: string): RenderOutcome {
  const parsed = parseAnyPayload(body, config);
  if (!parsed.ok) return { ok: false, error: 'invalid_payload', issues: parsed.issues };
  const templates = new TemplateEngine(config.templates.dir);
  if (templateName !== undefined && !RENDER_TARGETS.some((target) => templates.has(templateName, target))) {
    const known = [...new Set(RENDER_TARGETS.flatMap((target) => templates.names(target)))].sort();
    const where = config.templates.dir ? ` in ${config.templates.dir} or the shipped templates` : ' in the shipped templates';
    return { ok: false, error: 'unknown_template', issues: [{ path: '--template', message: `no template "${templateName}"${where}${templateName.includes('/') ? ', and no such directory' : ''} (known: ${known.join(', ')})` }] };
  }
  // Formatters only: rendering sends nothing, so it needs no platform client.
  const formatters = createFormatters(config, templates);
  const deliveries: RenderedDelivery[] = [];
  // An Alertmanager/Grafana group renders each of its alerts (each is one message, as `serve` posts them).
  for (const alert of parsed.alerts) deliveries.push(...renderAlert(config, alert, formatters, onlyDestination, templateName));
  return { ok: true, deliveries };
}

function renderAlert(
  config: Config,
  alert: Alert,
  destinations: ReadonlyMap<string, Formatter>,
  onlyDestination: string | undefined,
  templateName: string | undefined,
): RenderedDelivery[] {
  let targets: RenderTargetSpec[] = routeAlert(alert, config.routes);
  if (onlyDestination !== undefined) {
    const routed = targets.filter((t) => t.destination === onlyDestination);
    targets = routed.length > 0 ? routed : [{ route: null, destination: onlyDestination }];
  }
  const deliveries: RenderedDelivery[] = [];
  for (const target of targets) {
    const destination = destinations.get(target.destination);
    if (!destination) throw new Error(`unknown destination "${target.destination}" (configured: ${[...destinations.keys()].join(', ')})`);
    deliveries.push(renderForTarget(config, alert, destination, target, templateName ? { templateName } : {}));
  }
  return deliveries;
}

/** A (route, destination) to render for; route null = no route selects it (rendered as if one did, without mentions). */
export type RenderTargetSpec = RouteTarget | { route: null; destination: string; template?: string };

/**
 * Formats `alert` for one destination exactly as `serve`'s first post would (the route's mentions, template and
 * triage buttons, the real `format()`): the one path shared by `render` and the web console's preview.
 * `deliveryId` is the outbox delivery the worker would format (0 when there is none, as for `render`).
 */
export function renderForTarget(
  config: Config,
  alert: Alert,
  destination: Formatter,
  target: RenderTargetSpec,
  options: { templateName?: string; deliveryId?: number; trace?: EscapeTrace } = {},
): RenderedDelivery {
  const route = config.routes.find((r) => r.name === target.route);
  const mentions = mentionsFor(alert, route?.mentions);
  // As serve's first post: an open alert, buttons where the route and platform have them, and the escalation line
  // (its first reminder's time as if posted now) where the route escalates this copy.
  const policy = target.route === null ? undefined : triagePolicies(config.routes, config.sources).get(target.route);
  const escalation = policy?.escalate;
  const firstReminderAt = destination.formatReminder && escalates(escalation, alert, destination.type) ? Date.now() + escalation.after : undefined;
  const triage = target.route === null ? {} : triageContext(policy, options.deliveryId ?? 0, 0, () => OPEN_VIEW, alert, firstReminderAt);
  const template = options.templateName ?? target.template;
  const formatted = destination.format(alert, {
    ...triage,
    ...(mentions ? { mentions } : {}),
    ...(route?.defang === false ? { defang: false } : {}),
    route: target.route ?? '(none)',
    deliveryKey: deliveryKey(alert.dedupKey, target.destination),
    ...(template ? { template } : {}),
    ...(options.trace ? { trace: options.trace } : {}),
  });
  const warnings = target.route === null ? [`no route sends this alert to ${target.destination}`, ...formatted.warnings] : formatted.warnings;
  return { route: target.route, destination: target.destination, type: destination.type, ...(alert.fingerprint ? { fingerprint: alert.fingerprint } : {}), body: formatted.body, warnings };
}
