/**
 * A route's `escalate` as the worker, the reminder loop and the message line use it: durations in ms, defaults
 * applied, and which alerts and which copies of them escalate.
 */
import type { RouteConfig } from '../config/schema';
import { severityAtLeast, type Alert, type Severity } from '../domain/alert';
import type { MentionConfig } from '../routing/mentions';

export interface EscalatePolicy {
  /** From the post to the first reminder. */
  after: number;
  /** Between reminders. */
  repeat: number;
  /** Most reminders per message. */
  times: number;
  minSeverity?: Severity;
  /** Whom a reminder mentions (the only pings it carries). */
  mentions: MentionConfig;
  /** How the message names them, as plain text ("@secops-leads"); never a mention. */
  label?: string;
}

/** The route's escalation, or undefined when it has none. */
export function escalatePolicy(route: RouteConfig): EscalatePolicy | undefined {
  const e = route.escalate;
  if (!e) return undefined;
  return {
    after: e.after,
    repeat: e.repeat ?? e.after,
    times: e.times,
    ...(e.minSeverity ? { minSeverity: e.minSeverity } : {}),
    mentions: { ...(e.mentions.slack ? { slack: e.mentions.slack } : {}), ...(e.mentions.discord ? { discord: e.mentions.discord } : {}) },
    ...(e.label ? { label: e.label } : {}),
  };
}

/** The chat platform a destination type posts to; undefined for one that cannot mention anyone (console). */
export function platformOf(destinationType: string): 'slack' | 'discord' | undefined {
  if (destinationType === 'slack') return 'slack';
  if (destinationType === 'discord' || destinationType === 'discord-webhook') return 'discord';
  return undefined;
}

/** Whether the policy names anyone to mention on `platform`. */
export function hasTargetsOn(policy: EscalatePolicy, platform: 'slack' | 'discord'): boolean {
  const targets = policy.mentions[platform] as Record<string, unknown> | undefined;
  return targets !== undefined && Object.values(targets).some((v) => v === true || (Array.isArray(v) && v.length > 0));
}

/**
 * Whether a copy of `alert` posted by a destination of `destinationType` escalates: the alert is at or above the
 * policy's `minSeverity`, still firing (a resolved alert posted anew needs no one), and the destination's
 * platform has someone to mention.
 */
export function escalates(policy: EscalatePolicy | undefined, alert: Pick<Alert, 'severity' | 'status'>, destinationType: string): policy is EscalatePolicy {
  if (!policy || alert.status === 'resolved') return false;
  if (policy.minSeverity && !severityAtLeast(alert.severity, policy.minSeverity)) return false;
  const platform = platformOf(destinationType);
  return platform !== undefined && hasTargetsOn(policy, platform);
}
