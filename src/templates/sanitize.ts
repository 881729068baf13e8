import { randomBytes } from 'node:crypto';
import type { RenderTarget } from './render-target';
import { authorityHost, hostOf, labelShowsOtherHost, URL_KEYS } from './links';

export { alertHosts } from './links';

/**
 * Placeholder `{{mention}}` renders instead of real mention markup. Only `sanitizeRendered` turns it into
 * markup, after every other ping in the message has been neutralised; the random part keeps alert text from
 * forging it.
 */
export const MENTION_PLACEHOLDER = `\uE000mention:${randomBytes(8).toString('hex')}\uE001`;

export interface SanitizeOptions {
  target: RenderTarget;
  /** Hosts links may point to: the alert link's and the runbook's. */
  allowedHosts: Iterable<string>;
  /** The route's configured mention markup for this platform ('' when none). */
  mentionMarkup: string;
}

/**
 * The last line of defence after a template ran, whatever it did (raw `{{{…}}}`, a URL field filled from alert
 * data, a hand-written `<url|label>`): every mention that is not the route's configured one is neutralised, every
 * link to a host other than the alert's own is removed or defused — the value of every URL-bearing key of either
 * platform ({@link URL_KEYS}: `url`, `title_link`, `image_url`, `icon_url`, … at any depth; a foreign `url` becomes
 * null so the fitters drop its button or embed link, any other such key is left out) and Slack `<url|label>` /
 * Discord `[label](url)` markup in text (and in Slack `markdown` blocks; also defused when its label shows another host than it opens, and for a
 * Discord `](` in any form: {@link defuseMaskedLinks}) — and only then is `{{mention}}` turned into live markup. `{{value}}`
 * output is already escaped (and its URLs defanged), so this normally changes nothing.
 */
export function sanitizeRendered(value: Record<string, unknown>, options: SanitizeOptions): { value: Record<string, unknown>; warnings: string[] } {
  const warnings = new Set<string>();
  const allowed = new Set(Array.from(options.allowedHosts, (h) => h.toLowerCase()));
  const onAllowedHost = (url: string) => {
    const host = hostOf(url);
    return host !== null && allowed.has(host);
  };
  const text = (s: string): string => {
    let out = s;
    // Each rule only where its marker character occurs: most strings of a message have none of them.
    if (options.target === 'slack') {
      if (out.includes('<')) out = out.replace(/<([^<>]*)>/g, (whole, inner: string) => {
        const bar = inner.indexOf('|');
        const url = (bar < 0 ? inner : inner.slice(0, bar)).replace(/&amp;/g, '&');
        const host = /^https?:/i.test(url) ? hostOf(url) : null;
        if (host !== null && allowed.has(host)) {
          if (bar < 0 || !labelShowsOtherHost(decodeSlack(inner.slice(bar + 1)), host)) return whole;
          warnings.add(LABEL_WARNING);
        } else warnings.add(/^[!@#]/.test(inner) ? 'neutralised a mention not configured on the route' : 'defused a link to a foreign host');
        return `&lt;${inner}&gt;`;
      });
    } else if (options.target === 'discord') {
      if (out.includes('@')) out = out.replace(/@(everyone|here)/g, (_w, word: string) => (warnings.add('neutralised a mention not configured on the route'), `@\u200b${word}`));
      if (out.includes('<')) out = out.replace(/<(@[!&]?\d+|#\d+)>/g, (_w, inner: string) => (warnings.add('neutralised a mention not configured on the route'), `<\u200b${inner}>`));
      out = defuseMaskedLinks(out, allowed, (warning) => warnings.add(warning));
    }
    return out.includes(MENTION_PLACEHOLDER) ? out.split(MENTION_PLACEHOLDER).join(options.mentionMarkup) : out;
  };
  const walk = (node: unknown, key?: string): unknown => {
    if (typeof node === 'string') {
      if (key !== undefined && URL_KEYS.has(key)) {
        // '' links nowhere (a console `link` of an alert without one); the fitters drop an empty button URL.
        if (node === '' || onAllowedHost(node)) return node;
        warnings.add(`removed a ${key} to a foreign host`);
        return REMOVED;
      }
      return text(node);
    }
    if (Array.isArray(node)) return node.map((item) => walk(item));
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(node)) {
        const value = walk((node as Record<string, unknown>)[k], k);
        // `url` stays as null (the fitters drop a button or embed link without one); other keys are optional.
        if (value === REMOVED) {
          if (k === 'url') out[k] = null;
        } else out[k] = value;
      }
      // Slack's `markdown` block reads standard Markdown, so `[label](url)` is a link there as on Discord.
      if (options.target === 'slack' && out.type === 'markdown' && typeof out.text === 'string') {
        out.text = defuseReferenceLinks(defuseMaskedLinks(out.text, allowed, (warning) => warnings.add(warning)), (warning) => warnings.add(warning));
      }
      return out;
    }
    return node;
  };
  return { value: walk(value) as Record<string, unknown>, warnings: [...warnings] };
}

const LABEL_WARNING = 'defused a link whose text shows another host than it opens';

/** Slack text as shown: its three entities decoded. */
const decodeSlack = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** Longest masked-link label looked at; a link with a longer one is defused (fails closed). */
const MAX_LABEL = 1024;

/**
 * Discord masked links: every `](` can close a label (`[text](url)`, and its forms `[t]( url)`, `[t](<url>)`,
 * `[t](url "title")`, nested `[a [b] c](url)`, after `\\[`). Whatever opened it, a `](` stays only when its
 * target (after white space and `<`) is an http(s) URL on an own host ({@link authorityHost}'s reading of its
 * authority: no user info, backslash or `%`) and the label before it shows no other host ({@link labelShowsOtherHost});
 * otherwise it becomes `]\\(`, which no Discord markdown reads as a link. No link syntax is parsed beyond that,
 * so no variant of it can slip between two regexes.
 */
function defuseMaskedLinks(text: string, allowed: ReadonlySet<string>, warn: (warning: string) => void): string {
  let out = '';
  let done = 0;
  for (let at = text.indexOf(']('); at >= 0; at = text.indexOf('](', at + 2)) {
    let t = at + 2;
    while (t < text.length && /\s/.test(text[t]!)) t++;
    if (text[t] === '<') t++;
    const scheme = /^(https?):\/\//i.exec(text.slice(t, t + 8));
    let host: string | null = null;
    if (scheme) {
      // Up to white space, `/?#` or the `>` of `<url>`: not `)`, which Discord's parser reads past in `(x)@host`.
      const authority = /^[^\s/?#>]*/.exec(text.slice(t + scheme[0].length, t + scheme[0].length + 301))![0];
      host = authority.length > 300 ? null : authorityHost(scheme[1]!, authority);
    }
    if (host !== null && allowed.has(host)) {
      const label = labelBefore(text, at);
      if (label !== null && !labelShowsOtherHost(label, host)) continue;
      warn(LABEL_WARNING);
    } else warn('defused a link to a foreign host');
    out += `${text.slice(done, at)}]\\(`;
    done = at + 2;
  }
  return done === 0 ? text : out + text.slice(done);
}

/** The text of the label a `]` at `close` ends: back to its `[`, nested pairs included; null past MAX_LABEL. */
function labelBefore(text: string, close: number): string | null {
  let depth = 0;
  const stop = Math.max(0, close - MAX_LABEL);
  for (let i = close - 1; i >= stop; i--) {
    if (text[i] === ']') depth++;
    else if (text[i] === '[') {
      if (depth === 0) return text.slice(i + 1, close);
      depth--;
    }
  }
  return null;
}

/**
 * Markdown reference links (`[text][r]` with a definition `[r]: https:evil.example` elsewhere) in a Slack markdown
 * block: their targets take spellings the URL scan does not read as links (`https:host` without slashes, `//host`),
 * so no definition is left standing: every `]:` becomes `]\:`, which CommonMark reads as text.
 */
function defuseReferenceLinks(text: string, warn: (warning: string) => void): string {
  if (!text.includes(']:')) return text;
  warn('defused a Markdown reference link definition');
  return text.split(']:').join(']\\:');
}

/** Marks a URL value the walk leaves out. */
const REMOVED = Symbol('removed');
