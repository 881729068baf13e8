/**
 * Which source a payload file is from, for the CLI (`render`, `explain`, `check`'s sample alerts): the webhook
 * endpoints know their source by path; a file on disk does not.
 */
import type { Config } from '../config/schema';
import type { Alert } from '../domain/alert';
import { boundAlert } from '../domain/alert-bounds';
import { ALERTMANAGER_FIELDS, parseAlertmanagerPayload, type BatchParseResult } from './alertmanager';
import { GRAFANA_FIELDS, parseGrafanaPayload } from './grafana';
import { PANTHER_FIELDS, parsePantherPayload } from './panther';

export type PayloadSource = 'panther' | 'alertmanager' | 'grafana';

/** Per source, every payload field its adapter may default (the `field` label of `chatops_payload_defaults_total`). */
export const PAYLOAD_DEFAULT_FIELDS: Record<PayloadSource, readonly string[]> = {
  panther: PANTHER_FIELDS,
  alertmanager: ALERTMANAGER_FIELDS,
  grafana: GRAFANA_FIELDS,
};

const GRAFANA_ALERT_FIELDS = ['silenceURL', 'dashboardURL', 'panelURL', 'values', 'valueString', 'imageURL'];

/**
 * The source of a JSON body: an `alerts` list is Alertmanager, or Grafana when it carries Grafana's fields
 * (`orgId`, `state`, per-alert dashboard/silence URLs, values); Grafana's legacy form has `ruleId`/`evalMatches`;
 * anything else is Panther.
 */
export function detectSource(body: unknown): PayloadSource {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'panther';
  const record = body as Record<string, unknown>;
  if (Array.isArray(record.alerts)) {
    const grafanaAlert = record.alerts.some((a) => a !== null && typeof a === 'object' && GRAFANA_ALERT_FIELDS.some((f) => f in a));
    return 'orgId' in record || 'state' in record || grafanaAlert ? 'grafana' : 'alertmanager';
  }
  if ('ruleId' in record || 'ruleName' in record || 'evalMatches' in record) return 'grafana';
  return 'panther';
}

/**
 * Parses a body of any source with the config's severity mapping; every alert it carries, as the webhook keeps it
 * (long strings cut, alert-bounds.ts: `render`, `explain` and the console's preview show what `serve` sends and
 * routes), or the issues.
 */
export function parseAnyPayload(body: unknown, config?: Config): BatchParseResult & { source: PayloadSource } {
  const source = detectSource(body);
  if (source === 'panther') {
    const parsed = parsePantherPayload(body);
    return parsed.ok ? { ok: true, alerts: [boundAlert(parsed.alert)], defaults: parsed.defaults, source } : { ...parsed, source };
  }
  const severity = config?.sources[source]?.severity;
  const parsed = source === 'grafana' ? parseGrafanaPayload(body, severity ? { severity } : {}) : parseAlertmanagerPayload(body, severity ? { severity } : {});
  return parsed.ok ? { ...parsed, alerts: parsed.alerts.map(boundAlert), source } : { ...parsed, source };
}

/** The alerts of a body, or [] when it is not a valid payload of any source. */
export function alertsOf(body: unknown, config?: Config): Alert[] {
  const parsed = parseAnyPayload(body, config);
  return parsed.ok ? parsed.alerts : [];
}
