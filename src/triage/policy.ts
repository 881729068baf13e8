import type { Config, RouteConfig } from '../config/schema';
import type { Alert } from '../domain/alert';
import { isLegacyGrafanaAlert } from '../sources/grafana-legacy';
import { SOURCE_LABELS } from '../templates/presentation';
import { isSilenceable, matchersUsable, silenceFormLinks, silenceMatchers, SILENCEABLE_SOURCES, type SilenceableSource, type SilencePolicy, type SilenceRenderContext } from './silence';
import { OPEN_VIEW, withSourceResolution, type TriageAction, type TriageAllowList, type TriageView } from './state';
import { escalatePolicy, type EscalatePolicy } from '../escalation/policy';
import type { EscalationRender } from '../escalation/line';

export type { TriageAllowList } from './state';

/** A route's triage and threading settings, as the worker and the interaction handlers use them. */
export interface TriagePolicy {
  /** Buttons to show (empty: none). */
  buttons: readonly TriageAction[];
  allow?: TriageAllowList;
  /** Repeats thread under the open message within this window; null: never thread. */
  threads: { windowMs: number } | null;
  /** Reminders for messages nobody acknowledged or resolved (`escalate`); absent: none. */
  escalate?: EscalatePolicy;
  /** The Silence menu of label-based sources' alerts, per source (absent: none, e.g. `triage: off`). */
  silence?: Partial<Record<SilenceableSource, SilencePolicy>>;
}

/** What `format()` gets to render the triage part of a message. */
export interface TriageRenderContext {
  deliveryId: number;
  /** Edit revision of this render; block ids carry it so Slack clients redraw the blocks. */
  revision: number;
  view: TriageView;
  buttons: readonly TriageAction[];
  /** The message's escalation line (routes with `escalate`, on copies that escalate). */
  escalation?: EscalationRender;
  /** The Silence menu, Unsilence button or silence link (alerts of a label-based source with silences on). */
  silence?: SilenceRenderContext;
}

/** The Silence settings of each label-based source configured with silences on. */
export function silencePolicies(sources: Config['sources'] = {}): Partial<Record<SilenceableSource, SilencePolicy>> {
  const out: Partial<Record<SilenceableSource, SilencePolicy>> = {};
  for (const source of SILENCEABLE_SOURCES) {
    const section = sources[source];
    if (!section || section.silence === 'off') continue;
    out[source] = {
      source,
      api: section.api !== undefined,
      durationsMs: section.silence.durations,
      matchers: section.silence.matchers,
      ...(section.silence.allow ? { allow: section.silence.allow } : {}),
    };
  }
  return out;
}

/** Each route's policy; `sources` adds the Silence menu of label-based sources to routes that show triage. */
export function triagePolicies(routes: readonly RouteConfig[], sources?: Config['sources']): Map<string, TriagePolicy> {
  const silence = silencePolicies(sources);
  return new Map(
    routes.map((route) => {
      const escalate = escalatePolicy(route);
      return [
        route.name,
        {
          buttons: route.triage === 'off' ? [] : route.triage.buttons,
          ...(route.triage !== 'off' && route.triage.allow ? { allow: route.triage.allow } : {}),
          threads: route.threads === 'off' ? null : { windowMs: route.threads.windowMs },
          ...(route.triage !== 'off' && Object.keys(silence).length > 0 ? { silence } : {}),
          ...(escalate ? { escalate } : {}),
        },
      ];
    }),
  );
}

/** Who may silence a route's alerts of `source`: the source's own allow list, else the route's triage one. */
export function silenceAllowList(policy: TriagePolicy, silence: SilencePolicy): TriageAllowList | undefined {
  return silence.allow ?? policy.allow;
}

/**
 * The silence control of an alert's message: the menu (the source's API is configured), and links to the source's
 * "new silence" page for where the menu cannot go. Grafana alerts that carry Grafana's own Silence link (its
 * `silenceURL`, a button of the template already) get no second one.
 */
function silenceContext(policy: TriagePolicy | undefined, alert: SilenceAlert | undefined): SilenceRenderContext | undefined {
  if (!policy?.silence || !alert || !isSilenceable(alert.source) || !alert.labels || isLegacyGrafanaAlert(alert)) return undefined;
  const settings = policy.silence[alert.source];
  if (!settings) return undefined;
  const ownLink = alert.source === 'grafana' && (alert.links ?? []).some((link) => link.label === 'Silence');
  // Links also where the menu cannot be (a Discord webhook, a platform without interactivity configured).
  const matchers = silenceMatchers(alert.labels, settings.matchers);
  const links = ownLink ? [] : silenceFormLinks(alert, matchers);
  // No menu where a choice could only be refused (none of the labels a silence matches on); an Unsilence still shows.
  return { menu: settings.api && matchersUsable(matchers), durationsMs: settings.durationsMs, links };
}

/** What the triage part reads of the alert: its resolution, and for the silence control its labels and links. */
type SilenceAlert = Pick<Alert, 'status' | 'endsAtMs' | 'source'> & Partial<Pick<Alert, 'labels' | 'links' | 'group' | 'title' | 'fingerprint' | 'linkLabel'>>;

/** Whether {@link triageContext} reads the alert's triage view (read it first where reading is asynchronous). */
export const triageViewNeeded = (policy: TriagePolicy | undefined, revision: number): boolean => policy !== undefined && revision !== 0;

/**
 * The `triage` part of a FormatContext, or nothing when the route shows no buttons. The view is read lazily:
 * most routes of a busy bridge never show triage state.
 */
export function triageContext(
  policy: TriagePolicy | undefined,
  deliveryId: number,
  revision: number,
  view: () => TriageView,
  alert?: SilenceAlert,
  firstReminderAt?: number,
): { triage?: TriageRenderContext } {
  // A resolution reported by the source shows on every route, buttons or not (it needs no read: it is the alert).
  const resolution = alert?.status === 'resolved' ? { at: alert.endsAtMs ?? null, source: SOURCE_LABELS[alert.source] ?? alert.source } : undefined;
  if (!policy && !resolution) return {};
  // Revision 0: nothing has happened to the alert, so skip the reads on the first post of every alert.
  const current = withSourceResolution(revision === 0 || !policy ? OPEN_VIEW : view(), resolution);
  const buttons = policy?.buttons ?? [];
  const silence = silenceContext(policy, alert);
  // The stored schedule; on the first post (`firstReminderAt`, not stored yet) the one it will be recorded with.
  const state = current.escalation ?? (firstReminderAt === undefined ? undefined : { status: 'pending' as const, sent: 0, dueAt: firstReminderAt });
  const escalation = policy?.escalate && state ? { policy: policy.escalate, state } : undefined;
  if (buttons.length === 0 && current.threadReplies === 0 && !resolution && !silence && !current.silence && !escalation) return {};
  return { triage: { deliveryId, revision, view: current, buttons, ...(silence ? { silence } : {}), ...(escalation ? { escalation } : {}) } };
}
