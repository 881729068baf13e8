/**
 * Prometheus Alertmanager webhook source (`webhook_configs`, payload version "4", Alertmanager 0.x): one POST
 * carries a group of alerts; each becomes one {@link Alert}. Liberal in what it accepts across versions: null
 * maps, absent `truncatedAlerts`/`fingerprint`/`notification_reason`/`routeLabels`, relative generator URLs.
 */
import { z } from 'zod';
import type { Alert, AlertGroup, AlertLink, JsonValue } from '../domain/alert';
import { issuePath, toWellFormed, type PayloadIssue } from './panther';
import {
  absoluteHttpUrl,
  DEFAULT_SEVERITY_MAPPING,
  episodeDedupKey,
  episodeKey,
  goTime,
  labelFingerprint,
  labelMap,
  labelTags,
  nonBlank,
  parseGoTime,
  severityFromLabels,
  type SeverityMapping,
} from './labels';

const optionalString = z.string().nullish();
const status = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.enum(['firing', 'resolved'], { error: 'must be "firing" or "resolved"' }));

/** One alert of a group, as Alertmanager's template.Alert marshals it (Grafana adds fields, see grafana.ts). */
export const groupAlertShape = {
  status: status.nullish(),
  labels: labelMap,
  annotations: labelMap,
  startsAt: goTime.nullish(),
  endsAt: goTime.nullish(),
  generatorURL: optionalString,
  fingerprint: optionalString,
};

/** The group envelope shared by Alertmanager and Grafana. Unknown extra fields are ignored. */
export const groupShape = {
  receiver: optionalString,
  status: status.nullish(),
  groupLabels: labelMap,
  commonLabels: labelMap,
  commonAnnotations: labelMap,
  externalURL: optionalString,
  version: z.union([z.string(), z.number()]).nullish(),
  groupKey: optionalString,
  truncatedAlerts: z.number().int().nonnegative().nullish(),
  notification_reason: optionalString,
  routeLabels: labelMap,
};

export const alertmanagerPayloadSchema = z.object({
  ...groupShape,
  alerts: z.array(z.object(groupAlertShape), { error: 'must be a list of alerts' }),
});

type GroupAlert = z.output<z.ZodObject<typeof groupAlertShape>>;
type GroupEnvelope = z.output<z.ZodObject<typeof groupShape>>;

/** Parsed many-alert payload: every alert, or every issue with its path (the 400 body). */
export type BatchParseResult = { ok: true; alerts: Alert[] } | { ok: false; issues: PayloadIssue[] };

/** Options of a label-based source from its config section. */
export interface LabelSourceOptions {
  severity?: SeverityMapping;
  /** Receipt time, for alerts without startsAt (hand-written payloads). */
  now?: number;
}

/** zod issues as the 400 body lists them. */
export function zodIssues(error: z.ZodError): PayloadIssue[] {
  return error.issues.map((issue) => ({ path: issuePath(issue.path), message: issue.message }));
}

/** The group part every alert of the notification shares (exposed to templates as `alert.group`). */
export function groupOf(payload: GroupEnvelope, extra: Partial<AlertGroup> = {}): AlertGroup {
  return {
    receiver: toWellFormed(payload.receiver ?? ''),
    status: payload.status ?? '',
    groupKey: toWellFormed(payload.groupKey ?? ''),
    groupLabels: payload.groupLabels,
    commonLabels: payload.commonLabels,
    commonAnnotations: payload.commonAnnotations,
    externalURL: absoluteHttpUrl(payload.externalURL) ?? '',
    truncatedAlerts: payload.truncatedAlerts ?? 0,
    ...(payload.notification_reason ? { notificationReason: toWellFormed(payload.notification_reason) } : {}),
    ...extra,
  };
}

/** Labels that are the message itself (title, severity) rather than facts about it. */
const SHOWN_ELSEWHERE = new Set(['alertname']);

/**
 * Maps one alert of a group to an {@link Alert}: severity from the configured label mapping, title from
 * `annotations.summary` or `alertname`, description, runbook from `runbook_url`, link from the generator URL
 * (resolved against the external URL; else the external URL itself), tags `name=value` from the labels, dedup
 * key from fingerprint + startsAt + status. `extraLinks` and `extraContext` are the source's additions.
 */
export function labelAlertToAlert(
  source: string,
  item: GroupAlert,
  group: AlertGroup,
  options: LabelSourceOptions,
  extra: { links?: AlertLink[]; context?: Record<string, JsonValue>; values?: Record<string, JsonValue>; valueString?: string } = {},
): Alert {
  const labels = item.labels;
  const annotations = item.annotations;
  const state = item.status ?? (group.status === 'resolved' ? 'resolved' : 'firing');
  const fingerprint = nonBlank(item.fingerprint) ?? labelFingerprint(labels);
  const startsAtMs = parseGoTime(item.startsAt);
  const startsAt = startsAtMs === null ? '' : toWellFormed(item.startsAt!);
  const endsAtMs = state === 'resolved' ? parseGoTime(item.endsAt) : null;
  const alertname = nonBlank(labels.alertname);
  const generator = absoluteHttpUrl(item.generatorURL, group.externalURL);
  const link = generator ?? group.externalURL;
  const context: Record<string, JsonValue> = {};
  for (const [name, value] of Object.entries(labels)) {
    if (!SHOWN_ELSEWHERE.has(name)) Object.defineProperty(context, name, { value, enumerable: true, writable: true, configurable: true });
  }
  Object.assign(context, extra.context ?? {});
  const episode = episodeKey(source, fingerprint, startsAt);
  return {
    source,
    dedupKey: episodeDedupKey(episode, state),
    alertId: fingerprint,
    detectionId: alertname ?? fingerprint,
    detectionName: null,
    severity: severityFromLabels(labels, options.severity ?? DEFAULT_SEVERITY_MAPPING),
    type: 'ALERT',
    title: nonBlank(annotations.summary) ?? nonBlank(annotations.title) ?? alertname ?? nonBlank(group.commonAnnotations.summary) ?? `Alert ${fingerprint}`,
    description: nonBlank(annotations.description) ?? nonBlank(annotations.message),
    runbook: nonBlank(annotations.runbook_url) ?? nonBlank(annotations.runbook),
    link,
    tags: labelTags(labels),
    // Without a startsAt (hand-written payloads) the receipt time is shown; the dedup key does not depend on it.
    createdAt: startsAt !== '' ? startsAt : new Date(options.now ?? Date.now()).toISOString(),
    createdAtMs: startsAtMs ?? options.now ?? Date.now(),
    version: null,
    context,
    status: state,
    episodeKey: episode,
    fingerprint,
    ...(endsAtMs !== null ? { endsAt: toWellFormed(item.endsAt!), endsAtMs } : {}),
    labels,
    annotations,
    ...(generator ? { linkLabel: 'Generator' } : link !== '' ? { linkLabel: 'Alertmanager' } : {}),
    links: extra.links ?? [],
    ...(extra.values ? { values: extra.values } : {}),
    ...(extra.valueString !== undefined ? { valueString: extra.valueString } : {}),
    group,
  };
}

/** Validates an Alertmanager webhook body and maps each alert of the group. Never throws. */
export function parseAlertmanagerPayload(body: unknown, options: LabelSourceOptions = {}): BatchParseResult {
  const parsed = alertmanagerPayloadSchema.safeParse(body);
  if (!parsed.success) return { ok: false, issues: zodIssues(parsed.error) };
  const now = options.now ?? Date.now();
  const group = groupOf(parsed.data);
  return { ok: true, alerts: parsed.data.alerts.map((item) => labelAlertToAlert('alertmanager', item, group, { ...options, now })) };
}
