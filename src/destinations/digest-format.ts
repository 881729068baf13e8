import { SEVERITIES, type Severity } from '../domain/alert';
import type { DigestEntry } from '../domain/delivery';
import { discordEscape, slackEscape } from '../templates/escape';
import { defangUrls, hostOf } from '../templates/links';
import { SEVERITY_COLOR, SEVERITY_EMOJI, SEVERITY_WORD } from '../templates/presentation';

/**
 * Everything a digest keeps of the alerts it covers, bounded however many it covers: counts per severity and the
 * alerts it lists by name, with titles and links cut to what a line shows. A burst of thousands of alerts with
 * 1 MiB titles is a few KB here (it used to keep every full entry, parsed and rewritten on each edit).
 */
export interface DigestSummary {
  /** Alerts covered, per severity. */
  counts: Partial<Record<Severity, number>>;
  /** At most {@link DIGEST_TOP}: the most severe, then newest, alerts covered, in that order. */
  top: DigestEntry[];
}

/** What a digest message shows: the alerts collapsed into it so far in this burst. */
export interface DigestView extends DigestSummary {
  /** When this digest was first posted (stable across edits). */
  openedAt: number;
  /** When this revision was made; shown so readers see it is live. */
  now: number;
}

/** How many alerts a digest lists by name; the rest are counted ("+N more"). */
export const DIGEST_TOP = 10;
/** Longest title a digest line shows, in characters (longer ones end in "…"). */
export const DIGEST_TITLE_MAX = 150;
/** Longest link a digest line carries; a longer one is left out (the title still shows). */
export const MAX_DIGEST_LINK = 500;

const bySeverityThenNewest = (a: DigestEntry, b: DigestEntry) =>
  SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity) || b.createdAtMs - a.createdAtMs;

/** An entry as a digest line can show it: title cut, an unlistable link dropped. */
const asListed = (entry: DigestEntry): DigestEntry => ({
  ...entry,
  title: cut(entry.title, DIGEST_TITLE_MAX),
  link: entry.link.length <= MAX_DIGEST_LINK ? entry.link : '',
});

/**
 * Adds the alerts of a new revision to a digest (null: a new digest). Shows exactly what a digest of every alert
 * so far would: the sort is stable and the listed alerts come before the new ones, so among equals the earlier
 * alert stays ahead, and an alert not in the top {@link DIGEST_TOP} already can never re-enter it.
 */
export function addToDigest(summary: DigestSummary | null, entries: readonly DigestEntry[]): DigestSummary {
  const counts = { ...(summary?.counts ?? {}) };
  for (const entry of entries) counts[entry.severity] = (counts[entry.severity] ?? 0) + 1;
  const top = [...(summary?.top ?? []), ...entries.map(asListed)].sort(bySeverityThenNewest).slice(0, DIGEST_TOP);
  return { counts, top };
}

/** How many alerts a digest covers. */
export const digestTotal = (summary: DigestSummary): number => Object.values(summary.counts).reduce((sum, n) => sum + (n ?? 0), 0);

function summary(view: DigestView) {
  const present = [...SEVERITIES].reverse().filter((s) => (view.counts[s] ?? 0) > 0);
  const worst = present[0] ?? 'INFO';
  const line = present.map((s) => `${view.counts[s]} ${SEVERITY_WORD[s].toLowerCase()}`).join(', ');
  return { counts: view.counts, present, top: view.top.slice(0, DIGEST_TOP), worst, line, total: digestTotal(view) };
}

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
  const more = digestTotal(view) - lines.length;
  if (more > 0) lines.push(`+${more} more`);
  return lines.join('\n');
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);
/** URL characters that would end a Slack `<url|label>` or a Discord `[label](url)` early. */
export const linkSafe = (url: string) => url.replace(/[<>|()\s]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
/**
 * `text` cut to `max` characters (code points), the last one "…". Only a prefix is split into code points (at
 * most two UTF-16 units each), so a 1 MiB title costs no more than a short one.
 */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = Array.from(text.slice(0, 2 * max + 2));
  return head.length > max ? `${head.slice(0, max - 1).join('')}…` : text;
}
/**
 * An entry's title as a digest line shows it, cut, with URLs not on the alert's own host
 * defanged. Always, also on routes with `defang: false`: a digest is a list of titles with a link to each alert,
 * not the place to click on.
 */
const titleOf = (entry: DigestEntry) => {
  const host = hostOf(entry.link);
  return defangUrls(cut(entry.title, DIGEST_TITLE_MAX), new Set(host ? [host] : []));
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
    text: `${SEVERITY_EMOJI[s.worst]} Alert burst: ${s.total} alerts (${s.line})`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: `${SEVERITY_EMOJI[s.worst]} Alert burst: ${s.total} alerts`, emoji: true } },
      { type: 'section', fields: s.present.map((sev) => ({ type: 'mrkdwn', text: `*${SEVERITY_EMOJI[sev]} ${SEVERITY_WORD[sev]}*\n${s.counts[sev]}`, verbatim: true })) },
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
        title: `${SEVERITY_EMOJI[s.worst]} Alert burst: ${s.total} alerts`,
        color: parseInt(SEVERITY_COLOR[s.worst].slice(1), 16),
        description: list,
        fields: s.present.map((sev) => ({ name: `${SEVERITY_EMOJI[sev]} ${SEVERITY_WORD[sev]}`, value: String(s.counts[sev]), inline: true })),
        footer: { text: `Collapsed to stay within the channel's rate limit · since ${clock(view.openedAt)} UTC · updated ${clock(view.now)} UTC` },
      },
    ],
    allowed_mentions: { parse: [] },
  };
}
