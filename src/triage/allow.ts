import type { TriageActor, TriageAllowList } from './state';

/** Who clicked, as a signed interaction says: the actor, and what group or role checks need. */
export interface Clicker {
  actor: TriageActor;
  /** Discord: the clicking member's role ids (from the signed payload). */
  discordRoles?: readonly string[];
  /** Slack: whether the user is in any of these user groups (looked up only when a list restricts by group). */
  inSlackGroups?: (groupIds: readonly string[]) => Promise<boolean>;
}

/**
 * Whether `who` may act under `allow` (triage buttons, the Silence menu): absent lists leave their platform open;
 * a user listed by id, a Slack user in a listed group, or a Discord member with a listed role may. A group lookup
 * that cannot be made denies (fail closed).
 */
export async function isAllowed(allow: TriageAllowList | undefined, who: Clicker): Promise<boolean> {
  if (!allow) return true;
  if (who.actor.platform === 'slack') {
    if (!allow.slackUsers && !allow.slackGroups) return true;
    if (allow.slackUsers?.includes(who.actor.id)) return true;
    return Boolean(allow.slackGroups && who.inSlackGroups && (await who.inSlackGroups(allow.slackGroups)));
  }
  if (!allow.discordUsers && !allow.discordRoles) return true;
  if (allow.discordUsers?.includes(who.actor.id)) return true;
  return Boolean(allow.discordRoles?.some((role) => who.discordRoles?.includes(role)));
}
