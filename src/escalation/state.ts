/**
 * Where one message's escalation stands, as the store keeps it (one row per posted copy of an alert on a route
 * with `escalate`). Pure data shared by the store, the reminder loop and the message line.
 */
import type { Alert } from '../domain/alert';
import type { MessageRef } from '../domain/delivery';

/**
 * `pending`: a reminder is still to come (at `nextAt`); `done`: every reminder went out; `stopped`: the alert was
 * acknowledged or resolved (or the route no longer escalates); `dead`: a reminder failed for good.
 */
export type EscalationStatus = 'pending' | 'done' | 'stopped' | 'dead';

/**
 * Why an escalation stopped: a click (`acknowledge`, `resolve`), the source's own resolution (`source`), Panther's
 * state (`panther:<STATUS>`), or the route no longer escalating this message (`config`).
 */
export type EscalationStopReason = 'acknowledge' | 'resolve' | 'source' | 'config' | `panther:${string}`;

/** One message's escalation. */
export interface EscalationState {
  status: EscalationStatus;
  /** Reminders posted so far. */
  sent: number;
  /** When the next reminder is due (its place in the schedule; a retry after a failure does not move it). */
  dueAt: number;
  stopReason?: EscalationStopReason;
  /** Why the last reminder failed (a `dead` escalation, or one being retried). */
  lastError?: string;
}

/** A reminder that is due, leased to this process, with what sending it needs. */
export interface DueReminder {
  /** The escalation's row id. */
  id: number;
  /** The posted message (delivery) the reminder is about and replies to. */
  deliveryId: number;
  alertRow: number;
  alert: Alert;
  route: string;
  destination: string;
  /** The posted message. */
  ref: MessageRef;
  /** The thread started from it earlier (Discord), if any. */
  threadRef: MessageRef | null;
  /** Reminders posted before this one. */
  sent: number;
  /** Failed attempts at this reminder. */
  attempts: number;
  dueAt: number;
}

/** How a reminder attempt ended, as the store records it. */
export type ReminderWrite =
  /** Posted: `nextAt` is the next reminder's due time, null when it was the last. `threadRef`: a thread it started. */
  | { kind: 'sent'; nextAt: number | null; threadRef: MessageRef | null }
  /** Not sent now (the channel's pace had no room): tried again at `at`, no attempt counted. */
  | { kind: 'deferred'; at: number }
  | { kind: 'retry'; at: number; reason: string }
  | { kind: 'dead'; reason: string }
  | { kind: 'stopped'; reason: EscalationStopReason };
