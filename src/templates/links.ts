/**
 * Links in messages: which keys of Slack's and Discord's message formats hold a URL, which hosts an alert may link
 * to, and defanging — the security convention of writing a URL so no client makes it clickable
 * (`hxxps://evil[.]example/x`), for the attacker URLs that security alerts routinely carry.
 */
import { alertUrls, type Alert } from '../domain/alert';

/**
 * Every key of the two platforms' message formats whose value is a URL the client links to or loads. The sanitiser
 * (sanitize.ts) lets such a value through only when it points at one of the alert's own hosts, wherever it sits in
 * the message, so a template that fills one from alert data cannot put a foreign link or image in a message.
 * Sources: @slack/types (message-attachments.d.ts, block-kit/*.d.ts, message-metadata.d.ts), @slack/web-api
 * chat.postMessage arguments, discord-api-types payloads/v10 (embeds, components) and rest/v10 webhook.
 */
export const URL_KEYS: ReadonlySet<string> = new Set([
  // Both: Slack buttons, rich-text links, image/file objects (`slack_file.url`); Discord embed `url`, `image.url`,
  // `thumbnail.url`, `video.url`, `author.url`, `provider.url`, link buttons, media and file components.
  'url',
  // Slack Block Kit: image block and image element; video block.
  'image_url',
  'video_url',
  'thumbnail_url',
  'title_url',
  'provider_icon_url',
  // Slack secondary attachments.
  'title_link',
  'author_link',
  'author_icon',
  'thumb_url',
  'footer_icon',
  'from_url',
  'original_url',
  'service_icon',
  'service_url',
  'app_unfurl_url',
  // Slack chat.postMessage: the message's own icon; message metadata (work objects).
  'icon_url',
  'link',
  'entity_url',
  'preview_url',
  // Discord: embed `author.icon_url`, `footer.icon_url` (icon_url above); webhook execute `avatar_url`; the proxied
  // forms Discord returns (never needed in a request, never allowed to point elsewhere).
  'avatar_url',
  'proxy_url',
  'proxy_icon_url',
]);

/** Host (with port, lower-case) of an absolute http(s) URL; null for anything else. */
export function hostOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.host.toLowerCase() : null;
  } catch {
    return null;
  }
}

/** The hosts an alert's own links live on: its link's, its runbook's (when a URL) and its extra links'. */
export function alertHosts(alert: Pick<Alert, 'link' | 'runbook' | 'links'>): string[] {
  return alertUrls(alert).flatMap((url) => {
    const host = hostOf(url);
    return host ? [host] : [];
  });
}

/**
 * Every `http://` / `https://` in text (any case, anywhere: the platforms' autolinkers need no word boundary) with
 * its authority (user info, host, port): up to the first character that ends one.
 */
const URL_START = /(h)(tt)(ps?:\/\/)([^\s/\\?#<>"'`|)\]]*)/gi;

/**
 * `text` with every http(s) URL whose host is not in `allowed` defanged: `https://evil.example/x` →
 * `hxxps://evil[.]example/x` (the scheme no client links, the dots no tool resolves); the rest of the URL is kept
 * so analysts can still read and copy it. URLs on an allowed host (the alert's own) stay live. `onDefang` hears
 * each URL it changed (for the console's preview notes).
 */
export function defangUrls(text: string, allowed: ReadonlySet<string>, onDefang?: (url: string) => void): string {
  if (!/https?:\/\//i.test(text)) return text;
  return text.replace(URL_START, (whole, h: string, tt: string, rest: string, authority: string) => {
    // The host as written (after any user info), compared as text: no URL parsing per match (alert text may hold
    // tens of thousands of URLs). Only an exact match with an own host keeps a URL live; any other spelling of it
    // (a default port, a trailing dot, an IDN form) is merely defanged too.
    if (allowed.has(authority.slice(authority.lastIndexOf('@') + 1).toLowerCase())) return whole;
    onDefang?.(whole);
    return `${h}${tt.replace(/t/g, 'x').replace(/T/g, 'X')}${rest}${authority.replace(/\./g, '[.]')}`;
  });
}
