import { SEVERITIES, type Severity } from '../domain/alert';
import type { DigestEntry } from '../domain/delivery';
import { discordEscape, slackEscape } from '../templates/escape';
import { defangUrls, hostOf } from '../templates/links';
import { SEVERITY_COLOR, SEVERITY_EMOJI, SEVERITY_WORD } from '../templates/presentation';

/** What a digest message shows: every alert collapsed into it so far in this burst. */
export interface DigestView {
  entries: DigestEntry[];
  /** When this digest was first posted (stable across edits). */
  openedAt: number;
  /** When this revision was made; shown so readers see it is live. */
  now: number;
}

/** How many alerts a digest lists by name; the rest are counted ("+N more"). */
export const DIGEST_TOP = 10;

const bySeverityThenNewest = (a: DigestEntry, b: DigestEntry) =>
  SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity) || b.createdAtMs - a.createdAtMs;

function summary(view: DigestView) {
  const counts = new Map<Severity, number>();
  for (const entry of view.entries) counts.set(entry.severity, (counts.get(entry.severity) ?? 0) + 1);
  const present = [...SEVERITIES].reverse().filter((s) => counts.has(s));
  const top = [...view.entries].sort(bySeverityThenNewest).slice(0, DIGEST_TOP);
  const worst = present[0] ?? 'INFO';
  const line = present.map((s) => `${counts.get(s)} ${SEVERITY_WORD[s].toLowerCase()}`).join(', ');
  return { counts, present, top, worst, line };
}

/** Longest link a digest line carries; a longer one is left out (the title still shows). */
const MAX_DIGEST_LINK = 500;

/**
 * The listed alerts as lines within `budget` characters, always ending with "+N more" for every alert not
 * listed, so fitting never silently cuts entries (escaping can make a title several times longer).
 */
function listLines(view: DigestView, top: DigestEntry[], budget: number, render: (entry: DigestEntry, link: string | null) => string): string {
  const lines: string[] = [];
  let used = 0;
  for (const entry of top) {
    const link = entry.link.length <= MAX_DIGEST_LINK ? linkSafe(entry.link) : null;
    const line = render(entry, link);
    if (used + line.length + 1 > budget - 40) break;
    lines.push(line);
    used += line.length + 1;
  }
  const more = view.entries.length - lines.length;
  if (more > 0) lines.push(`+${more} more`);
  return lines.join('\n');
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);
/** URL characters that would end a Slack `<url|label>` or a Discord `[label](url)` early. */
const linkSafe = (url: string) => url.replace(/[<>|()\s]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
const cut = (text: string, max: number) => (Array.from(text).length > max ? `${Array.from(text).slice(0, max - 1).join('')}…` : text);
/**
 * An entry's title as a digest line shows it: cut, with URLs not on the alert's own host defanged. Always, also on
 * routes with `defang: false`: a digest is a list of titles with a link to each alert, not the place to click on.
 */
const titleOf = (entry: DigestEntry) => {
  const host = hostOf(entry.link);
  return defangUrls(cut(entry.title, 150), new Set(host ? [host] : []));
};

/** Slack digest (chat.postMessage / chat.update arguments, before fitting). */
export function slackDigest(view: DigestView, channel: string): Record<string, unknown> {
  const s = summary(view);
  const list = listLines(view, s.top, 3000, (e, link) => {
    const label = slackEscape(titleOf(e)).replace(/\|/g, '¦');
    return link ? `${SEVERITY_EMOJI[e.severity]} <${link}|${label}>` : `${SEVERITY_EMOJI[e.severity]} ${label}`;
  });
  return {
    channel,
    text: `${SEVERITY_EMOJI[s.worst]} Alert burst: ${view.entries.length} alerts (${s.line})`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: `${SEVERITY_EMOJI[s.worst]} Alert burst: ${view.entries.length} alerts`, emoji: true } },
      { type: 'section', fields: s.present.map((sev) => ({ type: 'mrkdwn', text: `*${SEVERITY_EMOJI[sev]} ${SEVERITY_WORD[sev]}*\n${s.counts.get(sev)}`, verbatim: true })) },
      { type: 'section', text: { type: 'mrkdwn', text: list, verbatim: true } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `Collapsed to stay within the channel's rate limit · since ${clock(view.openedAt)} UTC · updated ${clock(view.now)} UTC`, verbatim: true }],
      },
    ],
  };
}

/** Discord digest (create/edit message body, before fitting). */
export function discordDigest(view: DigestView): Record<string, unknown> {
  const s = summary(view);
  const list = listLines(view, s.top, 4096, (e, link) =>
    link ? `${SEVERITY_EMOJI[e.severity]} [${discordEscape(titleOf(e))}](${link})` : `${SEVERITY_EMOJI[e.severity]} ${discordEscape(titleOf(e))}`,
  );
  return {
    embeds: [
      {
        title: `${SEVERITY_EMOJI[s.worst]} Alert burst: ${view.entries.length} alerts`,
        color: parseInt(SEVERITY_COLOR[s.worst].slice(1), 16),
        description: list,
        fields: s.present.map((sev) => ({ name: `${SEVERITY_EMOJI[sev]} ${SEVERITY_WORD[sev]}`, value: String(s.counts.get(sev)), inline: true })),
        footer: { text: `Collapsed to stay within the channel's rate limit · since ${clock(view.openedAt)} UTC · updated ${clock(view.now)} UTC` },
      },
    ],
    allowed_mentions: { parse: [] },
  };
}
