import { randomBytes } from 'node:crypto';
import type { RenderTarget } from './render-target';
import { alertUrls, type Alert } from '../domain/alert';

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

const hostOf = (url: string): string | null => {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.host.toLowerCase() : null;
  } catch {
    return null;
  }
};

/**
 * The last line of defence after a template ran, whatever it did (raw `{{{…}}}`, a URL field filled from alert
 * data, a hand-written `<url|label>`): every mention that is not the route's configured one is neutralised,
 * every link to a host other than the alert's own is removed or defused, and only then is `{{mention}}` turned
 * into live markup. `{{value}}` output is already escaped, so this normally changes nothing.
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
      if (key === 'url' && !onAllowedHost(node)) {
        warnings.add(`removed a url to a foreign host`);
        return null;
      }
      return key === 'url' ? node : text(node);
    }
    if (Array.isArray(node)) return node.map((item) => walk(item));
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(node)) out[k] = walk(v, k);
      return out;
    }
    return node;
  };
  return { value: walk(value) as Record<string, unknown>, warnings: [...warnings] };
}

/** The hosts an alert's own links live on: its link's, its runbook's (when a URL) and its extra links'. */
export function alertHosts(alert: Pick<Alert, 'link' | 'runbook' | 'links'>): string[] {
  return alertUrls(alert).flatMap((url) => {
    const host = hostOf(url);
    return host ? [host] : [];
  });
}
