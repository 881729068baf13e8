import type { RouteConfig } from '../config/schema';
import type { Alert } from '../domain/alert';
import { SOURCE_LABELS } from '../templates/presentation';
import { OPEN_VIEW, withSourceResolution, type TriageAction, type TriageView } from './state';
import { escalatePolicy, type EscalatePolicy } from '../escalation/policy';
import type { EscalationRender } from '../escalation/line';

/** Who may act on a route's messages; an absent list leaves that platform open to everyone in the channel. */
export interface TriageAllowList {
  slackUsers?: string[];
  slackGroups?: string[];
  discordRoles?: string[];
  discordUsers?: string[];
}

/** A route's triage and threading settings, as the worker and the interaction handlers use them. */
export interface TriagePolicy {
  /** Buttons to show (empty: none). */
  buttons: readonly TriageAction[];
  allow?: TriageAllowList;
  /** Repeats thread under the open message within this window; null: never thread. */
  threads: { windowMs: number } | null;
  /** Reminders for messages nobody acknowledged or resolved (`escalate`); absent: none. */
  escalate?: EscalatePolicy;
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
}

export function triagePolicies(routes: readonly RouteConfig[]): Map<string, TriagePolicy> {
  return new Map(
    routes.map((route) => {
      const escalate = escalatePolicy(route);
      return [
        route.name,
        {
          buttons: route.triage === 'off' ? [] : route.triage.buttons,
          ...(route.triage !== 'off' && route.triage.allow ? { allow: route.triage.allow } : {}),
          threads: route.threads === 'off' ? null : { windowMs: route.threads.windowMs },
          ...(escalate ? { escalate } : {}),
        },
      ];
    }),
  );
}

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
  alert?: Pick<Alert, 'status' | 'endsAtMs' | 'source'>,
  firstReminderAt?: number,
): { triage?: TriageRenderContext } {
  // A resolution reported by the source shows on every route, buttons or not (it needs no read: it is the alert).
  const resolution = alert?.status === 'resolved' ? { at: alert.endsAtMs ?? null, source: SOURCE_LABELS[alert.source] ?? alert.source } : undefined;
  if (!policy && !resolution) return {};
  // Revision 0: nothing has happened to the alert, so skip the reads on the first post of every alert.
  const current = withSourceResolution(revision === 0 || !policy ? OPEN_VIEW : view(), resolution);
  const buttons = policy?.buttons ?? [];
  // The stored schedule; on the first post (`firstReminderAt`, not stored yet) the one it will be recorded with.
  const state = current.escalation ?? (firstReminderAt === undefined ? undefined : { status: 'pending' as const, sent: 0, dueAt: firstReminderAt });
  const escalation = policy?.escalate && state ? { policy: policy.escalate, state } : undefined;
  if (buttons.length === 0 && current.threadReplies === 0 && !resolution && !escalation) return {};
  return { triage: { deliveryId, revision, view: current, buttons, ...(escalation ? { escalation } : {}) } };
}
