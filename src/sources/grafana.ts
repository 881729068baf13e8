/**
 * Grafana webhook contact point source. Unified alerting (Grafana 8+) sends Alertmanager's group envelope plus
 * `orgId`, `state`, `title`, `message` and per alert `silenceURL`, `dashboardURL`, `panelURL`, `imageURL`,
 * `values` (null in some versions) and `valueString`. Legacy dashboard alerting (≤ Grafana 10) sends one rule per
 * POST (`ruleId`, `ruleName`, `ruleUrl`, `state`, `evalMatches`, `tags`) and is mapped to one alert.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Alert, AlertLink, JsonValue } from '../domain/alert';
import { canonicalJson } from '../domain/canonical-json';
import { toWellFormed } from './panther';
import { groupAlertShape, groupOf, groupShape, labelAlertToAlert, zodIssues, type BatchParseResult, type LabelSourceOptions } from './alertmanager';
import { absoluteHttpUrl, episodeDedupKey, episodeKey, labelMap, nonBlank } from './labels';

const optionalString = z.string().nullish();

const grafanaAlertSchema = z.object({
  ...groupAlertShape,
  silenceURL: optionalString,
  dashboardURL: optionalString,
  panelURL: optionalString,
  imageURL: optionalString,
  // Numbers as Grafana sends them; null entries (NaN / no data) and a null map (older versions) are allowed.
  values: z.record(z.string(), z.union([z.number(), z.string(), z.null()])).nullish(),
  valueString: optionalString,
});

const unifiedSchema = z.object({
  ...groupShape,
  orgId: z.number().int().nullish(),
  state: optionalString,
  title: optionalString,
  message: optionalString,
  alerts: z.array(grafanaAlertSchema, { error: 'must be a list of alerts' }),
});

const legacySchema = z.object({
  ruleId: z.union([z.number(), z.string()]).nullish(),
  ruleName: optionalString,
  ruleUrl: optionalString,
  title: optionalString,
  message: optionalString,
  state: z.string({ error: 'must be alerting, ok, no_data, paused or pending' }),
  orgId: z.number().int().nullish(),
  dashboardId: z.number().nullish(),
  panelId: z.number().nullish(),
  imageUrl: optionalString,
  tags: labelMap,
  evalMatches: z
    .array(z.object({ metric: optionalString, value: z.union([z.number(), z.string(), z.null()]).nullish(), tags: labelMap }))
    .nullish(),
});

/** Extra link buttons of a Grafana alert; empty strings (Grafana's "none") and non-http(s) URLs are left out. */
function grafanaLinks(item: z.output<typeof grafanaAlertSchema>, base: string): AlertLink[] {
  const candidates: [string, string | null | undefined][] = [
    ['Dashboard', item.dashboardURL],
    ['Panel', item.panelURL],
    ['Silence', item.silenceURL],
    ['Image', item.imageURL],
  ];
  return candidates.flatMap(([label, url]) => {
    const absolute = absoluteHttpUrl(url, base);
    return absolute ? [{ label, url: absolute }] : [];
  });
}

function unifiedToAlerts(payload: z.output<typeof unifiedSchema>, options: LabelSourceOptions): Alert[] {
  const group = groupOf(payload, payload.orgId !== null && payload.orgId !== undefined ? { orgId: payload.orgId } : {});
  return payload.alerts.map((item) => {
    const values: Record<string, JsonValue> = {};
    for (const [ref, value] of Object.entries(item.values ?? {})) Object.defineProperty(values, toWellFormed(ref), { value, enumerable: true, writable: true, configurable: true });
    const valueString = nonBlank(item.valueString);
    return labelAlertToAlert('grafana', item, group, options, {
      links: grafanaLinks(item, group.externalURL),
      ...(Object.keys(values).length > 0 ? { context: { values } } : valueString ? { context: { value: valueString } } : {}),
      values,
      valueString: valueString ?? '',
    });
  });
}

/** Legacy payloads have no group: an empty one. */
const LEGACY_ENVELOPE = (status: 'firing' | 'resolved') => ({
  receiver: null,
  status,
  groupLabels: {},
  commonLabels: {},
  commonAnnotations: {},
  externalURL: null,
  version: null,
  groupKey: null,
  truncatedAlerts: null,
  notification_reason: null,
  routeLabels: {},
});

/**
 * Legacy alerting has no start time or fingerprint: the rule (org, id or name) is the fingerprint, so `ok`
 * resolves the newest firing message of that rule; firing notifications dedup on their whole content.
 */
function legacyToAlert(payload: z.output<typeof legacySchema>, options: LabelSourceOptions): Alert {
  const state = payload.state.trim().toLowerCase();
  const status = state === 'ok' ? 'resolved' : 'firing';
  const ruleName = nonBlank(payload.ruleName) ?? nonBlank(payload.title) ?? 'Grafana alert';
  const labels: Record<string, string> = { ...payload.tags, alertname: ruleName };
  const ruleKey = `${payload.orgId ?? ''}:${payload.ruleId ?? ruleName}`;
  const fingerprint = createHash('sha256').update(ruleKey).digest('hex').slice(0, 16);
  const link = absoluteHttpUrl(payload.ruleUrl) ?? '';
  const image = absoluteHttpUrl(payload.imageUrl);
  const now = options.now ?? Date.now();
  const base = labelAlertToAlert(
    'grafana',
    { status, labels, annotations: { ...(payload.message ? { description: payload.message } : {}) }, startsAt: null, endsAt: null, generatorURL: link, fingerprint },
    groupOf(LEGACY_ENVELOPE(status), payload.orgId !== null && payload.orgId !== undefined ? { orgId: payload.orgId } : {}),
    { ...options, now },
    {
      links: image ? [{ label: 'Image', url: image }] : [],
      context: { state, ...(payload.evalMatches?.length ? { evalMatches: payload.evalMatches.map((m) => ({ metric: m.metric ?? '', value: m.value ?? null })) } : {}) },
    },
  );
  const title = nonBlank(payload.title) ?? ruleName;
  const episode = episodeKey('grafana', fingerprint, '');
  const content = createHash('sha256').update(canonicalJson(payload as unknown as JsonValue)).digest('hex');
  return { ...base, title, linkLabel: 'Alert rule', dedupKey: status === 'resolved' ? episodeDedupKey(episode, `resolved:${content}`) : episodeDedupKey(episode, `firing:${content}`) };
}

/** Validates a Grafana webhook body (unified or legacy) and maps its alerts. Never throws. */
export function parseGrafanaPayload(body: unknown, options: LabelSourceOptions = {}): BatchParseResult {
  const isObject = body !== null && typeof body === 'object' && !Array.isArray(body);
  const legacy = isObject && !('alerts' in body) && ('ruleId' in body || 'ruleName' in body || 'evalMatches' in body);
  if (legacy) {
    const parsed = legacySchema.safeParse(body);
    return parsed.success ? { ok: true, alerts: [legacyToAlert(parsed.data, options)] } : { ok: false, issues: zodIssues(parsed.error) };
  }
  const parsed = unifiedSchema.safeParse(body);
  if (!parsed.success) return { ok: false, issues: zodIssues(parsed.error) };
  return { ok: true, alerts: unifiedToAlerts(parsed.data, { ...options, now: options.now ?? Date.now() }) };
}
