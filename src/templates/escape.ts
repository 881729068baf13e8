/**
 * Escaping for untrusted (attacker-influenced) alert text. Facts: shared/reference/platform-limits.md A3 (Slack)
 * and B3 (Discord). Every function here is pure and total: any string in, a safe string out.
 */
// discord.js's escapeMarkdown is this package's (discord.js re-exports it); imported from here, rendering for any
// platform does not load the whole of discord.js.
import { escapeMarkdown } from '@discordjs/formatters';
import { truncateText } from './truncate';
import { memoByString } from './memo';

/** Zero-width space: breaks Discord mention/ping syntax without visibly changing the text. */
export const ZWSP = '\u200b';

/**
 * Longest input discordEscape processes; longer input is cut first (visible marker). Why: escapeMarkdown's regexes
 * use unbounded lookbehinds and are quadratic in the length of a line (measured: 10k chars ≈ 0.6 s, 100k ≈ 97 s),
 * and attackers control this text. 4096 is Discord's largest single string (embed description) and escaping never
 * shortens text, so nothing beyond this could ever be displayed anyway.
 */
export const DISCORD_ESCAPE_INPUT_MAX = 4096;

/**
 * Longest input slackEscape processes; longer input is cut first (visible marker). Why: alert text can be close to
 * the 1 MiB body limit, and escaping a 900 KB title, splicing it into the template output and parsing that back
 * stalled the event loop for 100–500 ms per Slack render (test/hostile.test.ts). 40,000 is Slack's hard cut for a
 * message's `text` (blocks allow far less) and escaping never shortens text, so nothing beyond it could ever show.
 */
export const SLACK_ESCAPE_INPUT_MAX = 40_000;

/**
 * Escapes text for a Slack mrkdwn text object or the top-level `text`.
 * Contract: `&`→`&amp;` FIRST (so an attacker's pre-encoded `&lt;!channel&gt;` stays literal), then `<`→`&lt;`,
 * `>`→`&gt;`. Nothing else is encoded: Slack decodes only these three entities, anything else would show raw.
 * The output contains no `<` or `>`, so no `<!channel>`, `<@U…>`, `<!subteam^…>` or `<url|label>` can form.
 * Still send mrkdwn objects with `verbatim: true` (bare `@here` auto-parsing is separate from escaping).
 * Input longer than {@link SLACK_ESCAPE_INPUT_MAX} is cut (surrogate-safe, `… (truncated)`) before escaping.
 */
export function slackEscape(s: string): string {
  // Most alert text has none of the three: one scan instead of a cut and three replacing passes.
  if (s.length <= SLACK_ESCAPE_INPUT_MAX && !SLACK_SPECIAL.test(s)) return s;
  return truncateText(s, SLACK_ESCAPE_INPUT_MAX).text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const SLACK_SPECIAL = /[&<>]/;

const ALL_ON = {
  codeBlock: true, inlineCode: true, bold: true, italic: true, underline: true, strikethrough: true, spoiler: true,
  codeBlockContent: true, inlineCodeContent: true, escape: true, heading: true, bulletedList: true, numberedList: true,
  maskedLink: true,
} as const;
/** Markdown token characters: escapeMarkdown's tokens are runs of these, so we avoid cutting between two of them. */
const TOKEN_CHARS = '*_~|`\\';
/** Longest piece escapeMarkdown is given at once (see segments): text up to this long is escaped whole. */
export const DISCORD_SEGMENT = 256;
const SEGMENT = DISCORD_SEGMENT;

/**
 * Splits `s` into pieces of ≤256 escaped UTF-16 units so escapeMarkdown's superlinear lookbehinds stay cheap (worst case measured
 * ≈3 ms per piece, ≈50 ms for a 4096-char input, instead of ≈1 s). Preferred cut:
 * after whitespace (no token contains whitespace, and the `\S*` lookbehinds stop there anyway); else between two
 * non-token characters (never inside a surrogate pair); else as below. A cut only makes escapeMarkdown escape MORE
 * (a piece start looks like a line start; a bare URL whose non-space run is ≥128 chars may lose its exemption and
 * gain backslashes). Pings, masked links, quotes and subtext are handled on the whole string afterwards.
 */
function segments(s: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (;;) {
    // Window end by escaped size: `\` and backticks come out of escapeMarkdown's first passes doubled.
    let end = start;
    for (let w = 0; end < s.length && w < SEGMENT; end++) w += s[end] === '\\' || s[end] === '`' ? 2 : 1;
    if (end >= s.length) break;
    const find = (test: (a: string, b: string, p: number) => boolean): number => {
      for (let p = end; p > start + (end - start) / 2; p--) if (test(s[p - 1] ?? '', s[p] ?? '', p)) return p;
      return -1;
    };
    const noPairSplit = (a: string, b: string): boolean => !(/[\ud800-\udbff]/.test(a) && /[\udc00-\udfff]/.test(b));
    let cut = find((a) => /\s/.test(a));
    if (cut < 0) cut = find((a, b) => !TOKEN_CHARS.includes(a) && !TOKEN_CHARS.includes(b) && noPairSplit(a, b));
    // Token chars only: cut between different ones, else inside a run of one char at a multiple of 6 from the run's
    // start, so `||`/`~~`/`__`/`**` pairs and ``` triples stay whole in one piece.
    if (cut < 0) cut = find((a, b) => a !== b && noPairSplit(a, b));
    if (cut < 0) {
      let runStart = end; // the whole window is one run of a single token char
      while (runStart > 0 && s[runStart - 1] === s[end]) runStart--;
      cut = find((_a, _b, p) => (p - runStart) % 6 === 0);
    }
    out.push(s.slice(start, cut));
    start = cut;
  }
  out.push(s.slice(start));
  return out;
}

/**
 * What escapeMarkdown (every option on) reacts to, but a numbered list: its token characters anywhere (`\\`,
 * backticks, `*`, `_`, `[`), `~~` and `||` (a lone `~` or `|` is left alone), or a line (or the piece) starting with
 * optional spaces and `- ` (a list bullet) or `#` (a heading). Its passes run in a fixed order and only insert
 * backslashes, the backslash pass first: without any of these, only its numbered-list pass can change the text.
 */
const MARKDOWN_TOKENS = /[\\`*_[]|~~|\|\||^ *(?:- |#)/m;
/** escapeMarkdown's own numbered-list pass (escapeNumberedList). */
const NUMBERED_LIST = /^( *\d+)\./gm;

/**
 * escapeMarkdown with every option on, for one piece. Where it would change nothing it is skipped; where only its
 * numbered-list pass would (an IP address or version at a line start, common in alert values), that pass alone
 * runs: the other passes find nothing of theirs, before or after it (test/escape.test.ts checks equality).
 */
export function markdownEscape(s: string): string {
  return MARKDOWN_TOKENS.test(s) ? escapeMarkdown(s, ALL_ON) : s.replace(NUMBERED_LIST, '$1\\.');
}

/** A character one of discordEscape's own passes (after escapeMarkdown) acts on: `[`, `](`, `>`, `-#`, `<`, `@`. */
const DISCORD_SPECIAL = /[[\]<>@]|-#/;

/**
 * Escapes text for Discord `content` and embed strings.
 * Contract, on top of discord.js `escapeMarkdown` with every option on (bold/italic/underline/strike/spoiler/code,
 * backslash, heading, bulleted/numbered list, masked link):
 * - line-start block quotes (`>`, `>>>`) and subtext (`-#`) get a backslash prefix (escapeMarkdown ignores them);
 * - every unescaped `[` and `](` is backslash-escaped, because escapeMaskedLink only escapes the first `[` of a
 *   greedy per-line match (`[a](x) [b](y)` would keep the second link live);
 * - `<@…>`, `<@!…>`, `<@&…>`, `<#…>`, `</…>`, `<t:…>`, `<:…>`, `<a:…>`, `<id:…>` get U+200B after `<`;
 * - `@everyone` / `@here` (any case) get U+200B after `@`.
 * Bare URLs are left alone (no wrapping). `allowed_mentions: {parse: []}` remains mandatory; this is display hygiene.
 * Input longer than {@link DISCORD_ESCAPE_INPUT_MAX} is cut (surrogate-safe, `… (truncated)`) before escaping.
 */
export function discordEscape(s: string): string {
  const input = s.length <= DISCORD_ESCAPE_INPUT_MAX ? s : truncateText(s, DISCORD_ESCAPE_INPUT_MAX).text;
  // Most alert text has no markdown at all: escapeMarkdown (a dozen regex passes with lookbehinds) is skipped for a
  // piece it would return unchanged. One piece needs no cutting.
  let out = input.length <= SEGMENT ? markdownEscape(input) : segments(input).map(markdownEscape).join('');
  // Each pass below needs one of these characters; most text has none.
  if (!DISCORD_SPECIAL.test(out)) return out;
  // escapeMarkdown doubled every original backslash first, so a char preceded by an ODD run of backslashes is
  // already escaped by it; an even run (incl. zero) means the char is live and needs our own backslash. The
  // lookbehind anchors each match at the start of a backslash run (otherwise the regex is quadratic in the run).
  out = out.replace(/(?<!\\)(\\*)(\[|\]\()/g, (m: string, bs: string, tok: string) =>
    bs.length % 2 === 1 ? m : tok === '[' ? `${bs}\\[` : `${bs}]\\(`);
  out = out.replace(/^([ \t]*)(>|-#)/gm, '$1\\$2');
  out = out.replace(/<(?=[@#/:]|t:|a:|id:)/gi, `<${ZWSP}`);
  out = out.replace(/@(?=everyone|here)/gi, `@${ZWSP}`);
  return out;
}

/**
 * The body of a JSON string literal for `s`, without the surrounding quotes, for splicing untrusted text into a
 * JSON template (`"text": "{{json x}}"`). Quotes, backslashes, control chars and lone surrogates are escaped, so
 * the value can never terminate the string or change the document's structure.
 */
export function jsonStringContent(s: string): string {
  return JSON_SPECIAL.test(s) ? JSON.stringify(s).slice(1, -1) : s;
}

/** What JSON.stringify writes differently: quote, backslash, control characters, surrogates (lone ones escaped). */
// eslint-disable-next-line no-control-regex
const JSON_SPECIAL = /["\\\u0000-\u001f\ud800-\udfff]/;

/** {@link isHttpUrl} of a string, remembered (memo.ts). */
const httpUrl = memoByString((s: string): boolean => {
  if (!/^https?:\/\//i.test(s)) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(s)) return false;
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.length > 0;
  } catch {
    return false;
  }
});

/**
 * True only for an absolute `http://` or `https://` URL (scheme written out, any case) that `new URL` parses and
 * that contains no whitespace or control characters. Rejects `javascript:`, `data:`, relative and protocol-relative
 * URLs, and `http:foo` (which WHATWG parsing would silently turn into `http://foo/`).
 */
export function isHttpUrl(s: unknown): s is string {
  return typeof s === 'string' && httpUrl(s);
}


/**
 * Deep copy of `v` holding exactly what `JSON.stringify` would put on the wire (honours `toJSON`, so discord.js
 * builders and Dates work), so fitters never mutate caller data. Functions/symbols/undefined are dropped (null in
 * arrays), non-finite numbers become null, bigints become strings, cycles are cut. Keys are defined, not assigned,
 * so a `__proto__` key from a template stays an ordinary property.
 *
 * `ancestors` (the objects being copied around `v`) is a list, not a Set: every message is copied once by its
 * fitter, and a Set's add and delete per object were 40% of the copy (measured on the shipped templates' bodies,
 * 3.7 -> 2.2 µs). A look-up in it costs its length, the nesting depth: alert JSON is refused beyond 256 levels
 * (http/ingest.ts). Nothing here catches, so an exception (a throwing toJSON) leaves the list to be dropped with
 * the whole copy.
 */
export function cloneJsonValue(v: unknown, ancestors: object[] = []): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v !== 'object' || ancestors.includes(v)) return undefined;
  const withToJson = v as { toJSON?: unknown };
  if (typeof withToJson.toJSON === 'function') {
    return cloneJsonValue((withToJson.toJSON as () => unknown).call(v), ancestors);
  }
  ancestors.push(v);
  let copy: unknown[] | Record<string, unknown>;
  if (Array.isArray(v)) {
    copy = new Array(v.length);
    for (let i = 0; i < v.length; i++) copy[i] = cloneJsonValue(v[i], ancestors) ?? null;
  } else {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) {
      const c = cloneJsonValue((v as Record<string, unknown>)[k], ancestors);
      if (c === undefined) continue;
      // Plain assignment is the fast path; `__proto__` would set the prototype instead of a property.
      if (k === '__proto__') Object.defineProperty(out, k, { value: c, enumerable: true, writable: true, configurable: true });
      else out[k] = c;
    }
    copy = out;
  }
  ancestors.pop();
  return copy;
}
