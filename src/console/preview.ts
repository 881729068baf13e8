/**
 * The template playground's engine: formats one alert (stored, or a pasted payload validated by its source's
 * schema) for one Slack and one Discord destination through the destinations' real `format()` — the exact body
 * the worker would send — optionally with unsaved template sources, and says what fitting, escaping,
 * sanitising and mentions did to it.
 */
import type { Config } from '../config/schema';
import { renderForTarget, type RenderTargetSpec } from '../rendering/render-alert';
import { createFormatters } from '../destinations/registry';
import type { Alert } from '../domain/alert';
import type { OperatorLedger } from '../delivery/operator-ledger';
import { explainRoutes, type RoutingExplanation } from '../routing/explain';
import { discordMentionMarkup, mentionsFor, slackMentionMarkup } from '../routing/mentions';
import type { PayloadIssue } from '../sources/panther';
import { detectSource, parseAnyPayload } from '../sources/detect';
import { TemplateEngine } from '../templates/engine';
import { formatTemplateProblem } from '../templates/locate';
import { EscapeTrace } from '../templates/escape-report';
import type { Platform, PlatformPreview, PreviewWarning } from './api-types';

export type { Platform, PlatformPreview, PreviewWarning } from './api-types';

export interface PreviewRequest {
  /** A stored alert (outbox row id), previewed exactly as the worker formats it. */
  alertRow?: number;
  /** Or a pasted payload (JSON text), validated by the same schema as its webhook; `source` if given must match its shape. */
  payloadText?: string;
  source?: string;
  /** The route whose settings (template, mentions, buttons) apply; default: the route that sends the alert there. */
  route?: string;
  /** Destination per platform; default: the first of that platform the alert is routed to, else the first configured. */
  destinations?: Partial<Record<Platform, string>>;
  /** Template to render with (forced, as `render --template NAME`), and unsaved sources for it per platform. */
  template?: { name: string; sources?: Partial<Record<Platform, string>> };
}

export type PreviewResult =
  | { ok: true; alert: Alert; explain: RoutingExplanation; previews: PlatformPreview[]; notes: string[] }
  | { ok: false; status: 400 | 404; error: string; issues?: PayloadIssue[] };

/** Sources a pasted payload may be validated as; without one, the payload's shape says which (as `render` does). */
export const PREVIEW_SOURCES = ['panther', 'alertmanager', 'grafana'] as const;

/** The first alert of a pasted payload (an Alertmanager/Grafana group previews its first alert), or its issues. */
function parsePasted(body: unknown, source: string | undefined, config: Config): { ok: true; alert: Alert } | { ok: false; issues: PayloadIssue[] } {
  const detected = detectSource(body);
  if (source !== undefined && source !== detected) {
    return { ok: false, issues: [{ path: '(body)', message: `the payload has the shape of ${detected}, not ${source}` }] };
  }
  const parsed = parseAnyPayload(body, config);
  if (!parsed.ok) return parsed;
  const alert = parsed.alerts[0];
  return alert ? { ok: true, alert } : { ok: false, issues: [{ path: 'alerts', message: 'the group has no alerts' }] };
}

const PLATFORM_OF: Record<string, Platform | undefined> = { slack: 'slack', discord: 'discord', 'discord-webhook': 'discord' };

/** Which platform a destination type renders for (console destinations have no chat preview). */
export function platformOf(type: string): Platform | undefined {
  return PLATFORM_OF[type];
}

/** Sorts a format() warning into the list the console shows beside the preview. */
export function classifyWarning(text: string): PreviewWarning['kind'] {
  if (/mention/i.test(text)) return 'mention';
  if (/link|url to a foreign host|foreign host/i.test(text)) return 'link';
  if (/^template |template "/i.test(text)) return 'template';
  if (/^no route sends/i.test(text)) return 'route';
  return 'fit';
}

async function loadAlert(config: Config, request: PreviewRequest, ledger: OperatorLedger): Promise<{ ok: true; alert: Alert } | Extract<PreviewResult, { ok: false }>> {
  if (request.alertRow !== undefined) {
    const alert = await ledger.alert(request.alertRow);
    return alert ? { ok: true, alert } : { ok: false, status: 404, error: 'not_found' };
  }
  if (request.source !== undefined && !(PREVIEW_SOURCES as readonly string[]).includes(request.source)) {
    return { ok: false, status: 400, error: 'invalid_request', issues: [{ path: 'source', message: `unknown source; one of ${PREVIEW_SOURCES.join(', ')}` }] };
  }
  let body: unknown;
  try {
    body = JSON.parse(request.payloadText ?? '');
  } catch (error) {
    return { ok: false, status: 400, error: 'invalid_payload', issues: [{ path: '(body)', message: `not valid JSON: ${(error as Error).message}` }] };
  }
  const parsed = parsePasted(body, request.source, config);
  return parsed.ok ? parsed : { ok: false, status: 400, error: 'invalid_payload', issues: parsed.issues };
}

/** Formats the requested alert for one destination per platform; see {@link PreviewRequest}. */
export async function preview(config: Config, ledger: OperatorLedger, request: PreviewRequest): Promise<PreviewResult> {
  const loaded = await loadAlert(config, request, ledger);
  if (!loaded.ok) return loaded;
  const alert = loaded.alert;
  const explain = explainRoutes(alert, config.routes);
  const templates = new TemplateEngine(config.templates.dir);
  const problems: Partial<Record<Platform, string>> = {};
  for (const platform of ['slack', 'discord'] as const) {
    const source = request.template?.sources?.[platform];
    if (request.template && source !== undefined) {
      const problem = templates.define(request.template.name, platform, source);
      if (problem) problems[platform] = formatTemplateProblem(problem);
    }
  }
  // Formatters, not destinations: a preview sends nothing, so it opens no client and starts no timer (one per
  // keystroke in the playground otherwise), and cannot post by mistake.
  const destinations = createFormatters(config, templates);
  const notes: string[] = [];
  const previews: PlatformPreview[] = [];
  for (const platform of ['slack', 'discord'] as const) {
    const name = chooseDestination(config, explain, platform, request.destinations?.[platform]);
    const destination = name === undefined ? undefined : destinations.get(name);
    if (!destination || name === undefined) {
      notes.push(`no ${platform === 'slack' ? 'Slack' : 'Discord'} destination is configured`);
      continue;
    }
    const target = targetFor(config, explain, name, request.route);
    if (problems[platform]) {
      previews.push({ platform, destination: name, type: destination.type, route: target.route, body: null, warnings: [{ kind: 'template', text: problems[platform]! }], problem: problems[platform]! });
      continue;
    }
    const deliveryId = request.alertRow === undefined ? undefined : (await ledger.list({ alertRow: request.alertRow, destination: name, limit: 1 }))[0]?.id;
    const trace = new EscapeTrace();
    const rendered = renderForTarget(config, alert, destination, target, {
      ...(request.template ? { templateName: request.template.name } : {}),
      ...(deliveryId !== undefined ? { deliveryId } : {}),
      trace,
    });
    const warnings: PreviewWarning[] = [
      ...mentionNotes(config, alert, target.route, platform).map((text) => ({ kind: 'mention' as const, text })),
      ...[...trace.notes].map((text) => ({ kind: 'escape' as const, text })),
      ...rendered.warnings.map((text) => ({ kind: classifyWarning(text), text })),
    ];
    previews.push({ platform, destination: name, type: destination.type, route: target.route, body: rendered.body, warnings });
  }
  return { ok: true, alert, explain, previews, notes };
}

function chooseDestination(config: Config, explain: RoutingExplanation, platform: Platform, wanted: string | undefined): string | undefined {
  const ofPlatform = (name: string) => platformOf(config.destinations[name]?.type ?? '') === platform;
  if (wanted !== undefined) return ofPlatform(wanted) ? wanted : undefined;
  return explain.deliveries.map((d) => d.destination).find(ofPlatform) ?? Object.keys(config.destinations).find(ofPlatform);
}

function targetFor(config: Config, explain: RoutingExplanation, destination: string, routeName: string | undefined): RenderTargetSpec {
  const chosen = routeName === undefined ? undefined : config.routes.find((r) => r.name === routeName);
  if (chosen) return { route: chosen.name, destination, ...(chosen.template ? { template: chosen.template } : {}) };
  return explain.deliveries.find((d) => d.destination === destination) ?? { route: null, destination };
}

/** The route's configured mentions for this alert: the only pings a message can carry. */
function mentionNotes(config: Config, alert: Alert, route: string | null, platform: Platform): string[] {
  const mentions = mentionsFor(alert, config.routes.find((r) => r.name === route)?.mentions);
  const markup = platform === 'slack' ? slackMentionMarkup(mentions) : discordMentionMarkup(mentions);
  return markup ? [`route "${route}" pings ${markup} (configured on the route: live)`] : [];
}

/**
 * A stored alert as an editable payload of its source (Panther's field names), for "edit this alert in the
 * playground". The inverse of the source adapter for the fields it keeps; null for sources without one.
 */
export function payloadOf(alert: Alert): Record<string, unknown> | null {
  if (alert.source !== 'panther') return null;
  return {
    id: alert.detectionId,
    name: alert.detectionName,
    alertId: alert.alertId,
    severity: alert.severity,
    type: alert.type,
    title: alert.title,
    description: alert.description,
    runbook: alert.runbook,
    link: alert.link,
    tags: alert.tags,
    createdAt: alert.createdAt,
    version: alert.version,
    alertContext: alert.context,
  };
}
