/**
 * Reports what escaping did to one value, for the console's preview ("why does my alert look like this?"). Pure
 * and read-only: it compares the text before and after `slackEscape` / `discordEscape` and never changes output.
 */
import type { RenderTarget } from './render-target';

/** Collects escaping notes during one render; pass it in `FormatContext.trace`. Notes are deduplicated. */
export class EscapeTrace {
  readonly notes = new Set<string>();
}

/** At most this much of an offending token is quoted in a note (alert text can be huge). */
const QUOTE_MAX = 40;
const quote = (s: string) => JSON.stringify(s.length > QUOTE_MAX ? `${s.slice(0, QUOTE_MAX)}…` : s);

const SLACK_PINGS: [RegExp, string][] = [
  [/<!(channel|here|everyone)[^>]*>/i, 'a broadcast mention'],
  [/<!subteam\^[^>]*>/i, 'a user-group mention'],
  [/<[@#][A-Z0-9]+[^>]*>/i, 'a user/channel mention'],
  [/<[a-z][a-z0-9+.-]*:[^>]*>/i, 'a link'],
];
const DISCORD_PINGS: [RegExp, string][] = [
  [/@(everyone|here)/i, 'a broadcast mention'],
  [/<@&\d+>/, 'a role mention'],
  [/<@!?\d+>/, 'a user mention'],
  [/<#\d+>/, 'a channel mention'],
  [/\[[^\]]*\]\([^)]*\)/, 'a masked link'],
];

/** Adds to `trace` one note per kind of thing `before` contained that escaping for `target` made inert. */
export function noteEscapes(trace: EscapeTrace, target: RenderTarget, before: string, after: string): void {
  if (before === after || target === 'console') return;
  const pings = target === 'slack' ? SLACK_PINGS : DISCORD_PINGS;
  let specific = false;
  for (const [pattern, what] of pings) {
    const found = pattern.exec(before);
    if (!found) continue;
    specific = true;
    trace.notes.add(`escaped ${what} in alert text (${quote(found[0])}): shown as text, pings nobody`);
  }
  if (target === 'slack' && /@(channel|here|everyone)\b/i.test(before) && !/<!(channel|here|everyone)/i.test(before)) {
    trace.notes.add('bare @channel/@here in alert text stays text (mrkdwn verbatim: true, no link_names)');
  }
  if (!specific) {
    trace.notes.add(
      target === 'slack'
        ? 'escaped & < > in alert text for Slack mrkdwn'
        : 'escaped Discord markdown (* _ ~ ` | > # [ ]) in alert text',
    );
  }
}

/** Notes a URL in alert text that was defanged (shown `hxxps://host[.]example/…` or `www[.]…`, not clickable). */
export function noteDefanged(trace: EscapeTrace, url: string): void {
  trace.notes.add(`defanged a link to a foreign host in alert text (${quote(url)}): shown as hxxps://…[.]… or www[.]…, not clickable; a route with defang: false keeps such links live`);
}
