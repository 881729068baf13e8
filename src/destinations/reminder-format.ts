/**
 * Escalation reminders as Slack and Discord bodies: the escalation targets' mentions (from config, the only pings a
 * reminder carries), which reminder this is, and the alert's title (cut, defanged, escaped: alert text never pings)
 * with its link. Pure, like the alert and digest formats.
 */
import { durationWords } from '../domain/duration';
import { discordAllowedMentions, discordMentionMarkup, slackMentionMarkup } from '../routing/mentions';
import { discordEscape, slackEscape } from '../templates/escape';
import { alertHosts, defangUrls, hostOf } from '../templates/links';
import { SEVERITY_COLOR, SEVERITY_EMOJI, SEVERITY_WORD } from '../templates/presentation';
import { cut, linkSafe } from './digest-format';
import type { ReminderView } from './types';

/** Longest alert title a reminder shows, in characters (a reminder points at the alert; it does not repeat it). */
export const REMINDER_TITLE_MAX = 150;
/** Longest alert link a reminder carries; a longer one is left out (the message it replies to has it). */
const REMINDER_LINK_MAX = 500;

/** The alert's title as a reminder shows it: cut, URLs not on the alert's own hosts defanged (unless the route opts out). */
function titleOf(view: ReminderView): string {
  const title = cut(view.alert.title, REMINDER_TITLE_MAX);
  return view.defang === false ? title : defangUrls(title, new Set(alertHosts(view.alert)));
}

/** The alert's link when a reminder can carry it (http(s) on its own host, not too long), else null. */
function linkOf(view: ReminderView): string | null {
  const link = view.alert.link;
  return link !== '' && link.length <= REMINDER_LINK_MAX && hostOf(link) !== null ? link : null;
}

const headline = (view: ReminderView) => `Reminder ${view.step}/${view.times}: not acknowledged after ${durationWords(view.waitedMs)}`;

/** Slack reminder (chat.postMessage arguments, before fitting; `thread_ts` is added by a threaded send). */
export function slackReminder(view: ReminderView, channel: string): Record<string, unknown> {
  const mentions = slackMentionMarkup(view.mentions);
  const severity = view.alert.severity;
  const title = slackEscape(titleOf(view));
  const link = linkOf(view);
  const shown = link ? `<${linkSafe(link)}|${title.replace(/\|/g, '¦')}>` : title;
  const line = `${SEVERITY_EMOJI[severity]} ${SEVERITY_WORD[severity]} · ${shown}`;
  return {
    channel,
    text: `${mentions} ${headline(view)}: ${title}`.trim(),
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `${mentions} *${headline(view)}*\n${line}`.trim(), verbatim: true } }],
    unfurl_links: false,
    unfurl_media: false,
  };
}

/**
 * Discord reminder (create-message body, before fitting): the mentions in `content` with `allowed_mentions` naming
 * exactly them (a reply never pings the replied-to author), the alert in an embed (whose title names a thread
 * started from the reminder). `allowed_mentions` is set after fitting, as for alerts (fitting keeps only id lists).
 */
export function discordReminder(view: ReminderView): Record<string, unknown> {
  const severity = view.alert.severity;
  const link = linkOf(view);
  return {
    content: `${discordMentionMarkup(view.mentions)} **${discordEscape(headline(view))}**`.trim(),
    embeds: [
      {
        title: discordEscape(titleOf(view)),
        ...(link ? { url: link } : {}),
        color: parseInt(SEVERITY_COLOR[severity].slice(1), 16),
        description: `${SEVERITY_EMOJI[severity]} ${SEVERITY_WORD[severity]}`,
      },
    ],
    ...(view.replyTo?.messageId ? { message_reference: { message_id: view.replyTo.messageId, fail_if_not_exists: false } } : {}),
  };
}

/** The `allowed_mentions` of a Discord reminder: exactly the escalation targets, never the replied-to author. */
export function reminderAllowedMentions(view: ReminderView): Record<string, unknown> {
  return { ...discordAllowedMentions(view.mentions), replied_user: false };
}
