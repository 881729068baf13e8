/**
 * Triage state of one alert, folded from its recorded actions. Pure: every copy of the alert's message is
 * rendered from the same fold, so all of them tell the same story after any sequence of clicks.
 */

import type { EscalationState } from '../escalation/state';

/** What an analyst can do from a message. */
export const TRIAGE_ACTIONS = ['acknowledge', 'resolve', 'assign'] as const;
export type TriageAction = (typeof TRIAGE_ACTIONS)[number];

export type TriageStatus = 'open' | 'acknowledged' | 'resolved';

/** Who clicked: platform user id (for allow-lists and Panther mapping) and a display name (shown as text). */
export interface TriageActor {
  platform: 'slack' | 'discord';
  id: string;
  name: string;
}

/** One recorded click. `seq` is the store's insertion order: the tie-breaker that makes "last write wins" exact. */
export interface TriageEvent {
  seq: number;
  action: TriageAction;
  actor: TriageActor;
  at: number;
}

/** Who may act on a message, per platform; an absent list leaves that platform open to everyone in the channel. */
export interface TriageAllowList {
  slackUsers?: string[];
  slackGroups?: string[];
  discordRoles?: string[];
  discordUsers?: string[];
}

/**
 * Where a silence from chat stands: `creating` (the API call is due or retrying), `active` (created; it ends on
 * its own at `endsAt`), `expiring` (Unsilence asked; the API call is due or retrying), `expired` (unsilenced),
 * `ended` (ran its course), `failed` (creating gave up).
 */
export const SILENCE_STATES = ['creating', 'active', 'expiring', 'expired', 'ended', 'failed'] as const;
export type SilenceState = (typeof SILENCE_STATES)[number];

/** The latest silence of an alert, as its messages show it (silence.ts draws it). */
export interface SilenceView {
  state: SilenceState;
  /** The source whose API holds it. */
  source: string;
  by: TriageActor;
  durationMs: number;
  endsAt: number;
  /** The source's silence id once created. */
  silenceId?: string;
  unsilencedBy?: TriageActor;
  unsilencedAt?: number;
  /** The last failure of the operation in progress (create, or expire), already redacted. */
  error?: string;
}

/** Where the Panther write-back stands (absent when write-back is not configured or nothing was done yet). */
export interface PantherSyncView {
  state: 'pending' | 'synced' | 'failed';
  reason?: string;
  /** A failed write-back that will be tried again (false: given up). */
  retrying?: boolean;
}

/** Everything a message shows about triage; part of what `format()` renders. */
export interface TriageView {
  status: TriageStatus;
  assignee?: TriageActor;
  /** Every action in order (shown, so concurrent clicks are all visible and the winner is the last line). */
  events: TriageEvent[];
  panther?: PantherSyncView;
  /** Replies posted in this message's thread (repeats of the same detection). */
  threadReplies: number;
  /** The source itself reported the alert resolved (Alertmanager/Grafana): shown resolved whatever was clicked. */
  sourceResolved?: SourceResolution;
  /** This message's escalation (a route with `escalate`), when it has one. */
  escalation?: EscalationState;
  /** The alert's latest silence from chat (Alertmanager/Grafana), if any was asked for. */
  silence?: SilenceView;
}

/** A resolution reported by the alert's source: when (epoch ms, null when not sent) and by which source. */
export interface SourceResolution {
  at: number | null;
  source: string;
}

/** `view` with the source's resolution folded in: status resolved, whatever the clicks said. */
export function withSourceResolution(view: TriageView, resolution: SourceResolution | undefined): TriageView {
  return resolution ? { ...view, status: 'resolved', sourceResolved: resolution } : view;
}

export const OPEN_VIEW: TriageView = { status: 'open', events: [], threadReplies: 0 };

/** Folds events (any order; sorted by seq) into the current state: the last status-changing action wins. */
export function foldTriage(events: readonly TriageEvent[], extra: { panther?: PantherSyncView; threadReplies?: number; silence?: SilenceView; escalation?: EscalationState } = {}): TriageView {
  const ordered = [...events].sort((a, b) => a.seq - b.seq);
  let status: TriageStatus = 'open';
  let assignee: TriageActor | undefined;
  for (const event of ordered) {
    if (event.action === 'acknowledge') status = 'acknowledged';
    else if (event.action === 'resolve') status = 'resolved';
    else assignee = event.actor;
  }
  return {
    status,
    ...(assignee ? { assignee } : {}),
    events: ordered,
    ...(extra.panther ? { panther: extra.panther } : {}),
    threadReplies: extra.threadReplies ?? 0,
    ...(extra.silence ? { silence: extra.silence } : {}),
    ...(extra.escalation ? { escalation: extra.escalation } : {}),
  };
}

const PAST_TENSE: Record<TriageAction, string> = { acknowledge: 'Acknowledged', resolve: 'Resolved', assign: 'Assigned' };

/** "14:02 UTC" — short, unambiguous on a phone. */
export function clockTime(epochMs: number): string {
  const d = new Date(epochMs);
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')} UTC`;
}

/**
 * The state lines as plain text (the caller escapes for its platform): one line per action, oldest first, at
 * most `max` (older ones summarised), then the Panther sync problem if any. Names are shown as text, never as
 * mentions, so a triage update pings nobody.
 */
export function triageLines(view: TriageView, max = 5): string[] {
  const lines = view.events.map((e) =>
    e.action === 'assign' ? `Assigned to @${e.actor.name} at ${clockTime(e.at)}` : `${PAST_TENSE[e.action]} by @${e.actor.name} at ${clockTime(e.at)}`,
  );
  const shown = lines.length > max ? [`(${lines.length - max + 1} earlier actions)`, ...lines.slice(-(max - 1))] : lines;
  const resolved = view.sourceResolved;
  if (resolved) shown.unshift(`Resolved${resolved.at === null ? '' : ` at ${clockTime(resolved.at)}`} (by ${resolved.source})`);
  if (view.panther?.state === 'failed') shown.push(`Not synced to Panther: ${view.panther.reason ?? 'unknown error'}${view.panther.retrying ? ' (retrying)' : ''}`);
  return shown;
}

/** Headline status word with an emoji, e.g. "🟢 Resolved". */
export function statusLabel(status: TriageStatus): string {
  return status === 'resolved' ? '✅ Resolved' : status === 'acknowledged' ? '👀 Acknowledged' : '🔔 Open';
}

/** Which buttons still make sense: Acknowledge only while open, Resolve until resolved, Assign always. */
export function buttonsFor(view: TriageView, enabled: readonly TriageAction[]): TriageAction[] {
  return enabled.filter((action) => {
    if (action === 'acknowledge') return view.status === 'open';
    if (action === 'resolve') return view.status !== 'resolved';
    return true;
  });
}

export const BUTTON_LABELS: Record<TriageAction, string> = { acknowledge: 'Acknowledge', resolve: 'Resolve', assign: 'Assign to me' };

/** Button id carried by both platforms: `cb:<action>:<deliveryId>` (Discord custom_id ≤100, Slack value ≤2000). */
export function triageButtonId(action: TriageAction, deliveryId: number): string {
  return `cb:${action}:${deliveryId}`;
}

export function parseTriageButtonId(id: unknown): { action: TriageAction; deliveryId: number } | null {
  if (typeof id !== 'string') return null;
  const m = /^cb:(acknowledge|resolve|assign):(\d{1,15})$/.exec(id);
  return m ? { action: m[1] as TriageAction, deliveryId: Number(m[2]) } : null;
}
