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
import { alertList, groupAlertShape, groupOf, groupShape, labelAlertToAlert, mapGroupAlerts, zodIssues, type BatchParseResult, type LabelSourceOptions } from './alertmanager';
import { lenientText, noteDefault, orDefault, recordDefaults, textOf } from './payload-defaults';
import { absoluteHttpUrl, episodeDedupKey, episodeKey, labelMap, nonBlank } from './labels';
import { plainMessages } from '../domain/validation-messages';
import { LEGACY_LINK_LABEL } from './grafana-legacy';

/** A query value: numbers, text and null (NaN / no data) as Grafana sends them; anything else as text, noted. */
const queryValue = (field: string) => (value: unknown): JsonValue => {
  if (value === null || typeof value === 'number' || typeof value === 'string') return value;
  noteDefault(field);
  return value === undefined ? null : typeof value === 'object' ? JSON.stringify(value) : String(value);
};

/** `values` of a unified alert: a map of refId → value; null or absent (older versions) is {}. */
const valuesMap = z.unknown().optional().transform((map): Record<string, JsonValue> => {
  const out: Record<string, JsonValue> = {};
  if (map === undefined || map === null) return out;
  if (typeof map !== 'object' || Array.isArray(map)) {
    noteDefault('values');
    return out;
  }
  for (const [ref, value] of Object.entries(map)) {
    Object.defineProperty(out, toWellFormed(ref), { value: queryValue('values')(value), enumerable: true, writable: true, configurable: true });
  }
  return out;
});

const grafanaAlertShape = {
  ...groupAlertShape,
  silenceURL: lenientText('silenceURL'),
  dashboardURL: lenientText('dashboardURL'),
  panelURL: lenientText('panelURL'),
  imageURL: lenientText('imageURL'),
  values: valuesMap,
  valueString: lenientText('valueString'),
};
const grafanaAlertSchema = z.object(grafanaAlertShape);

const unifiedShape = {
  ...groupShape,
  orgId: orDefault(z.number().int().nullish(), 'orgId', null),
  state: lenientText('state'),
  title: lenientText('title'),
  message: lenientText('message'),
};
const unifiedSchema = z.object({ ...unifiedShape, alerts: alertList });

/** One evaluation match of a legacy alert; entries that are not objects are left out (noted). */
const evalMatches = z.unknown().optional().transform((list): { metric: string; value: JsonValue }[] | null => {
  if (list === undefined || list === null) return null;
  if (!Array.isArray(list)) {
    noteDefault('evalMatches');
    return null;
  }
  return list.flatMap((match: unknown) => {
    if (match === null || typeof match !== 'object' || Array.isArray(match)) {
      noteDefault('evalMatches');
      return [];
    }
    const { metric, value } = match as Record<string, unknown>;
    return [{ metric: textOf(metric, 'evalMatches.metric') ?? '', value: queryValue('evalMatches.value')(value) }];
  });
});

const legacyShape = {
  ruleId: orDefault(z.union([z.number(), z.string()]).nullish(), 'ruleId', null),
  ruleName: lenientText('ruleName'),
  ruleUrl: lenientText('ruleUrl'),
  title: lenientText('title'),
  message: lenientText('message'),
  // alerting, ok, no_data, paused or pending; without one the rule is taken to be alerting (a missing "ok" must
  // not hide a firing rule).
  state: z.unknown().optional().transform((value): string => {
    if (typeof value === 'string' && value.trim() !== '') return value;
    noteDefault('state');
    return 'alerting';
  }),
  orgId: orDefault(z.number().int().nullish(), 'orgId', null),
  dashboardId: orDefault(z.number().nullish(), 'dashboardId', null),
  panelId: orDefault(z.number().nullish(), 'panelId', null),
  imageUrl: lenientText('imageUrl'),
  tags: labelMap('tags'),
  evalMatches,
};
const legacySchema = z.object(legacyShape);

/**
 * Every field a Grafana payload may have defaulted, as `chatops_payload_defaults_total` labels it: unified envelope
 * and per-alert (`alerts.<name>`) fields, and the legacy form's.
 */
export const GRAFANA_FIELDS = [
  ...new Set([
    ...Object.keys(unifiedShape),
    'alerts',
    ...Object.keys(grafanaAlertShape).map((field) => `alerts.${field}`),
    ...Object.keys(legacyShape),
    'evalMatches.metric',
    'evalMatches.value',
  ]),
];

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

function unifiedToAlerts(payload: z.output<typeof unifiedSchema>, options: LabelSourceOptions): { alerts: Alert[]; defaults: string[] } {
  const group = groupOf(payload, payload.orgId !== null && payload.orgId !== undefined ? { orgId: payload.orgId } : {});
  return mapGroupAlerts(payload.alerts, grafanaAlertSchema, (item) => {
    const values = item.values;
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
      context: { state, ...(payload.evalMatches?.length ? { evalMatches: payload.evalMatches } : {}) },
    },
  );
  const title = nonBlank(payload.title) ?? ruleName;
  const episode = episodeKey('grafana', fingerprint, '');
  const content = createHash('sha256').update(canonicalJson(payload as unknown as JsonValue)).digest('hex');
  return { ...base, title, linkLabel: LEGACY_LINK_LABEL, dedupKey: status === 'resolved' ? episodeDedupKey(episode, `resolved:${content}`) : episodeDedupKey(episode, `firing:${content}`) };
}

/**
 * Validates a Grafana webhook body (unified or legacy) and maps its alerts. Never throws. Refuses (issues) only a
 * body that is not an object, or a unified one without a list of alerts; every other field is defaulted and listed
 * in `defaults`.
 */
export function parseGrafanaPayload(body: unknown, options: LabelSourceOptions = {}): BatchParseResult {
  const isObject = body !== null && typeof body === 'object' && !Array.isArray(body);
  const legacy = isObject && !('alerts' in body) && ('ruleId' in body || 'ruleName' in body || 'evalMatches' in body);
  if (legacy) {
    const { result: parsed, defaults } = recordDefaults(() => legacySchema.safeParse(body, { error: plainMessages }));
    return parsed.success ? { ok: true, alerts: [legacyToAlert(parsed.data, options)], defaults } : { ok: false, issues: zodIssues(parsed.error) };
  }
  const envelope = recordDefaults(() => unifiedSchema.safeParse(body, { error: plainMessages }));
  const parsed = envelope.result;
  if (!parsed.success) return { ok: false, issues: zodIssues(parsed.error) };
  const items = unifiedToAlerts(parsed.data, { ...options, now: options.now ?? Date.now() });
  return { ok: true, alerts: items.alerts, defaults: [...envelope.defaults, ...items.defaults] };
}
