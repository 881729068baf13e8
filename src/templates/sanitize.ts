import { randomBytes } from 'node:crypto';
import type { RenderTarget } from './render-target';
import { hostOf, URL_KEYS } from './links';

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
  allowedHosts: readonly string[];
  /** The route's configured mention markup for this platform ('' when none). */
  mentionMarkup: string;
}

/**
 * The last line of defence after a template ran, whatever it did (raw `{{{…}}}`, a URL field filled from alert
 * data, a hand-written `<url|label>`): every mention that is not the route's configured one is neutralised, every
 * link to a host other than the alert's own is removed or defused — the value of every URL-bearing key of either
 * platform ({@link URL_KEYS}: `url`, `title_link`, `image_url`, `icon_url`, … at any depth; a foreign `url` becomes
 * null so the fitters drop its button or embed link, any other such key is left out) and Slack `<url|label>` /
 * Discord `[label](url)` markup in text — and only then is `{{mention}}` turned into live markup. `{{value}}`
 * output is already escaped (and its URLs defanged), so this normally changes nothing.
 */
export function sanitizeRendered(value: Record<string, unknown>, options: SanitizeOptions): { value: Record<string, unknown>; warnings: string[] } {
  const warnings = new Set<string>();
  const allowed = new Set(options.allowedHosts.map((h) => h.toLowerCase()));
  const onAllowedHost = (url: string) => {
    const host = hostOf(url);
    return host !== null && allowed.has(host);
  };
  const text = (s: string): string => {
    let out = s;
    if (options.target === 'slack') {
      out = out.replace(/<([^<>]*)>/g, (whole, inner: string) => {
        const url = inner.split('|')[0] ?? '';
        if (/^https?:/i.test(url) && onAllowedHost(url.replace(/&amp;/g, '&'))) return whole;
        warnings.add(/^[!@#]/.test(inner) ? 'neutralised a mention not configured on the route' : 'defused a link to a foreign host');
        return `&lt;${inner}&gt;`;
      });
    } else if (options.target === 'discord') {
      out = out
        .replace(/@(everyone|here)/g, (_w, word: string) => (warnings.add('neutralised a mention not configured on the route'), `@\u200b${word}`))
        .replace(/<(@[!&]?\d+|#\d+)>/g, (_w, inner: string) => (warnings.add('neutralised a mention not configured on the route'), `<\u200b${inner}>`))
        .replace(/(^|[^\\])\[([^\]]*)\]\(([^)\s]+)\)/g, (whole, pre: string, label: string, url: string) => {
          if (onAllowedHost(url)) return whole;
          warnings.add('defused a link to a foreign host');
          return `${pre}\\[${label}](${url})`;
        });
    }
    return out.split(MENTION_PLACEHOLDER).join(options.mentionMarkup);
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
      for (const [k, v] of Object.entries(node)) {
        const value = walk(v, k);
        // `url` stays as null (the fitters drop a button or embed link without one); other keys are optional.
        if (value === REMOVED) {
          if (k === 'url') out[k] = null;
        } else out[k] = value;
      }
      return out;
    }
    return node;
  };
  return { value: walk(value) as Record<string, unknown>, warnings: [...warnings] };
}

/** Marks a URL value the walk leaves out. */
const REMOVED = Symbol('removed');
