/**
 * Prometheus Alertmanager webhook source (`webhook_configs`, payload version "4", Alertmanager 0.x): one POST
 * carries a group of alerts; each becomes one {@link Alert}. Liberal in what it accepts across versions: null
 * maps, absent `truncatedAlerts`/`fingerprint`/`notification_reason`/`routeLabels`, relative generator URLs.
 */
import { z } from 'zod';
import type { Alert, AlertGroup, AlertLink, AlertStatus, JsonValue } from '../domain/alert';
import { issuePath, toWellFormed, type PayloadIssue } from './panther';
import {
  absoluteHttpUrl,
  DEFAULT_SEVERITY_MAPPING,
  episodeDedupKey,
  episodeKey,
  goTime,
  isGoZeroTime,
  labelFingerprint,
  labelMap,
  labelTags,
  nonBlank,
  parseGoTime,
  severityFromLabels,
  type SeverityMapping,
} from './labels';
import { lenientText, noteDefault, orDefault, recordDefaults } from './payload-defaults';
import { plainMessages, requiredOr } from '../domain/validation-messages';

/** `firing` / `resolved` in any case and spacing; null when absent; anything else null, noted. */
function status(field: string) {
  return z.unknown().optional().transform((value): AlertStatus | null => {
    if (value === undefined || value === null) return null;
    const text = typeof value === 'string' ? value.trim().toLowerCase() : '';
    if (text === 'firing' || text === 'resolved') return text;
    noteDefault(field);
    return null;
  });
}

/**
 * One alert of a group, as Alertmanager's template.Alert marshals it (Grafana adds fields, see grafana.ts). Every
 * field is lenient (see docs/alertmanager.md): a wrong one is defaulted and noted under its own name, never a 400.
 */
export const groupAlertShape = {
  status: status('status'),
  labels: labelMap('labels'),
  annotations: labelMap('annotations'),
  startsAt: goTime('startsAt'),
  endsAt: goTime('endsAt'),
  generatorURL: lenientText('generatorURL'),
  fingerprint: lenientText('fingerprint'),
};

/** The group envelope shared by Alertmanager and Grafana. Unknown extra fields are ignored; known ones are lenient. */
export const groupShape = {
  receiver: lenientText('receiver'),
  status: status('status'),
  groupLabels: labelMap('groupLabels'),
  commonLabels: labelMap('commonLabels'),
  commonAnnotations: labelMap('commonAnnotations'),
  externalURL: lenientText('externalURL'),
  version: orDefault(z.union([z.string(), z.number()]).nullish(), 'version', null),
  groupKey: lenientText('groupKey'),
  truncatedAlerts: orDefault(z.number().int().nonnegative().nullish(), 'truncatedAlerts', null),
  notification_reason: lenientText('notification_reason'),
  routeLabels: labelMap('routeLabels'),
};

/** The one field a group cannot do without: without a list of alerts there is nothing to show (a 400). */
export const alertList = z.array(z.unknown(), { error: requiredOr('must be a list of alerts') });

export const alertmanagerPayloadSchema = z.object({ ...groupShape, alerts: alertList });
const alertmanagerAlertSchema = z.object(groupAlertShape);

/**
 * Every field an Alertmanager payload may have defaulted, as `chatops_payload_defaults_total` labels it: envelope
 * fields by name, per-alert fields as `alerts.<name>`, and `alerts` for an entry of the list that is no alert.
 */
export const ALERTMANAGER_FIELDS = [...Object.keys(groupShape), 'alerts', ...Object.keys(groupAlertShape).map((field) => `alerts.${field}`)];

type GroupAlert = z.output<typeof alertmanagerAlertSchema>;
type GroupEnvelope = z.output<z.ZodObject<typeof groupShape>>;

/** Parsed many-alert payload: every alert with the fields defaulted, or every issue with its path (the 400 body). */
export type BatchParseResult = { ok: true; alerts: Alert[]; defaults: string[] } | { ok: false; issues: PayloadIssue[] };

/** Options of a label-based source from its config section. */
export interface LabelSourceOptions {
  severity?: SeverityMapping;
  /** Receipt time, for alerts without startsAt (hand-written payloads). */
  now?: number;
}

/**
 * The alerts of a group's list, each parsed with `schema` and mapped, with what each defaulted (`alerts.<field>`,
 * once per alert). An entry that is not an object cannot be shown: it is left out and noted as `alerts`, while the
 * rest of the group is delivered (refusing the POST would lose them all: Alertmanager does not retry a 4xx).
 */
export function mapGroupAlerts<S extends z.ZodType>(items: unknown[], schema: S, map: (item: z.output<S>) => Alert): { alerts: Alert[]; defaults: string[] } {
  const alerts: Alert[] = [];
  const defaults: string[] = [];
  for (const raw of items) {
    const one = recordDefaults(() => {
      const parsed = schema.safeParse(raw);
      return parsed.success ? map(parsed.data) : null;
    });
    if (one.result) alerts.push(one.result);
    else defaults.push('alerts');
    defaults.push(...one.defaults.map((field) => `alerts.${field}`));
  }
  return { alerts, defaults };
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
  // Text that is no timestamp still tells one episode from another (and a retry carries the same text).
  const episodeStart = startsAtMs === null && item.startsAt && !isGoZeroTime(item.startsAt) ? toWellFormed(item.startsAt) : startsAt;
  const endsAtMs = state === 'resolved' ? parseGoTime(item.endsAt) : null;
  const alertname = nonBlank(labels.alertname);
  const generator = absoluteHttpUrl(item.generatorURL, group.externalURL);
  const link = generator ?? group.externalURL;
  const context: Record<string, JsonValue> = {};
  for (const [name, value] of Object.entries(labels)) {
    if (!SHOWN_ELSEWHERE.has(name)) Object.defineProperty(context, name, { value, enumerable: true, writable: true, configurable: true });
  }
  Object.assign(context, extra.context ?? {});
  const episode = episodeKey(source, fingerprint, episodeStart);
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

/**
 * Validates an Alertmanager webhook body and maps each alert of the group. Never throws. Refuses (issues) only a
 * body that is not an object or has no list of alerts; every other field is defaulted and listed in `defaults`.
 */
export function parseAlertmanagerPayload(body: unknown, options: LabelSourceOptions = {}): BatchParseResult {
  const envelope = recordDefaults(() => alertmanagerPayloadSchema.safeParse(body, { error: plainMessages }));
  const parsed = envelope.result;
  if (!parsed.success) return { ok: false, issues: zodIssues(parsed.error) };
  const now = options.now ?? Date.now();
  const group = groupOf(parsed.data);
  const items = mapGroupAlerts(parsed.data.alerts, alertmanagerAlertSchema, (item) => labelAlertToAlert('alertmanager', item, group, { ...options, now }));
  return { ok: true, alerts: items.alerts, defaults: [...envelope.defaults, ...items.defaults] };
}
