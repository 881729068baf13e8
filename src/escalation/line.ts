/**
 * The escalation line of an alert message: what the schedule is ("Escalates to @secops-leads in 15 min (14:17 UTC)
 * unless acknowledged"), how far it went ("Escalated 1/3 to @secops-leads; next in 30 min (14:47 UTC)"), or why it
 * stopped ("Escalation stopped: acknowledged by @ana"). Pure: every copy renders it from its stored state.
 */
import { durationWords } from '../domain/duration';
import { clockTime, type TriageAction, type TriageView } from '../triage/state';
import type { EscalatePolicy } from './policy';
import type { EscalationState } from './state';

/** What a message needs to render its escalation line. */
export interface EscalationRender {
  policy: EscalatePolicy;
  state: EscalationState;
}

const lastBy = (view: TriageView, action: TriageAction) => [...view.events].reverse().find((e) => e.action === action)?.actor.name;

/** Why the alert itself no longer escalates (a click, the source), from its triage view; undefined while open. */
function closedText(view: TriageView): string | undefined {
  if (view.status === 'open') return undefined;
  if (view.sourceResolved) return `resolved (by ${view.sourceResolved.source})`;
  const action: TriageAction = view.status === 'acknowledged' ? 'acknowledge' : 'resolve';
  const who = lastBy(view, action);
  const verb = action === 'acknowledge' ? 'acknowledged' : 'resolved';
  return who === undefined ? verb : `${verb} by @${who}`;
}

/**
 * The line, or null when the message shows none (the route stopped escalating it). `target` names the escalation
 * targets as the platform shows them without a ping, ready to insert ('' to name none); `escape` escapes the text
 * around it for the platform (names and reasons come from clicks and errors).
 */
export function escalationLine(esc: EscalationRender, view: TriageView, target: string, escape: (text: string) => string): string | null {
  const { policy, state } = esc;
  const to = target === '' ? '' : ` to ${target}`;
  const of = `${state.sent}/${policy.times}`;
  // Every reminder the route asks for went out: also when a reload lowered `times` to those sent (stopped as 'config').
  const allSent = state.sent >= policy.times && (state.status === 'pending' || (state.status === 'stopped' && state.stopReason === 'config'));
  if (state.status === 'done' || allSent) return state.sent > 0 ? `⏰ ${escape(`Escalated ${of}`)}${to}` : null;
  if (state.status === 'dead') return `⏰ ${escape(`Escalation failed at reminder ${state.sent + 1}/${policy.times}: ${state.lastError ?? 'unknown error'}`)}`;
  const closed = closedText(view);
  if (closed) return `⏰ ${escape(`Escalation stopped: ${closed}`)}`;
  if (state.status === 'stopped') {
    const reason = state.stopReason;
    if (reason === undefined || reason === 'config') return null;
    if (reason === 'source') return `⏰ ${escape('Escalation stopped: resolved at the source')}`;
    if (reason.startsWith('panther:')) return `⏰ ${escape(`Escalation stopped: ${reason.slice('panther:'.length).toLowerCase()} in Panther`)}`;
    return `⏰ ${escape('Escalation stopped')}`;
  }
  const at = clockTime(state.dueAt);
  if (state.sent === 0) return `⏰ ${escape('Escalates')}${to} ${escape(`in ${durationWords(policy.after)} (${at}) unless acknowledged`)}`;
  return `⏰ ${escape(`Escalated ${of}`)}${to}${escape(`; next in ${durationWords(policy.repeat)} (${at})`)}`;
}
